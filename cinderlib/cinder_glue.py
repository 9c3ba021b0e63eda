"""Every dependency of cinderlib on Cinder's internals, in one place.

When Cinder changes, this is the module to read.  It owns:

- importing Cinder lazily (``load``) and registering its versioned objects;
- oslo.config: the ``[DEFAULT]`` options, one option group per backend, and
  the typing and validation of driver options by the driver's own option
  definitions;
- the request context drivers receive;
- building a driver instance, with our DB shim as its ``db``;
- the DB shim (``CinderDbShim``), which serves the calls drivers and Cinder's
  versioned objects make to ``cinder.db.api`` from the persistence plugin.
  Cinder's objects call the module functions of ``cinder.db.api`` directly,
  with no way to pass a database in, so ``install_db_api`` points those
  functions at the shim: the one global change this library makes to Cinder;
- building, filling and (de)serializing Cinder's versioned objects;
- the differences between the supported Cinder releases (27 to 29) and
  their os-brick and Python versions, told apart by what the installed
  one has, never by version numbers: ``db_api_namespaces``,
  ``brick_privsep_contexts``, ``parse_datetime``, ``_local_versions``.
  ``tests/unit/test_cinder_internals.py`` lists every internal used here.
"""

from __future__ import annotations

import datetime
import difflib
import importlib
import json
import logging
import re
import threading
import warnings
from typing import Any, Callable, Iterable, Optional

from cinderlib import exception
from cinderlib import validation

LOG = logging.getLogger(__name__)

_load_lock = threading.RLock()
_loaded = False

# Options some drivers read with getattr/safe_get but Cinder does not register.
_UNREGISTERED_DRIVER_OPTIONS = (
    ('rbd_keyring_conf', 'Path to the keyring file of the RBD user.'),
)

_SECRET_SUFFIXES = ('password', '_token', '_secret', '_passwd')

# Option groups that belong to Cinder or oslo, not to a backend.
_RESERVED_GROUP_NAMES = {'DEFAULT', 'backend_defaults'}


def load() -> None:
    """Import Cinder and prepare it for in-process use; idempotent."""
    global _loaded
    with _load_lock:
        if _loaded:
            return
        with warnings.catch_warnings():
            # Cinder imports eventlet, which warns that it is deprecated; we
            # never monkey-patch, so the warning says nothing to our callers.
            warnings.simplefilter('ignore')
            importlib.import_module('cinder')
            from cinder import objects
            # Driver modules use the object classes at import time.
            objects.register_all()
            importlib.import_module('cinder.common.config')
            importlib.import_module('cinder.volume.driver')
            # Registers the per-backend options of the volume service
            # (volume_driver, extra_capabilities...).
            importlib.import_module('cinder.volume.manager')
        _register_missing_options()
        _parse_config()
        _configure_cinder_privsep()
        _loaded = True


def _register_missing_options() -> None:
    from cinder.volume import configuration
    from oslo_config import cfg
    for name, help_text in _UNREGISTERED_DRIVER_OPTIONS:
        try:
            cfg.CONF.register_opt(cfg.StrOpt(name, help=help_text),
                                  group=configuration.SHARED_CONF_GROUP)
        except cfg.DuplicateOptError:
            pass


def _parse_config() -> None:
    """Make oslo.config usable without reading sys.argv or /etc/cinder."""
    from oslo_config import cfg
    if getattr(cfg.CONF, '_namespace', None) is None:
        cfg.CONF([], project='cinder', default_config_files=[],
                 default_config_dirs=[])


def conf() -> Any:
    """Cinder's global oslo.config object."""
    from oslo_config import cfg
    return cfg.CONF


def set_default_options(options: dict[str, Any]) -> None:
    """Set Cinder ``[DEFAULT]`` options, checked against their definitions."""
    load()
    cfg_conf = conf()
    known = {opt_info['opt'].name: opt_info['opt']
             for opt_info in cfg_conf._opts.values()}
    for name, value in options.items():
        if name not in known:
            raise exception.InvalidArgument(
                name, f'not a Cinder [DEFAULT] option{_suggest(name, known)}')
        _set_option(name, value, known[name], group=None)


def default_option(name: str) -> Any:
    """The definition of a ``[DEFAULT]`` option; None for an unknown one, or
    before Cinder is loaded (this never loads it)."""
    if not _loaded:
        return None
    info = conf()._opts.get(name)
    return info['opt'] if info else None


def set_group_option(group: str, name: str, value: Any) -> None:
    """Set one option of a registered group (e.g. ``oslo_concurrency``),
    literally: the values cinderlib sets there (a lock directory, a
    coordination URL and its password) are not templates."""
    conf().set_override(name, _literal(value), group=group)


def start_coordination(backend_url: str) -> Callable[[str], Any]:
    """Run Cinder's coordinator (what drivers' ``coordination.synchronized``
    locks use) on ``backend_url``, a tooz URL; restarted when the URL
    changes.  Returns a maker of cinderlib's own locks on the same backend.
    A ``file://`` backend's directory must be private (see
    :mod:`cinderlib.directories`): its lock files are created there.
    """
    if backend_url.startswith('file://'):
        from urllib.parse import urlsplit
        from cinderlib import directories
        try:
            directories.private_directory(urlsplit(backend_url).path,
                                          'coordination_backend_url')
        except exception.InvalidArgument as exc:
            raise exception.CoordinationUnavailable(backend_url,
                                                    exc) from None
    from cinder import coordination
    coordinator = coordination.COORDINATOR
    with _load_lock:
        if coordinator.started and (
                conf().coordination.backend_url != backend_url):
            coordinator.stop()
        if not coordinator.started:
            set_group_option('coordination', 'backend_url', backend_url)
            try:
                coordinator.start()
            except Exception as exc:
                coordinator.coordinator = None
                raise exception.CoordinationUnavailable(
                    backend_url, exc) from exc
    return lambda name: coordinator.get_lock(f'cinderlib-{name}')


def get_option(name: str, group: Optional[str] = None) -> Any:
    cfg_conf = conf()
    return getattr(cfg_conf, name) if group is None else getattr(
        getattr(cfg_conf, group), name)


def is_secret(name: str, opt: Any) -> bool:
    """Whether an option holds a secret: marked so, or named like one (some
    drivers forget the flag on their API tokens)."""
    return bool(getattr(opt, 'secret', False)) or name.endswith(
        _SECRET_SUFFIXES)


def _set_option(name: str, value: Any, opt: Any,
                group: Optional[str]) -> None:
    """Set an option, typed by its definition.  A secret is taken
    literally and never shown in errors; in other options, oslo.config's
    ``$name`` and ``${group.name}`` templates expand, checked now."""
    secret = is_secret(name, opt)
    try:
        conf().set_override(name, _literal(value) if secret else value,
                            group=group)
    except (ValueError, TypeError) as exc:
        type_name = type(opt.type).__name__ if opt.type else 'string'
        if secret:  # the error's text may quote the value
            raise exception.InvalidDriverOption(
                name, f'the value given is not a valid {type_name} value '
                      f'(not shown: the option is secret)') from None
        raise exception.InvalidDriverOption(
            name, f'{value!r} is not a valid {type_name} value ({exc})'
        ) from None
    if not secret:
        _check_templates(name, value, group)


