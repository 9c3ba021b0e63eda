# Copyright: cinderlib developers
# Apache License 2.0 (see LICENSE at the root of the cinderlib repository)
"""What every module of cinderlib.storage shares.

- ``new_module(options, **rules)``: an ``AnsibleModule`` with the common
  options (``backend``, ``backend_secrets``, ``persistence``, ``setup``,
  documented once in the ``cinderlib.storage.common`` doc fragment) and
  check mode; it fails cleanly when cinderlib is not installed.
- ``open_backend(module)``: cinderlib set up from those options, and the
  ``Backend``.
- ``fail(module, exc)``: ``fail_json`` with the library's one-line error.
- Look-ups by name or id on one backend, and the facts modules return.
- ``mask_credentials(module, data)``: credentials found in ``data`` are
  masked in the module's result (Ansible's ``no_log`` values).

Only the library's public API is used (``cinderlib.setup``, ``Backend``,
``Volume``, ``Snapshot``, ``Connection`` and ``Backend.persistence``).
"""

from __future__ import annotations

import os
import re
import traceback
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import cinderlib
except ImportError:
    cinderlib = None
    CINDERLIB_IMPORT_ERROR = traceback.format_exc()
else:
    CINDERLIB_IMPORT_ERROR = None

COMMON_OPTIONS = {
    'backend': {'type': 'dict', 'required': True},
    'backend_secrets': {'type': 'dict', 'no_log': True},
    'persistence': {'type': 'dict'},
    'setup': {'type': 'dict', 'default': {}},
}

# Option and connection_info keys holding secrets: san_password, api_token,
# auth_password (iSCSI CHAP), keyring (Ceph)...  Not secret_uuid or
# secret_type, which only name a secret.
SECRET_NAME = re.compile(
    r'(?:^|_)(?:password|passwd|passphrase|secret|token|keyring|key)$',
    re.IGNORECASE)

# The fields a module's diff shows of a volume.
VOLUME_DIFF_FIELDS = ('id', 'name', 'size', 'description', 'metadata',
                      'extra_specs', 'qos_specs', 'pool_name')


def new_module(options, **rules):
    """An AnsibleModule with the common options and ``options``;
    ``rules`` are AnsibleModule's (``required_one_of``...)."""
    spec = {name: dict(value) for name, value in COMMON_OPTIONS.items()}
    spec.update(options)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           **rules)
    if cinderlib is None:
        reason = ('for the interpreter the module runs with (set '
                  'ansible_python_interpreter)')
        module.fail_json(msg=missing_required_lib('cinderlib', reason=reason),
                         exception=CINDERLIB_IMPORT_ERROR)
    return module


def state_directory():
    """The directory of the state the ``cinderlib`` command keeps."""
    base = os.environ.get('XDG_STATE_HOME') or os.path.join(
        os.path.expanduser('~'), '.local', 'state')
    return os.path.join(base, 'cinderlib')


def _private_directory(path):
    """Create ``path`` and missing parents 0700; existing ones are left."""
    parent = os.path.dirname(path)
    if parent != path and not os.path.isdir(parent):
        _private_directory(parent)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass


def open_backend(module):
    """Set cinderlib up from the module's options and return the backend."""
    params = module.params
    options = dict(params['backend'])
    _mask_secret_options(module, options)
    options.update(params['backend_secrets'] or {})
    name = options.pop('volume_backend_name', None)
    if not isinstance(name, str) or not name or not isinstance(
            options.get('volume_driver'), str):
        module.fail_json(msg='Invalid backend: it must have '
                             'volume_backend_name and volume_driver '
                             '(strings)')
    setup = dict(params['setup'] or {})
    if 'persistence_config' in setup:
        module.fail_json(msg='Invalid setup: give the persistence option, '
                             'not setup.persistence_config')
    persistence = params['persistence']
    try:
        if persistence is None:
            persistence = {'storage': 'db', 'connection': 'sqlite:///' +
                           os.path.join(state_directory(), 'state.sqlite')}
        url = persistence.get('connection')
        _mask_url_password(module, url)
        setup.setdefault('state_path', state_directory())
        setup.setdefault('fail_on_missing_backend', False)
        # Like the cinderlib command: missing directories of the state are
        # created private (the state holds connection credentials).
        if isinstance(setup['state_path'], str):
            _private_directory(os.path.abspath(setup['state_path']))
        if isinstance(url, str) and url.startswith('sqlite:///'):
            _private_directory(os.path.dirname(os.path.abspath(
                url[len('sqlite:///'):])))
        cinderlib.setup(persistence_config=persistence, **setup)
        return cinderlib.Backend(name, **options)
    except Exception as exc:
        fail(module, exc)


def _mask_secret_options(module, options):
    for key, value in options.items():
        if SECRET_NAME.search(key) and value not in (None, ''):
            module.no_log_values.add(str(value))
            module.warn(f'backend option {key} looks secret: give it in '
                        f'backend_secrets, which Ansible keeps out of its '
                        f'logs')


def _mask_url_password(module, url):
    if isinstance(url, str):
        try:
            password = urlsplit(url).password
        except ValueError:
            return
        if password:
            module.no_log_values.add(password)


