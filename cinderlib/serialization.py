"""Loading what ``json``/``jsons``/``dump``/``dumps`` produce.

``load`` works in two steps: it checks every object of its input first,
and only then, with ``save=True``, stores them all with one
``set_objects`` call of the persistence plugin, which stores all or none.
So bad input raises before anything is stored.  The Cinder objects are
built from the checked input when first used (see ``_Group``).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional, TypeVar

from cinderlib import _runtime
from cinderlib import exception
from cinderlib import jsontext
from cinderlib import validation
from cinderlib._runtime import AnyBackend, UnloadedBackend
from cinderlib.cinder import config as cinder_config
from cinderlib.cinder import ovo as cinder_ovo
from cinderlib.cinder import primitives
from cinderlib.cinder.primitives import Primitive
from cinderlib.objects import Connection, Snapshot, Volume
from cinderlib.objects import base
from cinderlib.objects.base import Resource
from cinderlib.states import AttachStatus, Status

# How deep lists of serialized objects may nest in load's input.
_MAX_LIST_DEPTH = 8

# A snapshot or connection class: what ``_load_child`` loads.
_Child = TypeVar('_Child', 'Snapshot', 'Connection')


def load(json_src: Any, save: bool = False) -> Any:
    """Objects from a JSON string, a dict or a list of them.

    ``save=True`` also writes every loaded object to persistence: all of
    them, or none when the input holds anything invalid.  The input is
    checked here; the Cinder objects are built when first used.
    """
    data = _decode(json_src)
    loaded: list[Any] = []
    result = _build(data, loaded, 0)
    if save and loaded:
        base.persistence().set_objects(loaded)
    return result


def _decode(json_src: Any) -> Any:
    """``json_src`` as JSON data.  Python data is copied through JSON, so
    the objects loaded share nothing with the caller's data and hold
    nothing JSON cannot."""
    try:
        if isinstance(json_src, (str, bytes, bytearray)):
            return jsontext.loads(json_src)
        return jsontext.loads(json.dumps(json_src))
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


def backend_for(config: Any) -> AnyBackend:
    """The live backend a serialized ``backend`` entry names."""
    if not isinstance(config, dict) or not isinstance(
            config.get('volume_backend_name'), str):
        raise exception.InvalidSerializedData(
            f'"backend" must be a dict with a volume_backend_name, got '
            f'{config!r:.200}')
    name = config['volume_backend_name']
    backend = _runtime.backends.get(name)
    if backend is not None:
        return backend  # the rest of the entry is not read
    try:
        validation.nesting(config, 'backend')
    except exception.CinderlibError as exc:
        raise exception.InvalidSerializedData(str(exc)) from None
    try:
        cinder_config.check_backend_name(name)
    except exception.CinderlibError as exc:
        raise exception.InvalidSerializedData(str(exc)) from None
    if _runtime.options().fail_on_missing_backend:
        raise exception.BackendNotLoaded(name)
    return UnloadedBackend(config)


backend_or_placeholder = _runtime.backend_or_placeholder


def _checked(data: dict[str, Any], expected: str) -> Primitive:
    """The checked primitive of a serialized object (its ``ovo``)."""
    primitive: Primitive = data['ovo']  # a dict: checked below
    upgrade_retired_format(primitive, expected)
    primitives.check_primitive(primitive, expected)
    return primitive


# -- what the retired cinderlib 5.x wrote -------------------------------------
# Its JSON loads as it is, except for shapes this library never writes,
# which are brought to this library's own form before the checks above
# (they stay as strict as for this library's own data):
#
# - a connection's ``attach_status`` is null (5.x never set it): the
#   connection is ``attached`` (``detached`` if it is deleted);
# - a volume has no type, null or left out (5.x's ``memory`` plugin left
#   volumes created without specs without one), or only the id of
#   another (the ``db`` plugin's clones and volumes from snapshots of
#   such volumes), or
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
        data = primitive.get(primitives.DATA)
        if isinstance(data, dict):
            return data
    return None


def _upgrade_volume(data: dict[str, Any]) -> None:
    volume_id = data.get('id')
    if type(volume_id) is not str:
        return  # refused by the checks
    if data.get('volume_type_id') != volume_id:  # else its own: as written
        _upgrade_volume_type(data, volume_id)
    if data.get('status') == Status.IN_USE and (
            data.get('attach_status') == AttachStatus.DETACHED):
        data['attach_status'] = AttachStatus.ATTACHED
    for field, upgrade in (('snapshots', _upgrade_snapshot),
                           ('volume_attachment', _upgrade_connection)):
        items = (_data_of(data.get(field)) or {}).get('objects')
        for item in items if isinstance(items, list) else ():
            item_data = _data_of(item)
            if item_data is not None:
                upgrade(item_data)


def _upgrade_volume_type(data: dict[str, Any], volume_id: str) -> None:
    type_id = data.get('volume_type_id')
    if not (type_id is None or isinstance(type_id, str)):
        return
    try:
        validation.resource_id(volume_id, True)
    except exception.CinderlibError:
        return  # refused by the checks
    if 'volume_type' not in data and type_id is not None:
        return  # the type's specs are unknown
    specs: dict[str, Any] = {}
    qos_specs = None
    if data.get('volume_type') is not None:
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
    volume_type = cinder_ovo.new_volume_type(_runtime.context(), volume_id,
                                             specs, qos_specs)
    data['volume_type'] = cinder_ovo.to_primitive(volume_type)
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
        data['attach_status'] = (AttachStatus.DETACHED
                                 if data.get('deleted') is True
                                 else AttachStatus.ATTACHED)


def _complete_volume(ovo: Any) -> None:
    """Values for the fields a serialized volume may leave out."""
    # Plain fields were filled when it was built (``_ovo``).
    cinder_ovo.complete_metadata(ovo)
    if not ovo.obj_attr_is_set('volume_type'):
        ovo.volume_type = None  # volume_type_id is None too


def _check_class(cls: type[Resource], data: Any) -> Any:
    """The ``backend`` entry of a serialized ``cls``."""
    cls._check_class(data)
    return data['backend']


# -- loaders ------------------------------------------------------------------
# A loaded object is built lazily: load() checks its input, and the Cinder
# objects are built when one of them is first used (most of load()'s time
# when it built them at once), all those of one serialized object together,
# as load() built them (``_build_volume``, ``_build_child``).
class _Group:
    """The objects one serialized object holds (a volume with its
    snapshots and connections; a snapshot or connection with its volume),
    whose Cinder objects are built together on the first use of any."""

    __slots__ = ('_build', '_primitive', 'members')

    def __init__(self, build: Callable[[Primitive, Any], list[Any]],
                 primitive: Primitive) -> None:
        # The Cinder objects of the members, in their order, from the
        # primitive and a request context; None once built.
        self._build: Optional[Callable[[Primitive, Any], list[Any]]] = build
        self._primitive = primitive
        self.members: list[Resource] = []

    def build(self) -> None:
        """Build and hand out the members' Cinder objects (with
        ``base._BUILDING`` held: see ``Resource._build_ovo``)."""
        if self._build is None:
            return
        ovos = self._build(self._primitive, _runtime.context())
        # The members still to build (others took other state meanwhile:
        # refresh()), with their Cinder objects.
        built = {id(member): (member, ovo)
                 for member, ovo in zip(self.members, ovos)
                 if self._holds(member)}
        # The Cinder objects of other objects they hold (other objects'
        # may fail to build: then nothing is handed out yet).
        held = {}
        for key, (member, ovo) in built.items():
            if isinstance(member, Snapshot) and member._volume is not None:
                # What Snapshot._from_ovo does: it holds its volume's.
                held[key] = self._ovo_of(member._volume, built)
            elif isinstance(member, Volume) and (
                    member._connections is not None and
                    not ovo.volume_attachment.objects and
                    member._connections):
                # Connections read from persistence since it was loaded
                # without them: what Volume.connections then did to it
                # (the list load() gave it replaced by theirs).
                held[key] = [self._ovo_of(connection, built)
                             for connection in member._connections]
        for key, (member, ovo) in built.items():
            if isinstance(member, Snapshot) and key in held:
                ovo.volume = held[key]
            elif key in held:
                ovo.volume_attachment = cinder_ovo.new_object(
                    cinder_ovo.objects_module().VolumeAttachmentList,
                    ovo._context, {'objects': held[key]})
                ovo.obj_reset_changes(['volume_attachment'])
            # Complete before another thread can see it.
            member.__dict__['_ovo'] = ovo
            del member.__dict__['_stored']
        self.members, self._build = [], None
        del self._primitive

    @staticmethod
    def _ovo_of(obj: Resource, built: dict[int, tuple[Resource, Any]]) -> Any:
        return built[id(obj)][1] if id(obj) in built else obj._ovo

    def _holds(self, member: Resource) -> bool:
        state = member.__dict__.get('_stored')
        return isinstance(state, _Loaded) and state.group is self


class _Loaded(base.StoredState):
    """A loaded object before its Cinder object is built: its checked
    primitive (its id and volume id are read there) and its group."""

    __slots__ = ('group',)
    reusable = False  # the caller's primitive: serialized once built

    def __init__(self, primitive: Primitive, group: _Group) -> None:
        # (Not super(): one per object loaded, it is slower.)
        base.StoredState.__init__(self, primitive[primitives.DATA]['id'],
                                  '', _built_by_group)
        self._primitive = primitive
        self.group = group

    def build_into(self, resource: Resource) -> Any:
        self.group.build()
        return resource.__dict__['_ovo']


def _built_by_group(primitive: Primitive) -> Any:
    raise AssertionError('built by its group')  # build_into, not build


def load_volume(data: dict[str, Any],
                loaded: Optional[list[Any]] = None) -> Volume:
    backend_config = _check_class(Volume, data)
    primitive = _checked(data, Volume.OVO_NAME)
    backend = backend_for(backend_config)
    group = _Group(_build_volume, primitive)
    volume = Volume._from_ovo(backend, _Loaded(primitive, group))
    fields = primitive[primitives.DATA]
    # Snapshots and attachments left out (simplified form) load lazily
    # from persistence.
    snapshots = _list_items(fields, 'snapshots')
    attachments = _list_items(fields, 'volume_attachment')
    if snapshots is not None:
        volume._snapshots = [
            Snapshot._from_ovo(backend, _Loaded(item, group), volume)
            for item in snapshots]
    if attachments is not None:
        volume._connections = [
            Connection._from_ovo(backend, _Loaded(item, group), volume)
            for item in attachments]
    group.members = [volume, *(volume._snapshots or []),
                     *(volume._connections or [])]
    if loaded is not None:
        loaded.extend(group.members)
    return volume


def _list_items(fields: dict[str, Any],
                name: str) -> Optional[list[Primitive]]:
    """The primitives of the objects of a list field (None if it was
    left out), as ``_take_list`` finds them once built."""
    if name not in fields:
        return None
    value = fields[name]
    if value is None:
        return []
    items: list[Primitive] = value[primitives.DATA]['objects']  # checked
    return items


def _build_volume(primitive: Primitive, context: Any) -> list[Any]:
    """The Cinder objects of a serialized volume, its snapshots' and its
    connections', in that order."""
    ovo = cinder_ovo.trusted_from_primitive(primitive, context, fill=True)
    # The Cinder object must not hold its snapshots (see
    # cinder_ovo.new_volume).
    snapshot_ovos = _take_list(ovo, 'snapshots') or []
    attachment_ovos = _take_list(ovo, 'volume_attachment') or []
    _complete_volume(ovo)
    for child in snapshot_ovos + attachment_ovos:
        cinder_ovo.forget_field(child, 'volume')  # no copy of the volume
        cinder_ovo.complete_metadata(child)
    ovo.volume_attachment = cinder_ovo.new_object(
        cinder_ovo.objects_module().VolumeAttachmentList, ovo._context,
        {'objects': attachment_ovos})
    cinder_ovo.reset_changes(ovo)
    return [ovo, *snapshot_ovos, *attachment_ovos]