def _literal(value: Any) -> Any:
    """``value`` escaped so that oslo.config's template expansion, which
    applies to every value read, gives it back unchanged."""
    if isinstance(value, str):
        return _DOLLAR.sub(_escape_dollar, value)
    if isinstance(value, (list, tuple)):
        return [_literal(item) for item in value]
    if isinstance(value, dict):
        return {_literal(key): _literal(item) for key, item in value.items()}
    return value


_DOLLAR = re.compile(r'\\?\$')


def _escape_dollar(match: re.Match[str]) -> str:
    # oslo.config first turns a backslash-dollar into "$$", then "$$" into
    # "$" and "$name" into a value.  So "$" is written "$$", and a
    # backslash-dollar as two backslashes and a dollar: the first step makes
    # that a backslash and "$$", which the second makes a backslash-dollar.
    return '$$' if match.group() == '$' else '\\\\$'


def _check_templates(name: str, value: Any, group: Optional[str]) -> None:
    """Expand an option's templates now, so that a wrong one fails here,
    naming the option, rather than in the driver."""
    from oslo_config import cfg
    try:
        get_option(name, group)
    except (cfg.Error, RecursionError) as exc:
        conf().clear_override(name, group=group)
        reason = ('refers to itself' if isinstance(exc, RecursionError)
                  else str(exc))
        raise exception.InvalidDriverOption(
            name, f'{value!r} has a $ template that cannot be expanded '
                  f'({reason}); write $$ for a literal $') from None


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3)
    return f' (did you mean {", ".join(close)}?)' if close else ''


def make_context(user_id: str, project_id: str):
    """An admin request context that is not stored in thread-local state."""
    load()
    from cinder import context
    return context.RequestContext(user_id=user_id, project_id=project_id,
                                  is_admin=True, overwrite=False)


# ---------------------------------------------------------------------------
# Drivers
# ---------------------------------------------------------------------------

def import_driver_class(path: Any) -> type:
    """Import a volume driver class from its dotted path."""
    if not isinstance(path, str) or '.' not in path:
        raise exception.InvalidDriverOption(
            'volume_driver', f'must be a dotted class path, got {path!r}')
    load()
    module_name, _, class_name = path.rpartition('.')
    try:
        module = importlib.import_module(module_name)
        driver_class = getattr(module, class_name)
    except (ImportError, AttributeError) as exc:
        raise exception.InvalidDriverOption(
            'volume_driver', f'cannot import {path!r}: {exc}') from None
    from cinder.volume import driver as cinder_driver
    if not (isinstance(driver_class, type) and
            issubclass(driver_class, cinder_driver.BaseVD)):
        raise exception.InvalidDriverOption(
            'volume_driver', f'{path!r} is not a Cinder volume driver class')
    return driver_class


def driver_option_definitions(driver_class: type) -> dict[str, Any]:
    """Options a backend of this driver accepts, by name.

    Drivers register their options in Cinder's shared backend group when
    their module is imported; ``get_driver_options`` adds the rest.
    """
    from cinder.volume import configuration
    from cinder.volume import driver as cinder_driver
    cfg_conf = conf()
    shared = cfg_conf._groups[configuration.SHARED_CONF_GROUP]
    known = {name: info['opt'] for name, info in shared._opts.items()}
    extra = getattr(driver_class, 'get_driver_options', lambda: [])() or []
    for opt in list(extra) + list(cinder_driver.volume_opts):
        known.setdefault(opt.name, opt)
    return known


def check_backend_name(name: Any) -> str:
    """Validate a backend name, which is also its oslo.config group."""
    if not isinstance(name, str) or not name.strip():
        raise exception.InvalidArgument(
            'volume_backend_name', f'must be a non-empty string, got {name!r}')
    bad = [c for c in '@#/ \t\n' if c in name]
    if bad:
        raise exception.InvalidArgument(
            'volume_backend_name',
            f'{name!r} contains {bad[0]!r}, which Cinder host strings '
            f'(host@backend#pool) cannot hold')
    validation.text(name, 'volume_backend_name')  # storable
    load()
    if name in _RESERVED_GROUP_NAMES or (
            name in conf()._groups and not _is_backend_group(name)):
        raise exception.InvalidArgument(
            'volume_backend_name',
            f'{name!r} is the name of a Cinder or oslo option group')
    return name


# Option groups created for backends, loaded or unloaded since.
_backend_groups: set[str] = set()


def _is_backend_group(name: str) -> bool:
    return name in _backend_groups


class DriverConfiguration:
    """A backend's option group: the driver's ``configuration``."""

    def __init__(self, group: str, driver_class: type,
                 options: dict[str, Any]) -> None:
        from cinder.volume import configuration
        self.group = group
        self.definitions = driver_option_definitions(driver_class)
        unknown = sorted(set(options) - set(self.definitions))
        if unknown:
            name = unknown[0]
            raise exception.InvalidDriverOption(
                name, f'{driver_class.__name__} has no option {name!r}'
                      f'{_suggest(name, self.definitions)}')
        _backend_groups.add(group)
        self.configuration = configuration.Configuration(
            list(self.definitions.values()), config_group=group)
        try:
            for name, value in options.items():
                _set_option(name, value, self.definitions[name], group)
        except Exception:
            self.clear()
            raise

    def secret_names(self) -> set[str]:
        """Options marked secret, and those whose names say they are (some
        drivers forget the flag on their API tokens)."""
        return {name for name, opt in self.definitions.items()
                if is_secret(name, opt)}

    def clear(self) -> None:
        """Forget every value set for this group."""
        cfg_conf = conf()
        group = cfg_conf._groups.get(self.group)
        if group is not None:
            for name in list(group._opts):
                cfg_conf.clear_override(name, group=self.group)


def build_driver(driver_class: type, configuration: Any, host: str,
                 db_shim: Any) -> Any:
    """Instantiate a driver as Cinder's volume manager would, with our db."""
    driver = driver_class(configuration=configuration, host=host,
                          cluster_name=None, is_vol_db_empty=False,
                          active_backend_id=None, db=db_shim)
    use_db(driver, db_shim)
    return driver


def use_db(driver: Any, db_shim: Any) -> None:
    """Give a driver our DB shim (its base class ignores the db argument)."""
    driver.db = db_shim
    if getattr(driver, 'driver_utils', None) is not None:
        driver.driver_utils.db = db_shim


def setup_driver(driver: Any, context: Any) -> None:
    """Run the driver's set-up steps and mark it initialized."""
    if hasattr(driver, 'do_setup'):
        driver.do_setup(context)
    else:
        driver.setup(context)
    driver.check_for_setup_error()
    driver.set_initialized()
    driver.init_capabilities()


# Configures a privsep context as setup() decided (see connectors.py);
# applied to Cinder's context when Cinder is loaded.
_privsep_configurator: Optional[Callable[[Any], None]] = None


def configure_privsep(configure: Callable[[Any], None]) -> None:
    """Have ``configure(context)`` set up Cinder's privsep context: now if
    Cinder is loaded, otherwise when it is (``setup()`` does not load it)."""
    global _privsep_configurator
    with _load_lock:
        _privsep_configurator = configure
        if _loaded:
            _configure_cinder_privsep()


# os-brick's privsep contexts: ``default``, and from os-brick 7 on
# ``brick_privsep_hide_output`` (commands whose output holds secrets).
_BRICK_PRIVSEP_CONTEXTS = ('default', 'brick_privsep_hide_output')


