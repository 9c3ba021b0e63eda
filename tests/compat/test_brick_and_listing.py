"""What the retired library's callers expect of privileges, os-brick and the
driver listing, checked as those callers use them.

- Ember-CSI's node service calls os-brick directly right after
  ``cinderlib.setup()``: privileges must be configured by then.
- ``list_supported_drivers()`` in the retired library's two formats,
  against the real installed Cinder's drivers; run isolated from the
  caller's working directory.
- RBD volumes attach through the kernel (a ``/dev`` path) where it has an
  RBD client, as the retired library did, and through librbd elsewhere.
- ``cinderlib convert`` writes inert, valid Python for any cinder.conf.
"""

import json
import os
import pickle
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import types

import pytest
from oslo_config.types import String

import cinderlib
from cinderlib.cinder import config as cinder_config
from cinderlib import conf_convert
from cinderlib import connectors
from cinderlib import drivers_listing

VENV_BIN = os.path.dirname(sys.executable)
HELPER = os.path.join(VENV_BIN, 'privsep-helper')
FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'

needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason='checks what a root process gets')


def run_python(code, cwd, user=None, env=None):
    """Run ``code`` in a new interpreter (as ``user``); its last line of
    output is JSON."""
    command = [sys.executable, '-c', textwrap.dedent(code)]
    if user is not None:
        command = ['setpriv', f'--reuid={user}', f'--regid={user}',
                   '--clear-groups', *command]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- privileges -------------------------------------------------------------


@needs_root
def test_ember_node_reads_its_connector_through_os_brick_after_setup(
        tmp_path):
    found = run_python('''
        import json, sys
        import cinderlib
        cinderlib.setup(root_helper='sudo')
        from os_brick.initiator import connector
        props = connector.get_connector_properties(
            'sudo', '192.0.2.5', False, False)
        print(json.dumps({'props': props, 'cinder': 'cinder' in sys.modules}))
    ''', tmp_path)
    assert found['props']['ip'] == '192.0.2.5'
    assert {'host', 'platform', 'os_type', 'multipath'} <= set(
        found['props'])
    assert found['cinder'] is False


@needs_root
def test_root_runs_privileged_code_in_process_once_cinder_loads(tmp_path):
    # The first Backend runs setup() with its defaults.
    found = run_python(f'''
        import json
        import cinderlib
        cinderlib.Backend('files', volume_driver={FILE_DRIVER!r},
                          file_volumes_dir={str(tmp_path / 'vols')!r})
        from cinder import privsep
        from os_brick import privileged
        print(json.dumps([privileged.default.client_mode,
                          privileged.brick_privsep_hide_output.client_mode,
                          privsep.sys_admin_pctxt.client_mode]))
    ''', tmp_path)
    assert found == [False, False, False]


@pytest.fixture
def unprivileged_home():
    """(uid, home directory) of an unprivileged user."""
    if os.geteuid() != 0 or not shutil.which('setpriv'):
        pytest.skip('needs root and setpriv to run as another user')
    try:
        uid = pwd.getpwnam('nobody').pw_uid
    except KeyError:
        pytest.skip('no user "nobody"')
    # Outside pytest's temporary directories, which only root may enter.
    home = tempfile.mkdtemp(prefix='cinderlib-unprivileged-')
    os.chown(home, uid, -1)
    yield uid, home
    shutil.rmtree(home)


def test_non_root_starts_the_venv_helper_behind_root_helper(
        unprivileged_home):
    uid, home = unprivileged_home
    found = run_python(f'''
        import json, os
        import cinderlib
        cinderlib.setup(root_helper='sudo -n', state_path={home!r})
        from os_brick import privileged
        before = privileged.default.helper_command('/run/sock')
        cinderlib.Backend('files', volume_driver={FILE_DRIVER!r},
                          file_volumes_dir={home + '/vols'!r})
        from cinder import privsep
        print(json.dumps({{
            'uid': os.geteuid(), 'brick': before,
            'brick_client': privileged.default.client_mode,
            'cinder': privsep.sys_admin_pctxt.helper_command('/run/sock'),
            'cinder_client': privsep.sys_admin_pctxt.client_mode}}))
    ''', home, user=uid, env={**os.environ, 'HOME': home})
    assert found['uid'] == uid
    for context in ('brick', 'cinder'):
        command = found[context]
        assert command[:3] == ['sudo', '-n', HELPER], command
        assert '--privsep_context' in command
        assert found[f'{context}_client'] is True