def _take_list(ovo: Any, name: str) -> Optional[list[Any]]:
    """The objects of a serialized list field (None if it was left out),
    leaving the field unset."""
    if not ovo.obj_attr_is_set(name):
        return None
    value = getattr(ovo, name)
    items = list(value) if value is not None else []
    cinder_ovo.forget_field(ovo, name)
    return items


def _load_child(cls: type[_Child]
                ) -> Callable[[dict[str, Any], Optional[list[Any]]], _Child]:
    def loader(data: dict[str, Any],
               loaded: Optional[list[Any]] = None) -> _Child:
        backend_config = _check_class(cls, data)
        primitive = _checked(data, cls.OVO_NAME)
        backend = backend_for(backend_config)
        group = _Group(_build_child, primitive)
        volume = None
        volume_primitive = primitive[primitives.DATA].get('volume')
        if volume_primitive is not None:
            volume = Volume._from_ovo(backend,
                                      _Loaded(volume_primitive, group))
            group.members.append(volume)
        obj = cls._from_ovo(backend, _Loaded(primitive, group), volume)
        group.members.append(obj)
        if loaded is not None:
            loaded.append(obj)
        return obj
    return loader


def _build_child(primitive: Primitive, context: Any) -> list[Any]:
    """The Cinder objects of a serialized snapshot or connection: its
    volume's, if it holds it, and its own."""
    ovo = cinder_ovo.trusted_from_primitive(primitive, context, fill=True)
    built = []
    if ovo.obj_attr_is_set('volume') and ovo.volume is not None:
        volume_ovo = ovo.volume
        # Its own lists are not part of the serialized child.
        _take_list(volume_ovo, 'snapshots')
        _take_list(volume_ovo, 'volume_attachment')
        _complete_volume(volume_ovo)
        volume_ovo.volume_attachment = getattr(
            cinder_ovo.objects_module(), 'VolumeAttachmentList')(objects=[])
        cinder_ovo.reset_changes(volume_ovo)
        built.append(volume_ovo)
    cinder_ovo.forget_field(ovo, 'volume')  # _from_ovo binds it
    cinder_ovo.complete_metadata(ovo)
    cinder_ovo.reset_changes(ovo)
    built.append(ovo)
    return built


def load_backend(data: dict[str, Any], loaded: Optional[list[Any]] = None
                 ) -> AnyBackend:
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
    return _load_child(Snapshot)(data, loaded)


def _connection_loader(data: dict[str, Any],
                       loaded: Optional[list[Any]] = None) -> Connection:
    return _load_child(Connection)(data, loaded)


# Looked up with whatever "class" the data holds.
_LOADERS: dict[str, Callable[[dict[str, Any], Optional[list[Any]]], Any]] = {
    'Volume': load_volume, 'Snapshot': _snapshot_loader,
    'Connection': _connection_loader, 'Backend': load_backend}

_runtime.set_loader(load)