def mask_credentials(module, data):
    """Mask in the module's result the values of ``data`` (a connection's
    ``connection_info``) whose keys name a credential."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, (dict, list)):
                mask_credentials(module, value)
            elif (isinstance(key, str) and SECRET_NAME.search(key) and
                  value not in (None, '')):
                module.no_log_values.add(str(value))
    elif isinstance(data, list):
        for item in data:
            mask_credentials(module, item)


def error_message(exc):
    """The error on one line (the library's are; drivers' may not be)."""
    return ' '.join(str(exc).split()) or type(exc).__name__


def fail(module, exc, **result):
    """fail_json with ``exc``'s one-line message and its class name."""
    module.fail_json(msg=error_message(exc), error=type(exc).__name__,
                     **result)


# -- look-ups -----------------------------------------------------------------


def find_volume(module, backend, name=None, volume_id=None):
    """The volume of ``backend`` with ``volume_id``, or else named
    ``name``; None if there is none; fails if the name is not unique."""
    if volume_id is not None:
        found = backend.volumes_filtered(volume_id=volume_id)
    else:
        found = backend.volumes_filtered(volume_name=name)
    if len(found) > 1:
        module.fail_json(msg=f'{len(found)} volumes are named {name!r} on '
                             f'backend {backend.id!r}: give the id of one')
    return found[0] if found else None


def volume_by_reference(module, backend, reference):
    """The volume of ``backend`` whose id or name is ``reference``; fails
    with the library's VolumeNotFound if there is none."""
    volume = find_volume(module, backend, volume_id=reference)
    if volume is None:
        volume = find_volume(module, backend, name=reference)
    if volume is None:
        fail(module, cinderlib.exception.VolumeNotFound(volume_id=reference))
    return volume


def find_snapshots(backend, name=None, snapshot_id=None, volume=None):
    """Snapshots of ``backend`` (of ``volume`` if given) with this id, or
    else this name."""
    if volume is not None:
        candidates = volume.snapshots
    else:
        candidates = cinderlib.Backend.persistence.get_snapshots(
            snapshot_id=snapshot_id,
            snapshot_name=None if snapshot_id else name)
    return [snapshot for snapshot in candidates
            if snapshot.backend.id == backend.id and (
                snapshot.id == snapshot_id if snapshot_id
                else snapshot.name == name)]


def snapshot_by_reference(module, backend, reference):
    """The snapshot of ``backend`` whose id or name is ``reference``."""
    found = (find_snapshots(backend, snapshot_id=reference) or
             find_snapshots(backend, name=reference))
    if not found:
        fail(module,
             cinderlib.exception.SnapshotNotFound(snapshot_id=reference))
    if len(found) > 1:
        module.fail_json(msg=f'{len(found)} snapshots are named '
                             f'{reference!r} on backend {backend.id!r}: '
                             f'give the id of one')
    return found[0]


def connections_of_host(volume, host):
    """The volume's connections to the host named ``host``."""
    return [connection for connection in volume.connections
            if connection.connector_info.get('host') == host]


# -- facts --------------------------------------------------------------------


def _time(value):
    return value.isoformat() if value is not None else None


def volume_facts(volume):
    """What the modules return of a volume."""
    volume_type = volume.volume_type
    qos = getattr(volume_type, 'qos_specs', None)
    return {
        'id': volume.id,
        'name': volume.name,
        'description': volume.description,
        'size': volume.size,
        'status': volume.status,
        'backend': volume.backend.id,
        'host': volume.host,
        'pool_name': volume.pool_name,
        'bootable': bool(volume.bootable),
        'metadata': dict(volume.metadata or {}),
        'extra_specs': dict(getattr(volume_type, 'extra_specs', None) or {}),
        'qos_specs': dict(qos.specs or {}) if qos is not None else {},
        'snapshot_id': volume.snapshot_id,
        'source_volume_id': volume.source_volid,
        'name_in_storage': volume.name_in_storage,
        'created_at': _time(volume.created_at),
    }


def snapshot_facts(snapshot):
    """What the modules return of a snapshot."""
    return {
        'id': snapshot.id,
        'name': snapshot.name,
        'description': snapshot.description,
        'volume_id': snapshot.volume_id,
        'volume_size': snapshot.volume_size,
        'status': snapshot.status,
        'backend': snapshot.backend.id,
        'created_at': _time(snapshot.created_at),
    }


def connection_facts(connection):
    """What the modules return of a connection (credentials included: call
    ``mask_credentials`` on its ``connection_info`` unless asked not to)."""
    return {
        'id': connection.id,
        'volume_id': connection.volume_id,
        'host': connection.connector_info.get('host'),
        'protocol': connection.protocol,
        'attach_mode': connection.attach_mode,
        'status': connection.attach_status,
        'connection_info': connection.connection_info,
    }


def diff_of_volume(facts):
    """The fields of a volume a diff shows ({} for no volume)."""
    if not facts:
        return {}
    return {field: facts.get(field) for field in VOLUME_DIFF_FIELDS}
