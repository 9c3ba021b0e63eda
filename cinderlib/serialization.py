"""Loading what ``json``/``jsons``/``dump``/``dumps`` produce.

``load`` works in two steps: it builds and checks every object of its
input first, and only then, with ``save=True``, stores them all with one
``set_objects`` call of the persistence plugin, which stores all or none.
So bad input raises before anything is stored.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, cast

from cinderlib import cinder_glue
from cinderlib import exception
from cinderlib import validation

# How deep lists of serialized objects may nest in load's input.
_MAX_LIST_DEPTH = 8
# The longest status a plugin stores (the db plugin's column).
_MAX_STATUS_LENGTH = 36

if TYPE_CHECKING:
    from cinderlib.backend import Backend
    from cinderlib.objects import Connection, Snapshot, Volume
    from cinderlib.objects.base import Resource

# A snapshot or connection class: what ``_load_child`` loads.
_Child = TypeVar('_Child', 'Snapshot', 'Connection')


class UnloadedBackend:
    """Stands for a backend that is not loaded (``fail_on_missing_backend``
    is False): it knows its name, configuration and the request context,
    and nothing else."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.id: str = config['volume_backend_name']
        self.config = config

    def __getattr__(self, name: str) -> Any:
        if name.startswith('_'):
            raise AttributeError(name)
        raise exception.BackendNotLoaded(self.id)

    @property
    def context(self) -> Any:
        """The request context of the global settings: connections of an
        unloaded backend's volumes can still be recorded and attached on
        a host that has no driver for it (a CSI node)."""
        return _context()

    def __repr__(self) -> str:
        return f'<UnloadedBackend {self.id}>'


def load(json_src: Any, save: bool = False) -> Any:
    """Objects from a JSON string, a dict or a list of them.

    ``save=True`` also writes every loaded object to persistence: all of
    them, or none when the input holds anything invalid.
    """
    data = _decode(json_src)
    loaded: list[Any] = []
    result = _build(data, loaded, 0)
    if save and loaded:
        from cinderlib.objects import base
        base.persistence().set_objects(loaded)
    return result


def _decode(json_src: Any) -> Any:
    """``json_src`` as JSON data.  Python data is copied through JSON, so
    the objects loaded share nothing with the caller's data and hold
    nothing JSON cannot."""
    try:
        if isinstance(json_src, (str, bytes, bytearray)):
            return json.loads(json_src)
        return json.loads(json.dumps(json_src))
    except RecursionError:
        raise exception.InvalidSerializedData(
            'the data nests too deeply') from None
    except (TypeError, ValueError) as exc:
        raise exception.InvalidSerializedData(
            f'not valid JSON: {exc}') from None


def _build(data: Any, loaded: list[Any], depth: int) -> Any:
    """The object ``data`` describes (a list for a list); each object to
    store is appended to ``loaded``."""
    if isinstance(data, list):
        if depth >= _MAX_LIST_DEPTH:
            raise exception.InvalidSerializedData('lists nest too deeply')
        return [_build(item, loaded, depth + 1) for item in data]
    if not isinstance(data, dict):
        raise exception.InvalidSerializedData(
            f'expected a JSON object or list, got {type(data).__name__}')
    name = data.get('class')
    loader = _LOADERS.get(name) if isinstance(name, str) else None
    if loader is None:
        raise exception.InvalidSerializedData(
            f'unknown "class" {name!r:.60}; expected one of '
            f'{", ".join(sorted(_LOADERS))}')
    return loader(data, loaded)


def backend_for(config: Any) -> Backend | UnloadedBackend:
    """The live backend a serialized ``backend`` entry names."""
    from cinderlib.backend import Backend
    if not isinstance(config, dict) or not isinstance(
            config.get('volume_backend_name'), str):
        raise exception.InvalidSerializedData(
            f'"backend" must be a dict with a volume_backend_name, got '
            f'{config!r:.200}')
    try:
        validation.nesting(config, 'backend')
    except exception.CinderlibError as exc:
        raise exception.InvalidSerializedData(str(exc)) from None
    name = config['volume_backend_name']
    backend = Backend.backends.get(name)
    if backend is not None:
        return backend
    try:
        cinder_glue.check_backend_name(name)
    except exception.CinderlibError as exc:
        raise exception.InvalidSerializedData(str(exc)) from None
    if Backend.global_options().fail_on_missing_backend:
        raise exception.BackendNotLoaded(name)
    return UnloadedBackend(config)