def brick_privsep_contexts() -> list[Any]:
    """The privsep contexts of the installed os-brick; does not import
    Cinder."""
    with warnings.catch_warnings():
        # oslo.privsep imports eventlet, which warns that it is deprecated;
        # we never monkey-patch, so the warning says nothing to callers.
        warnings.simplefilter('ignore')
        from os_brick import privileged
    return [getattr(privileged, name) for name in _BRICK_PRIVSEP_CONTEXTS
            if hasattr(privileged, name)]


def _configure_cinder_privsep() -> None:
    if _privsep_configurator is not None:
        from cinder import privsep
        _privsep_configurator(privsep.sys_admin_pctxt)


# ---------------------------------------------------------------------------
# Versioned objects
# ---------------------------------------------------------------------------

def objects_module() -> Any:
    load()
    from cinder import objects
    return objects


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def fill_unset_fields(ovo: Any) -> Any:
    """Give every plain field a value: drivers may read any of them, and
    Cinder objects cannot lazy-load plain fields.  Relationships
    (``OPTIONAL_FIELDS``) left unset lazy-load through the DB shim."""
    from oslo_versionedobjects import fields as ovo_fields
    optional = getattr(ovo, 'OPTIONAL_FIELDS', ())
    for name, field in ovo.fields.items():
        if ovo.obj_attr_is_set(name) or name in optional:
            continue
        if field.default is not ovo_fields.UnspecifiedDefault:
            setattr(ovo, name, field.default)
        elif field.nullable:
            setattr(ovo, name, None)
    return ovo


def new_volume_type(context: Any, type_id: str, extra_specs: dict,
                    qos_specs: Optional[dict]) -> Any:
    """A volume type of its own for one volume, as Cinder would give it."""
    objects = objects_module()
    qos = None
    if qos_specs:
        qos = fill_unset_fields(objects.QualityOfServiceSpecs(
            context, id=type_id, name=type_id, consumer='back-end',
            specs=dict(qos_specs)))
        qos.obj_reset_changes()
    volume_type = objects.VolumeType(
        context, id=type_id, name=type_id, description=None, is_public=True,
        projects=[], extra_specs=dict(extra_specs),
        qos_specs_id=qos.id if qos else None, qos_specs=qos,
        created_at=utcnow(), deleted=False)
    return fill_unset_fields(volume_type)


def new_volume(context: Any, **values: Any) -> Any:
    objects = objects_module()
    volume = objects.Volume(context, **values)
    volume.metadata = volume.metadata if volume.obj_attr_is_set(
        'metadata') else {}
    for name in ('admin_metadata', 'glance_metadata'):
        if not volume.obj_attr_is_set(name):
            setattr(volume, name, {})
    volume.volume_attachment = objects.VolumeAttachmentList(context,
                                                            objects=[])
    # ``snapshots`` stays unset: a snapshot holds its volume, and a cycle
    # sends Cinder's change tracking into endless recursion.  Cinder
    # lazy-loads it through the DB shim when a driver reads it.
    for name in ('consistencygroup', 'cluster', 'group'):
        setattr(volume, name, None)
    fill_unset_fields(volume)
    volume.obj_reset_changes()
    return volume


def new_snapshot(context: Any, volume_ovo: Any, **values: Any) -> Any:
    objects = objects_module()
    snapshot = objects.Snapshot(context, **values)
    if not snapshot.obj_attr_is_set('metadata'):
        snapshot.metadata = {}
    snapshot.volume = volume_ovo
    snapshot.cgsnapshot = None
    snapshot.group_snapshot = None
    fill_unset_fields(snapshot)
    snapshot.obj_reset_changes()
    return snapshot


def new_attachment(context: Any, **values: Any) -> Any:
    """An attachment; its ``volume`` stays unset (lazy-loaded through the
    DB shim), as the volume lists the attachment: no cycle."""
    objects = objects_module()
    attachment = objects.VolumeAttachment(context, **values)
    fill_unset_fields(attachment)
    attachment.obj_reset_changes()
    return attachment


def forget_field(ovo: Any, name: str) -> None:
    """Unset a lazy field so that it is loaded afresh when next read."""
    if ovo.obj_attr_is_set(name):
        delattr(ovo, name)


def changed_fields(ovo: Any) -> dict[str, Any]:
    """The fields of ``ovo`` changed since it was last saved."""
    return {name: getattr(ovo, name) for name in ovo.obj_what_changed()}


def field_changed(ovo: Any, name: str) -> bool:
    """Whether the plain field ``name`` of ``ovo`` changed since it was
    last saved (cheaper than ``changed_fields``: no nested objects)."""
    return name in ovo._changed_fields


def reset_changes(ovo: Any) -> None:
    """Mark ``ovo`` and the objects it owns (a volume's type and QoS, the
    list containers of its snapshots and attachments) as saved.  The
    related objects themselves are saved on their own and not walked: that
    would make every save cost as much as the volume has snapshots."""
    ovo.obj_reset_changes()
    owned, lists = _object_fields(type(ovo))
    for name in owned + lists:
        if ovo.obj_attr_is_set(name):
            child = getattr(ovo, name)
            if child is None:
                continue
            if name in lists:
                child.obj_reset_changes()
            else:
                reset_changes(child)


_RELATIONSHIPS = {'snapshots', 'volume_attachment', 'volume'}
_fields_cache: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _object_fields(ovo_class: type) -> tuple[tuple[str, ...],
                                             tuple[str, ...]]:
    """Names of an object class's owned object fields and of its
    relationship lists, computed once per class."""
    cached = _fields_cache.get(ovo_class)
    if cached is None:
        from oslo_versionedobjects import fields as ovo_fields
        objects_fields = {
            name: field.AUTO_TYPE._obj_name
            for name, field in ovo_class.fields.items()
            if isinstance(field, ovo_fields.ObjectField)}
        owned = tuple(name for name, obj_name in objects_fields.items()
                      if name not in _RELATIONSHIPS and
                      not obj_name.endswith('List'))
        lists = tuple(name for name, obj_name in objects_fields.items()
                      if name in _RELATIONSHIPS and obj_name.endswith('List'))
        cached = _fields_cache[ovo_class] = (owned, lists)
    return cached


def to_primitive(ovo: Any, skip: Iterable[str] = ()) -> dict:
    """A JSON-able primitive of ``ovo``, the format ``from_primitive`` reads.

    Unlike ``obj_to_primitive`` it keeps microseconds in datetimes, leaves
    out the fields named in ``skip``, breaks cycles (a snapshot's volume
    lists the snapshot again) and leaves out nested volumes' snapshot and
    attachment lists.
    """
    return _primitive(ovo, set(skip), ())


_NESTED_SKIP = {'snapshots', 'volume_attachment'}
_PLAIN_TYPES = (str, int, float, bool, dict, list)
_UNSET = object()


def _primitive(ovo: Any, skip: set, path: tuple) -> dict:
    from oslo_versionedobjects import base as ovo_base
    path = path + (ovo,)
    data = {}
    for name, field in ovo.fields.items():
        # The attribute behind the field: reading it never lazy-loads.
        value = getattr(ovo, '_obj_' + name, _UNSET)
        if value is _UNSET or name in skip:
            continue
        if isinstance(value, ovo_base.ObjectListBase):
            data[name] = _list_primitive(value, path)
        elif isinstance(value, ovo_base.VersionedObject):
            if any(value is seen for seen in path):
                continue
            data[name] = _primitive(value, _NESTED_SKIP, path)
        elif isinstance(value, datetime.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=datetime.timezone.utc)
            data[name] = value.isoformat()
        elif isinstance(value, (dict, list)):
            # A copy: the object's dicts and lists (coerced ones) must not
            # change when the caller changes the primitive, or vice versa.
            data[name] = _plain_copy(value, validation.MAX_NESTING, name)
        elif value is None or isinstance(value, _PLAIN_TYPES):
            data[name] = value  # what the field's to_primitive returns
        else:
            data[name] = field.to_primitive(ovo, name, value)
    return _envelope(ovo, data)