def test_helper_command_quotes_the_helper_and_keeps_root_helper_words():
    command = connectors.privsep_helper_command(
        "sudo -u root 'my wrapper'")
    assert command == f"sudo -u root 'my wrapper' {HELPER}"
    with pytest.raises(cinderlib.exception.InvalidArgument,
                       match='root_helper'):
        connectors.privsep_helper_command("sudo 'unbalanced")


def test_setup_refuses_a_root_helper_it_cannot_run(tmp_path):
    cinderlib.setup(root_helper='doas', state_path=str(tmp_path))
    with pytest.raises(cinderlib.exception.InvalidArgument,
                       match='root_helper'):
        cinderlib.setup(root_helper="sudo 'unbalanced")
    assert cinderlib.Backend.global_options().root_helper == 'doas'


def test_import_and_setup_do_not_import_cinder(tmp_path):
    found = run_python('''
        import json, sys
        import cinderlib
        imported = ['cinder' in sys.modules]
        cinderlib.setup()
        cinderlib.setup(root_helper='doas', debug=False)
        imported.append(sorted(m for m in sys.modules
                               if m.split('.')[0] == 'cinder'))
        print(json.dumps(imported))
    ''', tmp_path)
    assert found[0] is False
    # ``debug`` is a Cinder [DEFAULT] option: setting it loads Cinder.
    assert found[1] != []
    found = run_python('''
        import json, sys
        import cinderlib
        cinderlib.setup()
        cinderlib.setup(root_helper='doas',
                        persistence_config={'storage': 'memory'})
        print(json.dumps(sorted(m for m in sys.modules
                                if m.split('.')[0] == 'cinder')))
    ''', tmp_path)
    assert found == []


# -- list_supported_drivers -------------------------------------------------


@pytest.fixture(scope='module')
def listing():
    return {version: cinderlib.list_supported_drivers(version)
            for version in (1, 2)}


@pytest.fixture(scope='module')
def real_drivers():
    """Driver classes of the installed Cinder, imported here to compare."""
    cinder_config.load()
    import importlib
    classes = {}
    for path in ('cinder.volume.drivers.rbd.RBDDriver',
                 'cinder.volume.drivers.lvm.LVMVolumeDriver',
                 'cinder.volume.drivers.hpe.hpe_3par_fc.HPE3PARFCDriver'):
        module, _, name = path.rpartition('.')
        classes[name] = getattr(importlib.import_module(module), name)
    return classes


DRIVER_KEYS = {'version', 'class_name', 'supported', 'ci_wiki_name',
               'driver_options', 'class_fqn', 'desc'}


@pytest.mark.parametrize('version', [1, 2])
def test_rbd_driver_lists_rbd_keyring_conf_once_not_deprecated(
        listing, version):
    options = listing[version]['RBDDriver']['driver_options']
    keyring = [opt for opt in options if opt['dest'] == 'rbd_keyring_conf']
    assert len(keyring) == 1
    assert keyring[0]['deprecated_for_removal'] == (
        False if version == 2 else 'False')
    assert keyring[0]['name'] == 'rbd_keyring_conf'


@pytest.mark.parametrize('version', [1, 2])
def test_every_driver_has_the_retired_keys_and_typed_options(
        listing, version):
    assert len(listing[version]) > 50
    for name, info in listing[version].items():
        assert set(info) == DRIVER_KEYS, name
        assert info['class_name'] == name
        assert isinstance(info['supported'], bool)
        for option in info['driver_options']:
            if version == 1:
                assert all(isinstance(v, str) for v in option.values())
            else:
                assert isinstance(option['type'], dict)
                assert 'type_class' in option['type']


def without_addresses(strings):
    return {k: re.sub(' at 0x[0-9a-f]+', '', v) for k, v in strings.items()}


def public(obj):
    return {k: v for k, v in vars(obj).items() if not k.startswith('_')}