def backend_or_placeholder(name: str) -> Backend | UnloadedBackend:
    """The live backend called ``name``, or an ``UnloadedBackend`` (for
    persistence plugins rebuilding stored objects: never raises)."""
    from cinderlib.backend import Backend
    backend = Backend.backends.get(name)
    return backend if backend is not None else UnloadedBackend(
        {'volume_backend_name': name})


def _context() -> Any:
    from cinderlib.backend import Backend
    options = Backend.global_options()
    return cinder_glue.make_context(options.user_id, options.project_id)


def _ovo(data: dict[str, Any], expected: str) -> Any:
    """The checked Cinder object of a serialized object."""
    primitive = data['ovo']
    upgrade_retired_format(primitive, expected)
    check_primitive(primitive, expected)
    return cinder_glue.from_primitive(primitive, _context())


# -- what Cinder's field types let through -----------------------------------
def check_primitive(primitive: Any, expected: str) -> bool:
    """Raise ``InvalidSerializedData`` unless ``primitive`` is a Cinder
    ``expected`` (``Volume``, ``Snapshot``, ``VolumeAttachment``) that
    cinderlib can work with: fields of the right types
    (``cinder_glue.check_primitive``), and the ones cinderlib relies on
    present and sound.  The ``db`` plugin checks its rows with it too.
    Returns False if it has keys that are not fields (they are ignored)
    or lacks fields that are filled in (``cinder_glue.check_primitive``).
    """
    exact = cinder_glue.check_primitive(primitive, expected)
    _SOUND[expected](primitive[_DATA], 'serialized ' + _CLASSES[expected])
    return exact


_DATA = 'versioned_object.data'
_CLASSES = {'Volume': 'Volume', 'Snapshot': 'Snapshot',
            'VolumeAttachment': 'Connection'}


def _invalid(what: str, reason: str) -> Exception:
    return exception.InvalidSerializedData(f'{what}: {reason}')


def _check_id(data: dict[str, Any], field: str, what: str) -> str:
    value = data.get(field)
    if value is None:
        raise _invalid(what, f'has no {field}')
    try:
        # Any usable id: a process without non_uuid_ids still reads the
        # objects of one with it.
        validation.resource_id(value, True, field)
    except exception.CinderlibError as exc:
        raise _invalid(what, str(exc)) from None
    return cast(str, value)  # resource_id checked it is a str


def _check_text(data: dict[str, Any], field: str, what: str,
                required: bool = False,
                max_length: int = validation.MAX_NAME_LENGTH) -> None:
    value = data.get(field)
    if value is None and required:
        raise _invalid(what, f'has no {field}')
    try:
        validation.text(value, field, max_length)
    except exception.CinderlibError as exc:
        raise _invalid(what, str(exc)) from None


def _check_size(data: dict[str, Any], field: str, what: str) -> None:
    try:
        validation.size(data.get(field), field)
    except exception.CinderlibError as exc:
        raise _invalid(what, str(exc)) from None


def _sound_volume(data: dict[str, Any], what: str) -> None:
    volume_id = _check_id(data, 'id', what)
    what = f'{what} {volume_id}'
    _check_size(data, 'size', what)
    _check_text(data, 'host', what, required=True)
    _check_text(data, 'status', what, required=True,
                max_length=_MAX_STATUS_LENGTH)
    _check_text(data, 'display_name', what)
    _check_text(data, 'display_description', what, max_length=65535)
    for field in validation.STORAGE_NAME_FIELDS:
        if data.get(field) is not None:
            try:
                validation.storage_name_field(data[field], field)
            except exception.CinderlibError as exc:
                raise _invalid(what, str(exc)) from None
    for field in ('metadata', 'admin_metadata', 'glance_metadata'):
        if field in data and data[field] is None:  # Cinder iterates them
            raise _invalid(what, f'its {field} is null')
    # A volume has a type of its own, of the volume's id, or none.
    type_id = data.get('volume_type_id')
    volume_type = data.get('volume_type')
    own_id = None if volume_type is None else volume_type[_DATA]['id']
    if {type_id, own_id} not in ({None}, {volume_id}):
        raise _invalid(what, f'its volume_type_id is {type_id!r}, its '
                             f'volume_type\'s id {own_id!r}: both must be '
                             f'its id, or null')
    for field, sound, kind in (('snapshots', _sound_snapshot, 'snapshot'),
                               ('volume_attachment', _sound_connection,
                                'connection')):
        if data.get(field) is None:
            continue
        items = data[field][_DATA].get('objects')
        if items is None:
            raise _invalid(what, f'its {field} list has no "objects"')
        seen = set()
        for item in items:
            item_data = item[_DATA]
            sound(item_data, f'{what}: its {kind}', volume=False)
            if item_data['volume_id'] != volume_id:
                raise _invalid(what, f'its {kind} {item_data["id"]} '
                                     f'belongs to volume '
                                     f'{item_data["volume_id"]}')
            if item_data['id'] in seen:
                raise _invalid(what, f'lists {kind} {item_data["id"]} '
                                     f'twice')
            seen.add(item_data['id'])