def _plain_copy(value: Any, limit: int, field: str) -> Any:
    """A copy of nested dicts and lists as plain dicts and lists, refused
    (``InvalidArgument``) if they nest more than ``limit`` levels: what a
    driver or caller put in an object must serialize and load back."""
    if limit <= 0:
        raise exception.InvalidArgument(
            field, f'nests more than {validation.MAX_NESTING} levels of '
                   f'dicts and lists')
    if isinstance(value, dict):
        return {key: _plain_copy(item, limit - 1, field)
                if isinstance(item, (dict, list)) else item
                for key, item in value.items()}
    return [_plain_copy(item, limit - 1, field)
            if isinstance(item, (dict, list)) else item for item in value]


def _list_primitive(ovo_list: Any, path: tuple) -> dict:
    items = [_primitive(item, _NESTED_SKIP, path) for item in ovo_list
             if not any(item is seen for seen in path)]
    return _envelope(ovo_list, {'objects': items})


def list_primitive(list_class: str, items: list) -> dict:
    """The primitive of a Cinder object list holding ``items``."""
    return _envelope(getattr(objects_module(), list_class), {
        'objects': items})


def list_primitive_text(list_class: str, item_texts: list) -> str:
    """``list_primitive`` as JSON text, from the items' JSON texts."""
    envelope = json.dumps(list_primitive(list_class, []),
                          separators=(',', ':'))
    return envelope[:-3] + ','.join(item_texts) + ']}}'


def _envelope(ovo: Any, data: dict) -> dict:
    return {'versioned_object.name': ovo.obj_name(),
            'versioned_object.namespace': ovo.OBJ_PROJECT_NAMESPACE,
            'versioned_object.version': ovo.VERSION,
            'versioned_object.data': data}


def from_primitive(primitive: Any, context: Any) -> Any:
    """Rebuild a Cinder versioned object from ``to_primitive`` output,
    checking it first (``check_primitive``)."""
    objects = objects_module()
    from oslo_versionedobjects import exception as ovo_exc
    check_primitive(primitive)
    primitive = _local_versions(primitive)
    try:
        ovo = objects.base.CinderObject.obj_from_primitive(primitive,
                                                           context)
    except (ovo_exc.VersionedObjectsException, KeyError, ValueError,
            TypeError, AttributeError, OverflowError) as exc:
        raise exception.InvalidSerializedData(
            f'bad {primitive.get("versioned_object.name")} object: '
            f'{exc}') from None
    _current_version(ovo)
    return ovo


def _current_version(ovo: Any) -> None:
    """Make an object built from an older version's primitive (and its
    nested objects) this Cinder's version: oslo keeps the primitive's
    version on each object, so it would serialize as that version with
    the fields added since (filled in by ``fill_unset_fields``)."""
    from oslo_versionedobjects import base as ovo_base
    ovo.__dict__.pop('VERSION', None)
    items = ovo.objects if isinstance(ovo, ovo_base.ObjectListBase) else [
        getattr(ovo, '_obj_' + name) for name in ovo.fields
        if hasattr(ovo, '_obj_' + name)]
    for item in items:
        if isinstance(item, ovo_base.VersionedObject):
            _current_version(item)


def _local_versions(primitive: Any) -> Any:
    """``primitive`` with the objects a newer Cinder wrote in a newer minor
    version of their class given this Cinder's version: oslo refuses to
    build them otherwise, though a minor version only adds fields, which
    are ignored (``check_primitive`` accepts them).  Another major version
    is left, and refused.  Returns ``primitive`` itself when nothing
    changes, else a copy (the caller's data is never changed)."""
    if isinstance(primitive, list):
        items = [_local_versions(item) for item in primitive]
        same = all(new is old for new, old in zip(items, primitive))
        return primitive if same else items
    if not isinstance(primitive, dict):
        return primitive
    changed = {}
    for key, value in primitive.items():
        if isinstance(value, (dict, list)):
            new = _local_versions(value)
            if new is not value:
                changed[key] = new
    name = primitive.get('versioned_object.name')
    version = primitive.get('versioned_object.version')
    if isinstance(name, str) and isinstance(version, str):
        local = _class_info(name).cls.VERSION
        if _newer_minor(version, local):
            changed['versioned_object.version'] = local
    return {**primitive, **changed} if changed else primitive


def _newer_minor(version: str, local: str) -> bool:
    major, minor = (int(part) for part in version.split('.'))
    local_major, local_minor = (int(part) for part in local.split('.'))
    return major == local_major and minor > local_minor


def trusted_from_primitive(primitive: dict, context: Any,
                           fill: bool = False) -> Any:
    """Rebuild an object from a primitive ``check_primitive`` accepted.

    For data this library stored itself (the ``db`` plugin): it skips the
    coercion ``from_primitive`` repeats on every field, which makes it
    several times faster.  Fields the class does not have are ignored;
    with ``fill``, plain fields the primitive lacks (its own and its
    nested objects') get what ``fill_unset_fields`` gives them.
    """
    info = _class_info(primitive['versioned_object.name'])
    cls, kinds = info.cls, info.kinds
    obj = cls.__new__(cls)
    obj._context = context
    obj._changed_fields = set()
    data = primitive['versioned_object.data']
    if fill:
        for name, value in info.defaults:
            if name not in data:
                setattr(obj, '_obj_' + name, value)
    for name, value in data.items():
        kind = kinds.get(name)
        if kind is None:  # not a field of this class
            continue
        if value is None or kind is _PLAIN:
            pass
        elif kind is _DATETIME:
            value = parse_datetime(value)
        elif kind is _OBJECT:
            value = trusted_from_primitive(value, context, fill)
        else:  # _OBJECTS
            value = [trusted_from_primitive(item, context, fill)
                     for item in value]
        setattr(obj, '_obj_' + name, value)
    if cls.obj_name() in _METADATA_TRACKERS:
        # What their obj_reset_changes does (Cinder 29), without its
        # per-field checks: copies to compare metadata changes against.
        for name in _TRACKED_METADATA:
            if name in cls.fields:
                value = getattr(obj, '_obj_' + name, None)
                setattr(obj, '_orig_' + name, dict(value) if value else {})
    else:
        obj.obj_reset_changes()
    return obj


def _full_iso_8601() -> bool:
    try:
        datetime.datetime.fromisoformat('2000-01-01T00:00:00.1Z')
    except ValueError:
        return False
    return True


# Python 3.11's fromisoformat reads any ISO 8601 date and time; 3.10's
# only its own isoformat()'s.
_FULL_ISO_8601 = _full_iso_8601()
_ISO_FRACTION_AND_ZONE = re.compile(
    r'(?P<base>.*T\d\d:\d\d:\d\d)(?:[.,](?P<fraction>\d+))?'
    r'(?P<zone>[zZ]|[+-]\d\d:?\d\d)?$')