@pytest.mark.parametrize('driver', ['RBDDriver', 'LVMVolumeDriver',
                                    'HPE3PARFCDriver'])
def test_options_are_those_of_the_installed_driver(
        listing, real_drivers, driver):
    driver_class = real_drivers[driver]
    real = {opt.dest: opt for opt in driver_class.get_driver_options()}
    listed = {version: {opt['dest']: opt for opt in
                        listing[version][driver]['driver_options']}
              for version in (1, 2)}
    assert set(listed[1]) == set(listed[2]) == (
        set(real) | ({'rbd_keyring_conf'} if driver == 'RBDDriver'
                     else set()))
    for dest, opt in real.items():
        # The retired format shows objects' str(), addresses included.
        assert without_addresses(listed[1][dest]) == without_addresses(
            {k: str(v) for k, v in public(opt).items()})
        expected = public(opt)
        expected['type'] = {**public(opt.type), 'type_class': opt.type}
        assert listed[2][dest] == expected, dest
    info = listing[2][driver]
    assert info['class_fqn'] == (
        f'{driver_class.__module__}.{driver_class.__name__}')
    assert info['version'] == driver_class.VERSION


def test_v2_types_keep_choices_bounds_and_convert_values(listing):
    lvm = {opt['name']: opt for opt in
           listing[2]['LVMVolumeDriver']['driver_options']}
    depth = lvm['spdk_max_queue_depth']
    assert depth['default'] == 64
    assert depth['type']['min'] == 1 and depth['type']['max'] == 128
    assert depth['type']['num_type'] is int
    assert depth['type']['type_class']('12') == 12
    with pytest.raises(ValueError):
        depth['type']['type_class']('200')
    lvm_type = lvm['lvm_type']['type']
    assert list(lvm_type['choices']) == ['default', 'thin', 'auto']
    assert lvm_type['type_class']('thin') == 'thin'
    with pytest.raises(ValueError):
        lvm_type['type_class']('thick')
    san = {opt['name']: opt for opt in
           listing[2]['HPE3PARFCDriver']['driver_options']}
    port = san['san_ssh_port']['type']
    assert (port['min'], port['max']) == (0, 65535)
    assert type(port['type_class']).__name__ == 'Port'


def test_v2_keeps_types_holding_their_own_methods(listing):
    # IPAddress keeps a bound method of itself (its version checker).
    zadara = listing[2].get('ZadaraVPSAISCSIDriver')
    if zadara is None:
        pytest.skip('the Zadara driver is not in this Cinder')
    host = next(opt for opt in zadara['driver_options']
                if opt['name'] == 'zadara_vpsa_host')
    assert host['type']['type_class']('192.0.2.1') == '192.0.2.1'
    with pytest.raises(ValueError):
        host['type']['ip_address']('not an address')


class Planted:
    """Runs os.system when unpickled."""

    def __reduce__(self):
        return os.system, ('true',)


class MethodOf:
    """Asks the listing's unpickler for a method of an object."""

    def __init__(self, target, name):
        self.target, self.name = target, name

    def __reduce__(self):
        return drivers_listing._oslo_type_method, (self.target, self.name)


def test_listing_unpickler_refuses_anything_but_listing_types():
    with pytest.raises(pickle.UnpicklingError, match='system'):
        drivers_listing.load(pickle.dumps(Planted()))
    with pytest.raises(pickle.UnpicklingError):
        drivers_listing.load(pickle.dumps(types.SimpleNamespace(a=1)))
    for target, name in (('x', 'upper'), (String(), '__class__'),
                         (String(), '__call__')):
        with pytest.raises(pickle.UnpicklingError):
            drivers_listing.load(pickle.dumps(MethodOf(target, name)))
    method = drivers_listing.load(pickle.dumps(MethodOf(String(),
                                                        '_formatter')))
    assert method('x') == 'x'
    # What cannot travel becomes its str.
    assert drivers_listing.load(drivers_listing.dump(
        {'Driver': {'desc': Planted, 'n': 1}})) == {
        'Driver': {'desc': str(Planted), 'n': 1}}