def _sound_child(data: dict[str, Any], what: str, volume: bool) -> str:
    """Checks a snapshot and a connection share; returns ``what`` with
    the id."""
    what = f'{what} {_check_id(data, "id", what)}'
    volume_id = _check_id(data, 'volume_id', what)
    if volume and data.get('volume') is not None:
        volume_data = data['volume'][_DATA]
        _sound_volume(volume_data, f'{what}: its volume')
        if volume_data['id'] != volume_id:
            raise _invalid(what, f'holds volume {volume_data["id"]}, not '
                                 f'its volume {volume_id}')
    return what


def _sound_snapshot(data: dict[str, Any], what: str,
                    volume: bool = True) -> None:
    what = _sound_child(data, what, volume)
    _check_size(data, 'volume_size', what)
    _check_text(data, 'status', what, required=True,
                max_length=_MAX_STATUS_LENGTH)
    _check_text(data, 'display_name', what)
    _check_text(data, 'display_description', what, max_length=65535)


def _sound_connection(data: dict[str, Any], what: str,
                      volume: bool = True) -> None:
    what = _sound_child(data, what, volume)
    _check_text(data, 'attached_host', what)
    _check_text(data, 'attach_status', what, required=True,
                max_length=_MAX_STATUS_LENGTH)
    info = data.get('connection_info')
    if not isinstance(info, dict):
        raise _invalid(what, 'has no connection_info')
    for key in ('conn', 'connector', 'device'):
        if not isinstance(info.get(key), (dict, type(None))):
            raise _invalid(what, f'connection_info[{key!r}] must be a '
                                 f'dict or null')
    if not isinstance((info.get('conn') or {}).get('data', {}), dict):
        raise _invalid(what, "connection_info['conn']['data'] must be a "
                             "dict")


_SOUND = {'Volume': _sound_volume, 'Snapshot': _sound_snapshot,
          'VolumeAttachment': _sound_connection}


# -- what the retired cinderlib 5.x wrote -------------------------------------
# Its JSON loads as it is, except for shapes this library never writes,
# which are brought to this library's own form before the checks above
# (they stay as strict as for this library's own data):
#
# - a connection's ``attach_status`` is null (5.x never set it): the
#   connection is ``attached`` (``detached`` if it is deleted);
# - a volume has no type (5.x's ``memory`` plugin left volumes created
#   without specs without one), or only the id of another (the ``db``
#   plugin's clones and volumes from snapshots of such volumes), or
#   Cinder's default type (the ``db`` plugin gave it to volumes created
#   without specs): the volume gets a type of its own, as this library
#   gives every volume, without specs or with the default type's;
# - a snapshot's ``volume_type_id`` is null or names another type (as its
#   volume's was): it becomes its volume's id, its volume's own type;
# - an ``in-use`` volume's ``attach_status`` is ``detached`` (5.x never
#   changed it): ``attached``.
_DEFAULT_TYPE_NAME = '__DEFAULT__'


def upgrade_retired_format(primitive: Any, expected: str) -> None:
    """Bring the shapes the retired library wrote (above) to this
    library's format, in place.  Anything else, valid or not, is left as
    it is for ``check_primitive`` to judge."""
    data = _data_of(primitive)
    if data is None:
        return
    if expected == 'Volume':
        _upgrade_volume(data)
        return
    volume = _data_of(data.get('volume'))
    if volume is not None:
        _upgrade_volume(volume)
    if expected == 'Snapshot':
        _upgrade_snapshot(data)
    elif expected == 'VolumeAttachment':
        _upgrade_connection(data)