def parse_datetime(value: str) -> datetime.datetime:
    """``datetime.fromisoformat`` as of Python 3.11, on 3.10 too for the
    forms serialized objects hold: the retired library wrote
    ``2024-01-01T10:20:30Z`` (oslo's isotime), which 3.10 cannot read.
    Raises ValueError or TypeError like ``fromisoformat``."""
    if _FULL_ISO_8601:
        return datetime.datetime.fromisoformat(value)
    try:
        return datetime.datetime.fromisoformat(value)
    except ValueError:
        match = _ISO_FRACTION_AND_ZONE.match(value)
        if not match:
            raise
    fraction = (match['fraction'] or '')[:6]
    zone = match['zone'] or ''
    if zone in ('z', 'Z'):
        zone = '+00:00'
    elif zone and ':' not in zone:
        zone = f'{zone[:3]}:{zone[3:]}'
    return datetime.datetime.fromisoformat(
        match['base'] + (f'.{fraction.ljust(6, "0")}' if fraction else '') +
        zone)


_METADATA_TRACKERS = {'Volume', 'Snapshot'}
_TRACKED_METADATA = ('metadata', 'admin_metadata', 'glance_metadata')


# ---------------------------------------------------------------------------
# Checking primitives
# ---------------------------------------------------------------------------

# How deep objects may nest in a primitive (a volume's snapshot list's
# snapshots' volume type's QoS specs...): deeper is refused, not recursed.
_MAX_DEPTH = 8
_DATA = 'versioned_object.data'
_VERSION_FORMAT = re.compile(r'[0-9]{1,9}\.[0-9]{1,9}')


# How trusted_from_primitive rebuilds each field's value.
_PLAIN, _DATETIME, _OBJECT, _OBJECTS = 'plain', 'datetime', 'object', 'list'


class _ClassInfo:
    """What checking and rebuilding need to know of an object class: how
    to rebuild each field and how to check its value."""

    __slots__ = ('cls', 'kinds', 'allowed', 'checkers', 'defaults',
                 'filled', 'required')

    def __init__(self, cls: type) -> None:
        from oslo_versionedobjects import fields as ovo_fields
        self.cls = cls
        optional = getattr(cls, 'OPTIONAL_FIELDS', ())
        # What fill_unset_fields sets (immutable values only).
        self.defaults = [
            (name, None if field.default is ovo_fields.UnspecifiedDefault
             else field.default)
            for name, field in cls.fields.items()
            if name not in optional and (
                field.nullable or
                field.default is not ovo_fields.UnspecifiedDefault)]
        self.filled = frozenset(name for name, _ in self.defaults)
        # Fields nothing can fill in (an id): a primitive must hold them.
        self.required = tuple(name for name in cls.fields
                              if name not in optional and
                              name not in self.filled)
        self.kinds = {}
        for name, field in cls.fields.items():
            field_type = field._type
            kind = _PLAIN
            if isinstance(field_type, ovo_fields.DateTime):
                kind = _DATETIME
            elif isinstance(field_type, ovo_fields.Object):
                kind = _OBJECT
            elif isinstance(field_type, ovo_fields.List) and isinstance(
                    field_type._element_type._type, ovo_fields.Object):
                kind = _OBJECTS
            self.kinds[name] = kind
        # {field: the types of its JSON values}; fields whose values need
        # more than their type checked allow any, and have a checker.
        self.allowed = {}
        self.checkers = []
        for name, field in cls.fields.items():
            plain = _plain_type(field._type)
            if plain is None:
                self.allowed[name] = _JSON_TYPES
                self.checkers.append((name, field.nullable,
                                      _type_checker(field._type)))
            else:
                self.allowed[name] = (plain, type(None)) if (
                    field.nullable) else (plain,)


_classes_by_name: dict[str, _ClassInfo] = {}


def check_primitive(primitive: Any, expected: Optional[str] = None) -> bool:
    """Raise ``InvalidSerializedData`` unless ``primitive`` is shaped as
    ``to_primitive`` writes it: an envelope naming a Cinder object class
    (``expected`` if given), whose fields hold values of their types (no
    coercion: a size is an integer, not a string of digits), nested
    objects included.

    Keys that are not fields of the class are allowed (an older or newer
    Cinder may have them), and ignored when the object is built; fields
    with a default or that may be null may be left out.  The result is
    False if the primitive (or a nested one) has such keys or lacks such
    fields: the object built from it serializes to another primitive.
    """
    return not _check_object(primitive, expected, '', 0)


_ENVELOPE = frozenset(('versioned_object.name', 'versioned_object.namespace',
                       'versioned_object.version', 'versioned_object.data',
                       'versioned_object.changes'))


def _check_object(primitive: Any, expected: Optional[str], path: str,
                  depth: int) -> bool:
    """Returns True if the primitive has keys that are not fields, or
    lacks fields that are filled in."""
    if not isinstance(primitive, dict):
        raise _invalid(path, f'must be a Cinder object primitive, got '
                             f'{_brief(primitive)}')
    name = primitive.get('versioned_object.name')
    if not isinstance(name, str):
        raise _invalid(path, 'has no "versioned_object.name" string')
    if expected is not None and name != expected:
        raise _invalid(path, f'holds a {_brief(name)} where a {expected} '
                             f'belongs')
    info = _class_info(name, path)
    if depth > _MAX_DEPTH:
        raise _invalid(path, 'objects nest too deeply')
    namespace = primitive.get('versioned_object.namespace')
    if namespace != info.cls.OBJ_PROJECT_NAMESPACE:
        raise _invalid(path, f'"versioned_object.namespace" must be '
                             f'{info.cls.OBJ_PROJECT_NAMESPACE!r}, got '
                             f'{_brief(namespace)}')
    version = primitive.get('versioned_object.version')
    if not isinstance(version, str) or not _VERSION_FORMAT.fullmatch(
            version):
        raise _invalid(path, f'"versioned_object.version" must be a '
                             f'version such as "1.2", got {_brief(version)}')
    changes = primitive.get('versioned_object.changes', [])
    if not isinstance(changes, list) or not all(
            isinstance(change, str) for change in changes):
        raise _invalid(path, '"versioned_object.changes" must be a list '
                             'of field names')
    data = primitive.get(_DATA)
    if not isinstance(data, dict):
        raise _invalid(path, f'"{_DATA}" must be an object, got '
                             f'{_brief(data)}')
    if len(primitive) > 4 and not _ENVELOPE.issuperset(primitive):
        raise _invalid(path, f'unknown keys '
                             f'{sorted(set(primitive) - _ENVELOPE)!r:.60}')
    for name in info.required:
        if name not in data:
            raise _invalid(path, f'has no {name}')
    # The hot loop of reading rows: plain fields are checked by their
    # exact type (JSON data has no subclasses), in one comprehension.
    allowed = info.allowed
    wrong = [key for key, value in data.items()
             if type(value) not in allowed.get(key, _JSON_TYPES)]
    if wrong:
        key = wrong[0]
        value = data[key]
        if value is None:
            raise _invalid(_join(path, key), 'must not be null')
        raise _invalid(_join(path, key), f'must be '
                       f'{_DESCRIPTIONS[allowed[key][0]]}, got '
                       f'{_brief(value)}')
    unknown = False
    for key, nullable, check in info.checkers:
        value = data.get(key)
        if value is None:
            if not nullable and key in data:
                raise _invalid(_join(path, key), 'must not be null')
        elif check(value, _join(path, key), depth):
            unknown = True
    return (unknown or not allowed.keys() >= data.keys() or
            not info.filled <= data.keys())