PLANTED = '''
import os
open(os.path.join({marker_dir!r}, 'ran-' + __name__), 'w').close()
'''


def test_listing_ignores_code_planted_in_the_working_directory(
        tmp_path, monkeypatch):
    planted = tmp_path / 'cwd'
    markers = tmp_path / 'markers'
    markers.mkdir()
    (planted / 'cinderlib').mkdir(parents=True)
    code = PLANTED.format(marker_dir=str(markers))
    for name in ('json.py', 'pickle.py', 'os.py', 'importlib.py',
                 'sitecustomize.py', 'usercustomize.py',
                 'cinderlib/__init__.py'):
        (planted / name).write_text(code)
    monkeypatch.chdir(planted)
    monkeypatch.setenv('PYTHONPATH', str(planted))
    monkeypatch.setenv('PYTHONSTARTUP', str(planted / 'json.py'))
    drivers = cinderlib.list_supported_drivers()
    assert 'RBDDriver' in drivers
    assert os.listdir(markers) == []
    assert sorted(os.listdir(planted)) == sorted(
        ['cinderlib', 'json.py', 'pickle.py', 'os.py', 'importlib.py',
         'sitecustomize.py', 'usercustomize.py'])


def test_listing_uses_the_callers_cinderlib_from_a_source_tree(tmp_path):
    source = tmp_path / 'src'
    package = os.path.dirname(cinderlib.__file__)
    shutil.copytree(package, source / 'cinderlib',
                    ignore=shutil.ignore_patterns('__pycache__'))
    glue = source / 'cinderlib' / 'cinder' / 'config.py'
    marker = 'Keyring of the copy in a source tree.'
    glue.write_text(glue.read_text().replace(
        "'Path to the keyring file of the RBD user.'", repr(marker)))
    found = run_python(f'''
        import json, sys
        sys.path.insert(0, {str(source)!r})
        import cinderlib
        assert cinderlib.__file__.startswith({str(source)!r})
        rbd = cinderlib.list_supported_drivers()['RBDDriver']
        print(json.dumps([opt['help'] for opt in rbd['driver_options']
                          if opt['name'] == 'rbd_keyring_conf']))
    ''', source)
    assert found == [marker]


def test_listing_failure_is_one_line(monkeypatch):
    monkeypatch.setattr(drivers_listing, '_CHILD_CODE',
                        'raise SystemExit("no Cinder here\\nsecond line")')
    with pytest.raises(cinderlib.exception.CinderlibError) as error:
        cinderlib.list_supported_drivers()
    assert str(error.value) == 'listing drivers failed: second line'


# -- RBD attach: kernel where available, librbd elsewhere --------------------


FAKE_RBD = '''#!/bin/sh
echo "$@" >> "$(dirname "$0")/calls"
case "$1" in
  showmapped) echo '[{"id": "0", "pool": "pool", "namespace": "",
    "name": "volume-1", "snap": "-", "device": "/dev/rbd0"}]';;
esac
'''


@pytest.fixture
def fake_kernel_rbd(tmp_path, monkeypatch):
    """The kernel's RBD client, faked where the library and os-brick meet
    it: the ``/sys/bus/rbd`` directory and the ``rbd`` command."""
    sysfs = tmp_path / 'sys-bus-rbd'
    sysfs.mkdir()
    monkeypatch.setattr(connectors, 'KERNEL_RBD_SYSFS', str(sysfs))
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    rbd = bin_dir / 'rbd'
    rbd.write_text(FAKE_RBD)
    rbd.chmod(stat.S_IRWXU)
    monkeypatch.setenv('PATH', f'{bin_dir}:{os.environ["PATH"]}')
    return bin_dir / 'calls'


RBD_PROPERTIES = {'name': 'pool/volume-1', 'hosts': ['192.0.2.1'],
                  'ports': ['6789'], 'cluster_name': 'ceph',
                  'auth_enabled': True, 'auth_username': 'cinder',
                  'keyring': '[client.cinder]\n\tkey = AQ==\n'}