def _data_of(primitive: Any) -> Optional[dict[str, Any]]:
    if isinstance(primitive, dict):
        data = primitive.get(_DATA)
        if isinstance(data, dict):
            return data
    return None


def _upgrade_volume(data: dict[str, Any]) -> None:
    try:
        volume_id = validation.resource_id(data.get('id'), True)
    except exception.CinderlibError:
        return  # refused by the checks
    _upgrade_volume_type(data, volume_id)
    if data.get('status') == 'in-use' and (
            data.get('attach_status') == 'detached'):
        data['attach_status'] = 'attached'
    for field, upgrade in (('snapshots', _upgrade_snapshot),
                           ('volume_attachment', _upgrade_connection)):
        items = (_data_of(data.get(field)) or {}).get('objects')
        for item in items if isinstance(items, list) else ():
            item_data = _data_of(item)
            if item_data is not None:
                upgrade(item_data)


def _upgrade_volume_type(data: dict[str, Any], volume_id: str) -> None:
    type_id = data.get('volume_type_id')
    if type_id == volume_id or 'volume_type' not in data or not (
            type_id is None or isinstance(type_id, str)):
        return
    specs: dict[str, Any] = {}
    qos_specs = None
    if data['volume_type'] is not None:
        type_data = _data_of(data['volume_type'])
        if (type_data is None or type_data.get('id') != type_id or
                type_data.get('name') != _DEFAULT_TYPE_NAME):
            return
        specs = type_data.get('extra_specs') or {}
        qos_data = _data_of(type_data.get('qos_specs'))
        if qos_data is not None:
            qos_specs = qos_data.get('specs')
            if not _plain_strings(qos_specs, nullable=True):
                return
        elif type_data.get('qos_specs_id') is not None:
            return  # specs not serialized: unknown
        if not _plain_strings(specs, nullable=True):
            return
    volume_type = cinder_glue.new_volume_type(_context(), volume_id, specs,
                                              qos_specs)
    data['volume_type'] = cinder_glue.to_primitive(volume_type)
    data['volume_type_id'] = volume_id


def _plain_strings(value: Any, nullable: bool) -> bool:
    """Whether ``value`` is a dict of strings (or nulls)."""
    return isinstance(value, dict) and all(
        isinstance(key, str) and (isinstance(item, str) or (
            nullable and item is None)) for key, item in value.items())


def _upgrade_snapshot(data: dict[str, Any]) -> None:
    volume_id = data.get('volume_id')
    type_id = data.get('volume_type_id')
    if isinstance(volume_id, str) and (type_id is None or isinstance(
            type_id, str)):
        data['volume_type_id'] = volume_id


def _upgrade_connection(data: dict[str, Any]) -> None:
    if 'attach_status' in data and data['attach_status'] is None:
        data['attach_status'] = ('detached' if data.get('deleted') is True
                                 else 'attached')


def _complete_volume(ovo: Any) -> None:
    """Values for the fields a serialized volume may leave out."""
    for name in ('metadata', 'admin_metadata', 'glance_metadata'):
        if not ovo.obj_attr_is_set(name):
            setattr(ovo, name, {})
    if not ovo.obj_attr_is_set('volume_type'):
        ovo.volume_type = None  # volume_type_id is None too
    elif ovo.volume_type is not None:
        cinder_glue.fill_unset_fields(ovo.volume_type)
        qos = ovo.volume_type.get('qos_specs', None)
        if qos is not None:
            cinder_glue.fill_unset_fields(qos)
    cinder_glue.fill_unset_fields(ovo)


def _complete_child(ovo: Any) -> None:
    if 'metadata' in ovo.fields and not ovo.obj_attr_is_set('metadata'):
        ovo.metadata = {}
    cinder_glue.fill_unset_fields(ovo)


def _check_class(cls: type[Resource], data: Any) -> Any:
    """The ``backend`` entry of a serialized ``cls``."""
    cls._check_class(data)
    return data['backend']