def _join(path: str, key: str) -> str:
    return f'{path}.{key}' if path else key


_DESCRIPTIONS = {str: 'a string', int: 'an integer', bool: 'true or false'}
_JSON_TYPES = frozenset((dict, list, str, int, float, bool, type(None)))


def _plain_type(field_type: Any) -> Optional[type]:
    """The Python type of a field's JSON values, for the types checked by
    type alone."""
    from oslo_versionedobjects import fields as ovo_fields
    if isinstance(field_type, ovo_fields.Enum):
        return None
    if isinstance(field_type, (ovo_fields.String, ovo_fields.StringPattern)):
        return str
    if isinstance(field_type, ovo_fields.Boolean):
        return bool
    if isinstance(field_type, ovo_fields.Integer):
        return int
    return None


def _invalid(path: str, reason: str) -> Exception:
    where = f'{path}: ' if path else ''
    return exception.InvalidSerializedData(f'{where}{reason}')


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + '...'


def _class_info(name: str, path: str = '') -> _ClassInfo:
    """What to know of an object class, by name."""
    info = _classes_by_name.get(name)
    if info is None:
        from oslo_versionedobjects import base as ovo_base
        load()
        classes = ovo_base.VersionedObjectRegistry.obj_classes().get(name)
        if not classes:
            raise _invalid(path, f'{_brief(name)} is not a Cinder object')
        info = _classes_by_name[name] = _ClassInfo(classes[0])
    return info


# Checkers return True when nested objects have keys that are not fields
# or lack fields that are filled in.
Checker = Callable[[Any, str, int], Optional[bool]]


def _field_checker(field: Any) -> Checker:
    """A function raising ``InvalidSerializedData`` unless its value is
    what ``to_primitive`` writes for ``field``."""
    nullable = field.nullable
    check_type = _type_checker(field._type)

    def check(value: Any, path: str, depth: int) -> Optional[bool]:
        if value is None:
            if not nullable:
                raise _invalid(path, 'must not be null')
            return False
        return check_type(value, path, depth)
    return check


def _type_checker(field_type: Any) -> Checker:
    from oslo_versionedobjects import fields as ovo_fields
    if isinstance(field_type, ovo_fields.Enum):
        valid = frozenset(field_type._valid_values or ())

        def check_enum(value: Any, path: str, depth: int) -> None:
            if not isinstance(value, str) or (valid and value not in valid):
                raise _invalid(path, f'must be one of {sorted(valid)}, got '
                                     f'{_brief(value)}')
        return check_enum
    plain = _plain_type(field_type)
    if plain is not None:
        def check_plain(value: Any, path: str, depth: int) -> None:
            if type(value) is not plain:
                raise _invalid(path, f'must be {_DESCRIPTIONS[plain]}, '
                                     f'got {_brief(value)}')
        return check_plain
    if isinstance(field_type, ovo_fields.Float):
        def check_number(value: Any, path: str, depth: int) -> None:
            if isinstance(value, bool) or not isinstance(value,
                                                         (int, float)):
                raise _invalid(path, f'must be a number, got '
                                     f'{_brief(value)}')
        return check_number
    if isinstance(field_type, ovo_fields.DateTime):
        return _check_datetime
    if isinstance(field_type, ovo_fields.Dict):
        return _container_checker(dict, 'an object',
                                  field_type._element_type)
    if isinstance(field_type, (ovo_fields.List, ovo_fields.Set)):
        return _container_checker(list, 'a list', field_type._element_type)
    if isinstance(field_type, ovo_fields.Object):
        obj_name = field_type._obj_name

        def check_object(value: Any, path: str, depth: int) -> bool:
            return _check_object(value, obj_name, path, depth + 1)
        return check_object
    return _check_anything


def _check_datetime(value: Any, path: str, depth: int) -> None:
    try:
        parsed = parse_datetime(value)
        if parsed.tzinfo is not None:  # what storing it does
            parsed.astimezone(datetime.timezone.utc)
    except (TypeError, ValueError, OverflowError):
        raise _invalid(path, f'must be an ISO 8601 date and time, got '
                             f'{_brief(value)}') from None


def _container_checker(python_type: type, description: str,
                       element: Any) -> Checker:
    # Items of any JSON value (a connection's connection_info): only how
    # deep the whole value nests is checked, and nulls.
    free_form = _type_checker(element._type) is _check_anything
    check_item = (_field_checker(element) if not free_form
                  else _null_checker(element.nullable))

    def check(value: Any, path: str, depth: int) -> bool:
        if not isinstance(value, python_type):
            raise _invalid(path, f'must be {description}, got '
                                 f'{_brief(value)}')
        if free_form:
            _check_nesting(value, path)
        unknown = False
        if python_type is dict:
            for key, item in value.items():
                if not isinstance(key, str):
                    raise _invalid(path, f'key {_brief(key)} is not a '
                                         f'string')
                if check_item(item, f'{path}[{key!r:.40}]', depth):
                    unknown = True
        else:
            for index, item in enumerate(value):
                if check_item(item, f'{path}[{index}]', depth):
                    unknown = True
        return unknown
    return check


def _check_anything(value: Any, path: str, depth: int) -> None:
    """Fields of any JSON value."""
    _check_nesting(value, path)


def _null_checker(nullable: bool) -> Checker:
    def check(value: Any, path: str, depth: int) -> None:
        if value is None and not nullable:
            raise _invalid(path, 'must not be null')
    return check


def _check_nesting(value: Any, path: str) -> None:
    """Free-form values nest at most ``validation.MAX_NESTING`` levels:
    deeper ones could not be serialized again."""
    try:
        validation.nesting(value, path)
    except exception.InvalidArgument as exc:
        raise _invalid(path, exc.reason) from None


# ---------------------------------------------------------------------------
# The DB shim
# ---------------------------------------------------------------------------