@needs_root
def test_rbd_attaches_through_the_kernel_where_it_has_rbd(fake_kernel_rbd):
    assert connectors.kernel_rbd_available()
    brick = connectors.brick_connector(
        'rbd', {}, None, 3, cinderlib.Backend.global_options())
    assert brick.do_local_attach is True
    device = brick.connect_volume(dict(RBD_PROPERTIES))
    assert device['path'] == '/dev/rbd/pool/volume-1'
    assert isinstance(device['path'], str)
    brick.disconnect_volume(dict(RBD_PROPERTIES), device)
    calls = fake_kernel_rbd.read_text().splitlines()
    assert calls[0].startswith('map volume-1 --pool pool --id cinder ')
    assert '--mon_host 192.0.2.1:6789' in calls[0]
    assert calls[1].startswith('showmapped --format=json')
    assert calls[2].startswith('unmap /dev/rbd0')
    # os-brick's temporary ceph.conf, with the keyring, is gone.
    assert not os.path.exists(device['conf'])


def test_rbd_attaches_through_librbd_without_kernel_rbd(
        fake_kernel_rbd, monkeypatch, tmp_path):
    monkeypatch.setattr(connectors, 'KERNEL_RBD_SYSFS',
                        str(tmp_path / 'absent'))
    assert not connectors.kernel_rbd_available()
    brick = connectors.brick_connector(
        'RBD', {}, None, 3, cinderlib.Backend.global_options())
    assert brick.do_local_attach is False


def test_kernel_rbd_needs_the_rbd_command(fake_kernel_rbd, monkeypatch):
    monkeypatch.setenv('PATH', '/nonexistent')
    assert not connectors.kernel_rbd_available()


def test_other_protocols_get_no_rbd_choice(fake_kernel_rbd):
    brick = connectors.brick_connector(
        'LOCAL', {}, None, 3, cinderlib.Backend.global_options())
    assert not hasattr(brick, 'do_local_attach')


# -- cinderlib convert ------------------------------------------------------


HOSTILE_CONF = '''\
[DEFAULT]
enabled_backends = lvm, cinderlib, a-b, a_b, class, 1st, x'); import os #

[lvm]
volume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver
my-opt = 1
x) or __import__('os').system('touch {marker}') or dict(y = 2
quote'd = it's "quoted" \\ \'\'\' """ {{}} %(name)s
multi = first
    second

[cinderlib]
k = v
[a-b]
k = 1
[a_b]
k = 2
[class]
k = 3
[1st]
k = 4
[x'); import os #]
volume_backend_name = z'); __import__('os').system('touch {marker}') #
'''


class RecordingCinderlib(types.ModuleType):
    """Stands for cinderlib when the generated code runs."""

    def __init__(self):
        super().__init__('cinderlib')
        self.calls = []

    def Backend(self, name, **options):
        self.calls.append((name, options))
        return name


def test_converted_code_is_valid_and_inert_for_hostile_names(
        tmp_path, monkeypatch, capsys):
    marker = tmp_path / 'marker'
    conf = tmp_path / 'cinder.conf'
    conf.write_text(HOSTILE_CONF.format(marker=marker))
    assert conf_convert.main([str(conf)]) == 0
    code = capsys.readouterr().out
    stub = RecordingCinderlib()
    monkeypatch.setitem(sys.modules, 'cinderlib', stub)
    namespace = {}
    exec(compile(code, 'converted', 'exec'), namespace)
    assert not marker.exists()
    names = [name for name, _ in stub.calls]
    assert names == ['lvm', 'cinderlib', 'a-b', 'a_b', 'class', '1st',
                     "z'); __import__('os').system('touch "
                     f"{marker}') #"]
    assert stub.calls[0][1] == {
        'volume_driver': 'cinder.volume.drivers.lvm.LVMVolumeDriver',
        'my-opt': '1',
        "x) or __import__('os').system('touch " f"{marker}') or dict(y":
            '2',
        "quote'd": 'it\'s "quoted" \\ \'\'\' """ {} %(name)s',
        'multi': 'first\nsecond'}
    # Every backend has a variable of its own; the module keeps its name.
    assert namespace['cinderlib'] is stub
    variables = {value: key for key, value in namespace.items()
                 if key not in ('cinderlib', '__builtins__')}
    assert set(variables) == set(names)
    assert all(name.isidentifier() for name in variables.values())