# -- loaders ------------------------------------------------------------------
def load_volume(data: dict[str, Any],
                loaded: Optional[list[Any]] = None) -> Volume:
    from cinderlib.objects import Connection, Snapshot, Volume
    backend_config = _check_class(Volume, data)
    ovo = _ovo(data, 'Volume')
    backend = backend_for(backend_config)
    # Snapshots and attachments left out (simplified form) load lazily
    # from persistence.  The Cinder object must not hold its snapshots
    # (see cinder_glue.new_volume).
    snapshot_ovos = _take_list(ovo, 'snapshots')
    attachment_ovos = _take_list(ovo, 'volume_attachment')
    _complete_volume(ovo)
    for child in (snapshot_ovos or []) + (attachment_ovos or []):
        cinder_glue.forget_field(child, 'volume')  # no copy of the volume
        _complete_child(child)
    ovo.volume_attachment = getattr(
        cinder_glue.objects_module(), 'VolumeAttachmentList')(
            objects=attachment_ovos or [])
    cinder_glue.reset_changes(ovo)
    volume = Volume._from_ovo(backend, ovo)
    if snapshot_ovos is not None:
        volume._snapshots = [Snapshot._from_ovo(backend, s, volume)
                             for s in snapshot_ovos]
    if attachment_ovos is not None:
        volume._connections = [Connection._from_ovo(backend, c, volume)
                               for c in attachment_ovos]
    if loaded is not None:
        loaded.append(volume)
        loaded.extend(volume._snapshots or [])
        loaded.extend(volume._connections or [])
    return volume


def _take_list(ovo: Any, name: str) -> Optional[list[Any]]:
    """The objects of a serialized list field (None if it was left out),
    leaving the field unset."""
    if not ovo.obj_attr_is_set(name):
        return None
    value = getattr(ovo, name)
    items = list(value) if value is not None else []
    cinder_glue.forget_field(ovo, name)
    return items


def _load_child(cls: type[_Child], ovo_name: str
                ) -> Callable[[dict[str, Any], Optional[list[Any]]], _Child]:
    def loader(data: dict[str, Any],
               loaded: Optional[list[Any]] = None) -> _Child:
        backend_config = _check_class(cls, data)
        ovo = _ovo(data, ovo_name)
        backend = backend_for(backend_config)
        volume = None
        if ovo.obj_attr_is_set('volume') and ovo.volume is not None:
            from cinderlib.objects import Volume
            volume_ovo = ovo.volume
            # Its own lists are not part of the serialized child.
            _take_list(volume_ovo, 'snapshots')
            _take_list(volume_ovo, 'volume_attachment')
            _complete_volume(volume_ovo)
            volume_ovo.volume_attachment = getattr(
                cinder_glue.objects_module(), 'VolumeAttachmentList')(
                    objects=[])
            cinder_glue.reset_changes(volume_ovo)
            volume = Volume._from_ovo(backend, volume_ovo)
        cinder_glue.forget_field(ovo, 'volume')  # _from_ovo binds it
        _complete_child(ovo)
        cinder_glue.reset_changes(ovo)
        obj = cls._from_ovo(backend, ovo, volume)
        if loaded is not None:
            loaded.append(obj)
        return obj
    return loader


def load_backend(data: dict[str, Any], loaded: Optional[list[Any]] = None
                 ) -> Backend | UnloadedBackend:
    volumes = data.get('volumes')
    if not isinstance(volumes, list):
        raise exception.InvalidSerializedData(
            'serialized Backend has no "volumes" list')
    backend = backend_for(data.get('backend'))
    for volume_data in volumes:
        volume = load_volume(volume_data, loaded)
        if volume.backend_name != backend.id:
            raise exception.InvalidSerializedData(
                f'serialized Backend {backend.id!r} holds volume '
                f'{volume.id} of backend {volume.backend_name!r}')
    return backend


def _snapshot_loader(data: dict[str, Any],
                     loaded: Optional[list[Any]] = None) -> Snapshot:
    from cinderlib.objects import Snapshot
    return _load_child(Snapshot, 'Snapshot')(data, loaded)


def _connection_loader(data: dict[str, Any],
                       loaded: Optional[list[Any]] = None) -> Connection:
    from cinderlib.objects import Connection
    return _load_child(Connection, 'VolumeAttachment')(data, loaded)


# Looked up with whatever "class" the data holds.
_LOADERS: dict[str, Callable[[dict[str, Any], Optional[list[Any]]], Any]] = {
    'Volume': load_volume, 'Snapshot': _snapshot_loader,
    'Connection': _connection_loader, 'Backend': load_backend}