class Row(dict):
    """A database row as Cinder's objects read it: items and attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _row(ovo: Any) -> Row:
    optional = getattr(ovo, 'OPTIONAL_FIELDS', ())
    return Row({name: getattr(ovo, name) for name in ovo.fields
                if name not in optional and ovo.obj_attr_is_set(name)})


def _key_values(mapping: dict) -> list[dict]:
    return [{'key': k, 'value': v} for k, v in (mapping or {}).items()]


class CinderDbShim:
    """The part of Cinder's DB API that drivers and objects use.

    It answers from a persistence plugin (``persistence``: a
    ``PersistenceDriverBase``), whose objects wrap Cinder objects in
    ``_ovo``.  Functions return Cinder objects where drivers expect models,
    and ``Row`` dicts where Cinder's objects build themselves from rows.
    """

    def __init__(self, persistence: Any) -> None:
        self.persistence = persistence

    # -- helpers ------------------------------------------------------------
    def _working(self, kind: str, found: list) -> list:
        """The copies of ``found`` this process works on (plugins may
        return new copies: drivers must change the library's own)."""
        return [self.persistence.working_copy(kind, obj) for obj in found]

    def _volumes(self, **filters: Any) -> list:
        return self._working('volume', self.persistence.get_volumes(**filters))

    def _volume(self, volume_id: str) -> Any:
        found = self._volumes(volume_id=volume_id)
        if not found:
            raise exception.VolumeNotFound(volume_id=volume_id)
        return found[0]

    def _snapshots(self, **filters: Any) -> list:
        return self._working('snapshot',
                             self.persistence.get_snapshots(**filters))

    def _snapshot(self, snapshot_id: str) -> Any:
        found = self._snapshots(snapshot_id=snapshot_id)
        if not found:
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        return found[0]

    def _connections(self, **filters: Any) -> list:
        return self._working('connection',
                             self.persistence.get_connections(**filters))

    def _connection(self, attachment_id: str) -> Any:
        found = self._connections(connection_id=attachment_id)
        if not found:
            raise exception.ConnectionNotFound(filter=f'id = {attachment_id}')
        return found[0]

    def _volume_type(self, type_id: str) -> Any:
        # Each volume has a type of its own, with the volume's id.
        found = self._volumes(volume_id=type_id)
        volume_type = None
        # An unset type is not read: that would lazy-load it from here.
        if found and found[0]._ovo.obj_attr_is_set('volume_type'):
            volume_type = found[0]._ovo.volume_type
        if volume_type is None:
            cinder_exception = importlib.import_module('cinder.exception')
            raise cinder_exception.VolumeTypeNotFound(volume_type_id=type_id)
        return volume_type

    @staticmethod
    def _update(resource: Any, values: dict) -> Any:
        ovo = resource._ovo
        for name, value in values.items():
            if name in ovo.fields and (not ovo.obj_attr_is_set(name) or
                                       getattr(ovo, name) != value):
                setattr(ovo, name, value)
        resource.save()
        return ovo

    # -- rows for Cinder's objects -----------------------------------------
    def volume_row(self, ovo: Any) -> Row:
        row = _row(ovo)
        row['volume_metadata'] = _key_values(ovo.metadata)
        row['volume_admin_metadata'] = _key_values(ovo.admin_metadata)
        row['volume_glance_metadata'] = _key_values(ovo.glance_metadata)
        row['volume_type'] = (self.volume_type_row(ovo.volume_type)
                              if ovo.volume_type else None)
        row['volume_attachment'] = [self.attachment_row(a)
                                    for a in ovo.volume_attachment]
        row['consistencygroup'] = row['cluster'] = row['group'] = None
        return row

    @staticmethod
    def snapshot_row(ovo: Any) -> Row:
        row = _row(ovo)
        row['snapshot_metadata'] = _key_values(ovo.metadata)
        return row

    @staticmethod
    def attachment_row(ovo: Any) -> Row:
        from oslo_serialization import jsonutils
        row = _row(ovo)
        for name in ('connection_info', 'connector'):
            row[name] = jsonutils.dumps(row[name]) if row.get(name) else None
        return row

    def volume_type_row(self, ovo: Any) -> Row:
        row = _row(ovo)
        row['extra_specs'] = dict(ovo.extra_specs or {})
        row['projects'] = list(ovo.projects or [])
        row['qos_specs'] = (self.qos_specs_row(ovo.qos_specs)
                            if ovo.qos_specs else None)
        return row

    @staticmethod
    def qos_specs_row(ovo: Any) -> Row:
        return _row(ovo)

    def get_by_id(self, context: Any, model: Any, id: str, *args: Any,
                  **kwargs: Any) -> Row:
        name = getattr(model, '__name__', str(model))
        if name == 'Volume':
            return self.volume_row(self._volume(id)._ovo)
        if name == 'Snapshot':
            return self.snapshot_row(self._snapshot(id)._ovo)
        if name == 'VolumeAttachment':
            return self.attachment_row(self._connection(id)._ovo)
        if name == 'VolumeType':
            return self.volume_type_row(self._volume_type(id))
        if name == 'QualityOfServiceSpecs':
            return self.qos_specs_get(context, id)
        raise NotImplementedError(f'cinderlib does not store {name} objects')

    def resource_exists(self, context: Any, model: Any, resource_id: str):
        try:
            self.get_by_id(context, model, resource_id)
        except (exception.NotFound, NotImplementedError):
            return False
        return True

    # -- volumes --------------------------------------------------------------
    def volume_get(self, context: Any, volume_id: str) -> Any:
        return self._volume(volume_id)._ovo

    def volume_get_all_by_host(self, context: Any, host: str,
                               filters: Optional[dict] = None) -> list:
        from cinder.volume import volume_utils
        result = []
        for volume in self._volumes():
            if volume_utils.hosts_are_equivalent(
                    volume_utils.extract_host(volume._ovo.host), host) and (
                    not filters or all(volume._ovo.get(k) == v
                                       for k, v in filters.items())):
                result.append(volume._ovo)
        return result

    def volume_update(self, context: Any, volume_id: str,
                      values: dict) -> Any:
        return self._update(self._volume(volume_id), values)

    def volume_metadata_get(self, context: Any, volume_id: str) -> dict:
        return dict(self._volume(volume_id)._ovo.metadata)

    def volume_metadata_update(self, context: Any, volume_id: str,
                               metadata: dict, delete: bool,
                               *args: Any, **kwargs: Any) -> dict:
        return self._update_mapping(self._volume(volume_id), 'metadata',
                                    metadata, delete)

    def volume_metadata_delete(self, context: Any, volume_id: str, key: str,
                               *args: Any, **kwargs: Any) -> None:
        self._delete_key(self._volume(volume_id), 'metadata', key)

    def volume_admin_metadata_get(self, context: Any, volume_id: str) -> dict:
        return dict(self._volume(volume_id)._ovo.admin_metadata)

    def volume_admin_metadata_update(self, context: Any, volume_id: str,
                                     metadata: dict, delete: bool,
                                     add: bool = True,
                                     update: bool = True) -> dict:
        volume = self._volume(volume_id)
        current = volume._ovo.admin_metadata
        wanted = {k: v for k, v in metadata.items()
                  if (add or k in current) and (update or k not in current)}
        return self._update_mapping(volume, 'admin_metadata', wanted, delete)

    def volume_admin_metadata_delete(self, context: Any, volume_id: str,
                                     key: str) -> None:
        self._delete_key(self._volume(volume_id), 'admin_metadata', key)

    def volume_glance_metadata_get(self, context: Any, volume_id: str):
        cinder_exception = importlib.import_module('cinder.exception')
        raise cinder_exception.GlanceMetadataNotFound(id=volume_id)

    def volume_encryption_metadata_get(self, context: Any,
                                       volume_id: str) -> dict:
        return {'encryption_key_id':
                self._volume(volume_id)._ovo.encryption_key_id}

    def image_volume_cache_get_by_volume_id(self, context: Any,
                                            volume_id: str) -> None:
        return None

    @staticmethod
    def _update_mapping(resource: Any, field: str, values: dict,
                        delete: bool) -> dict:
        ovo = resource._ovo
        merged = {} if delete else dict(getattr(ovo, field))
        merged.update({k: str(v) for k, v in values.items()})
        setattr(ovo, field, merged)
        resource.save()
        return dict(merged)

    @staticmethod
    def _delete_key(resource: Any, field: str, key: str) -> None:
        mapping = dict(getattr(resource._ovo, field))
        mapping.pop(key, None)
        setattr(resource._ovo, field, mapping)
        resource.save()

    # -- snapshots ------------------------------------------------------------
    def snapshot_get(self, context: Any, snapshot_id: str) -> Any:
        return self._snapshot(snapshot_id)._ovo

    def snapshot_update(self, context: Any, snapshot_id: str,
                        values: dict) -> Any:
        return self._update(self._snapshot(snapshot_id), values)

    def snapshot_get_all_for_volume(self, context: Any,
                                    volume_id: str) -> list[Row]:
        return [self.snapshot_row(s._ovo) for s in
                self._snapshots(volume_id=volume_id)]

    def snapshot_metadata_update(self, context: Any, snapshot_id: str,
                                 metadata: dict, delete: bool) -> dict:
        return self._update_mapping(self._snapshot(snapshot_id), 'metadata',
                                    metadata, delete)

    def snapshot_metadata_delete(self, context: Any, snapshot_id: str,
                                 key: str) -> None:
        self._delete_key(self._snapshot(snapshot_id), 'metadata', key)

    # -- volume types and QoS -------------------------------------------------
    def volume_type_get(self, context: Any, id: str, inactive: bool = False,
                        expected_fields: Optional[Iterable[str]] = None):
        row = self.volume_type_row(self._volume_type(id))
        if not expected_fields or 'qos_specs' not in expected_fields:
            row.pop('qos_specs')
        return row

    def volume_type_get_by_name(self, context: Any, name: str) -> Row:
        return self.volume_type_get(context, name)

    def volume_type_extra_specs_get(self, context: Any, type_id: str):
        return dict(self._volume_type(type_id).extra_specs or {})

    def volume_type_qos_specs_get(self, context: Any, type_id: str) -> dict:
        qos = self._volume_type(type_id).qos_specs
        if qos is None:
            return {'qos_specs': None}
        return {'qos_specs': {'id': qos.id, 'name': qos.name,
                              'consumer': qos.consumer,
                              'specs': dict(qos.specs or {})}}

    def qos_specs_get(self, context: Any, qos_specs_id: str, *args: Any):
        qos = self._volume_type(qos_specs_id).qos_specs
        if qos is None:
            cinder_exception = importlib.import_module('cinder.exception')
            raise cinder_exception.QoSSpecsNotFound(specs_id=qos_specs_id)
        return self.qos_specs_row(qos)

    def volume_type_access_get_all(self, context: Any, type_id: str):
        return []

    def qos_specs_associations_get(self, context: Any, qos_specs_id: str):
        return []

    def project_default_volume_type_get(self, context: Any,
                                        project_id: Any = None) -> None:
        return None

    # -- attachments ----------------------------------------------------------
    def volume_attachment_get(self, context: Any, attachment_id: str) -> Any:
        return self._connection(attachment_id)._ovo

    def volume_attachment_get_all_by_volume_id(self, context: Any,
                                               volume_id: str) -> list[Row]:
        return [self.attachment_row(c._ovo) for c in
                self._connections(volume_id=volume_id)]

    def volume_attachment_update(self, context: Any, attachment_id: str,
                                 values: dict) -> Any:
        return self._update(self._connection(attachment_id), values)

    def attachment_specs_get(self, context: Any, attachment_id: str) -> dict:
        return {}

    # -- services -------------------------------------------------------------
    def is_backend_frozen(self, context: Any, host: str,
                          cluster_name: Optional[str]) -> bool:
        return False


SHIM_FUNCTIONS = tuple(
    name for name, value in vars(CinderDbShim).items()
    if callable(value) and not name.startswith('_') and
    not name.endswith('_row'))

_active_shim: Callable[[], Any] = lambda: None  # noqa: E731
_installed = False


def install_db_api(current_shim: Callable[[], CinderDbShim]) -> None:
    """Route Cinder's DB API calls to ``current_shim()``; idempotent."""
    global _active_shim, _installed
    load()
    _active_shim = current_shim
    if _installed:
        return
    for module, names in db_api_namespaces():
        for name in names:
            setattr(module, name, _dispatcher(name))
    _installed = True


def db_api_namespaces() -> list[tuple[Any, tuple[str, ...]]]:
    """The modules through which Cinder calls its DB API, each with the
    ``SHIM_FUNCTIONS`` to route there.

    Cinder 29's objects call ``cinder.db.api``'s functions.  Up to
    Cinder 28 they call them through the ``cinder.db`` package, which
    copies them (``from cinder.db.api import *``), and ``cinder.db.api``'s
    functions forward to ``IMPL`` (``cinder.db.sqlalchemy.api``); so the
    package gets its copies routed too.
    """
    db_api = importlib.import_module('cinder.db.api')
    namespaces = [(db_api, SHIM_FUNCTIONS)]
    package = importlib.import_module('cinder.db')
    copied = tuple(name for name in SHIM_FUNCTIONS
                   if getattr(package, name, None) is not None)
    if package is not db_api and copied:
        namespaces.append((package, copied))
    return namespaces


def _dispatcher(name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(_active_shim(), name)(*args, **kwargs)
    call.__name__ = name
    return call


# ---------------------------------------------------------------------------
# Driver listing
# ---------------------------------------------------------------------------

def list_supported_drivers_in_this_process(output_version: int) -> dict:
    """Every driver class of the installed Cinder, described as the retired
    library did; imports every driver module (run it in a throw-away
    process).

    Each entry holds the attributes of Cinder's ``DriverInfo`` but the class
    itself; each option holds the option's public attributes, as strings
    with ``output_version`` 1.  With 2 they keep their types, and ``type``
    is the attributes of the option's type plus ``type_class``, the type
    itself.
    """
    import pkgutil
    load()
    from cinder import interface
    from cinder.interface import util
    drivers_pkg = importlib.import_module('cinder.volume.drivers')
    for module_info in pkgutil.walk_packages(drivers_pkg.__path__,
                                             drivers_pkg.__name__ + '.',
                                             onerror=lambda name: None):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                importlib.import_module(module_info.name)
        except Exception as exc:  # a driver's optional dependency missing
            LOG.debug('Skipping %s: %s', module_info.name, exc)
    result = {}
    for driver_class in interface._volume_register:
        info = vars(util.DriverInfo(driver_class))
        info.pop('cls', None)
        options = list(info.get('driver_options') or [])
        for name, help_text in _listed_missing_options(driver_class):
            ours = _string_option(name, help_text)
            # In place of a declaration Cinder may keep (deprecated).
            dests = [opt.dest for opt in options]
            if name in dests:
                options[dests.index(name)] = ours
            else:
                options.append(ours)
        info['driver_options'] = [_describe_option(opt, output_version)
                                  for opt in options]
        result[info['class_name']] = info
    return result


def _listed_missing_options(driver_class: type) -> list[tuple[str, str]]:
    """The options of ``_UNREGISTERED_DRIVER_OPTIONS`` this driver reads:
    the listing shows them because the library accepts them."""
    rbd = importlib.import_module('cinder.volume.drivers.rbd')
    if issubclass(driver_class, rbd.RBDDriver):
        return [option for option in _UNREGISTERED_DRIVER_OPTIONS
                if option[0] == 'rbd_keyring_conf']
    return []


def _string_option(name: str, help_text: str) -> Any:
    from oslo_config import cfg
    return cfg.StrOpt(name, help=help_text)


def _public_attributes(obj: Any) -> dict[str, Any]:
    return {key: value for key, value in vars(obj).items()
            if not key.startswith('_')}


def _describe_option(opt: Any, output_version: int) -> dict[str, Any]:
    described = _public_attributes(opt)
    if output_version == 1:
        return {key: str(value) for key, value in described.items()}
    option_type = described.get('type')
    if option_type is not None:
        described['type'] = {**_public_attributes(option_type),
                             'type_class': option_type}
    return described
