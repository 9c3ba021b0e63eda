"""The one validator of primitives: what ``load()`` and persistence plugins
hand back is checked here before any Cinder object is built from it.
``parse_datetime`` reads their dates and times alike on every supported
Python."""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING, Any, Callable, Collection, Optional, cast

from cinderlib import exception
from cinderlib import jsontext
from cinderlib import validation
from cinderlib.cinder.config import load

#: A Cinder versioned object (``cinder.objects.Volume``...): Cinder's
#: classes have no type information, oslo.versionedobjects' base has.
CinderObject = Any
if TYPE_CHECKING:  # imported lazily at run time: it imports oslo.config
    from oslo_versionedobjects.base import VersionedObject
    #: A Cinder versioned object class.
    ObjectClass = type[VersionedObject]
else:
    ObjectClass = type
#: What ``to_primitive`` makes of a Cinder object: a JSON-able dict.
Primitive = dict[str, Any]

# How deep objects may nest in a primitive (a volume's snapshot list's
# snapshots' volume type's QoS specs...): deeper is refused, not recursed.
_MAX_DEPTH = 8
#: The key of a primitive's fields.
DATA = 'versioned_object.data'
_VERSION_FORMAT = re.compile(r'[0-9]{1,9}\.[0-9]{1,9}')
# How trusted_from_primitive rebuilds each field's value.
_PLAIN, _DATETIME, _OBJECT, _OBJECTS = 'plain', 'datetime', 'object', 'list'


# Metadata fields (a volume's three, a snapshot's first): one left out of
# an object's data is an empty dict once the object is built.
METADATA_FIELDS = ('metadata', 'admin_metadata', 'glance_metadata')


class _ClassInfo:
    """What checking and rebuilding need to know of an object class: how
    to rebuild each field and how to check its value."""

    __slots__ = ('cls', 'namespace', 'kinds', 'allowed',
                 'checkers', 'defaults', 'filled', 'required', 'shapes',
                 'last_shape', 'versions')

    def __init__(self, cls: ObjectClass) -> None:
        # lazy: it imports oslo.config and eventlet (with Cinder)
        from oslo_versionedobjects import fields as ovo_fields
        self.cls = cls
        self.namespace: str = cls.OBJ_PROJECT_NAMESPACE
        optional = getattr(cls, 'OPTIONAL_FIELDS', ())
        # What fill_unset_fields sets (immutable values only).
        self.defaults = [
            (name, None if field.default is ovo_fields.UnspecifiedDefault
             else field.default)
            for name, field in cls.fields.items()
            if name not in optional and (
                field.nullable or
                field.default is not ovo_fields.UnspecifiedDefault)]
        # And metadata left out, which is none (ovo.complete_metadata).
        self.filled = frozenset(name for name, _ in self.defaults).union(
            name for name in METADATA_FIELDS if name in cls.fields)
        # Fields nothing can fill in (an id): a primitive must hold them.
        self.required = tuple(name for name in cls.fields
                              if name not in optional and
                              name not in self.filled)
        self.kinds: dict[str, str] = {}
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
        self.allowed: dict[str, Collection[type]] = {}
        self.checkers: list[tuple[str, bool, Checker]] = []
        for name, field in cls.fields.items():
            plain = _plain_type(field._type)
            if plain is None:
                self.allowed[name] = _JSON_TYPES
                self.checkers.append((name, field.nullable,
                                      _type_checker(field._type)))
            else:
                self.allowed[name] = (plain, type(None)) if (
                    field.nullable) else (plain,)
        # What _check_fields found of data of each shape seen (see there).
        self.shapes: dict[tuple[tuple[Any, ...], tuple[type, ...]],
                          _Shape] = {}
        self.last_shape: tuple[Any, _Shape] = (None, _NO_SHAPE)
        # The versions of this class found well-formed and of its major
        # version (_check_version).
        self.versions: set[str] = set()


_classes_by_name: dict[str, _ClassInfo] = {}


def check_primitive(primitive: Any, expected: Optional[str] = None) -> bool:
    """Raise ``InvalidSerializedData`` unless ``primitive`` is shaped as
    ``to_primitive`` writes it: an envelope naming a Cinder object class
    (``expected`` if given) and a version of its major version here (an
    older or newer minor version is this Cinder's once built, its added
    fields ignored, as ``from_primitive`` takes it), whose fields hold
    values of their types (no
    coercion: a size is an integer, not a string of digits), nested
    objects included.  When ``expected`` is ``Volume``, ``Snapshot`` or
    ``VolumeAttachment``, the fields cinderlib relies on must also be
    present and sound (``cinderlib.load`` and the persistence plugins
    check what they read with it).

    Keys that are not fields of the class are allowed (an older or newer
    Cinder may have them), and ignored when the object is built; fields
    with a default or that may be null may be left out.  The result is
    False if the primitive (or a nested one) has such keys or lacks such
    fields, or is a snapshot whose ``volume_type_id`` is not its volume's
    id (``ovo.complete_snapshot`` sets it): the object built from it
    serializes to another primitive.
    """
    exact = not _check_object(primitive, expected, '', 0)
    if expected in _SOUND:
        data = primitive[DATA]
        _SOUND[expected](data, 'serialized ' + _CLASSES[expected])
        if expected == 'Snapshot' and (
                data.get('volume_type_id') != data['volume_id']):
            exact = False  # built with its volume's type (complete_snapshot)
    return exact


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
    info = _classes_by_name.get(name) or _class_info(name, path)
    if depth > _MAX_DEPTH:
        raise _invalid(path, 'objects nest too deeply')
    namespace = primitive.get('versioned_object.namespace')
    if namespace != info.namespace:
        raise _invalid(path, f'"versioned_object.namespace" must be '
                             f'{info.namespace!r}, got {_brief(namespace)}')
    version = primitive.get('versioned_object.version')
    if type(version) is not str or version not in info.versions:
        _check_version(info, name, version, path)
    data = primitive.get(DATA)
    if not isinstance(data, dict):
        raise _invalid(path, f'"{DATA}" must be an object, got '
                             f'{_brief(data)}')
    if len(primitive) > 4:  # more than name, namespace, version and data
        changes = primitive.get('versioned_object.changes', [])
        if not isinstance(changes, list) or not all(
                isinstance(change, str) for change in changes):
            raise _invalid(path, '"versioned_object.changes" must be a '
                                 'list of field names')
        if not _ENVELOPE.issuperset(primitive):
            raise _invalid(path, f'unknown keys '
                           f'{sorted(set(primitive) - _ENVELOPE)!r:.60}')
    # The hot loop of reading rows.  What is checked of the fields but
    # for their values' own checks (``info.checkers``) depends on the data's
    # keys and its values' types alone: its shape, checked once.
    # The last shape seen is compared first (comparing tuples of the same
    # keys is cheaper than hashing them).
    shape_key = (tuple(data), tuple(map(type, data.values())))
    last_key, shape = info.last_shape
    if shape_key != last_key:
        found = info.shapes.get(shape_key)
        if found is None:
            found = _check_fields(info, data, path)
            if len(info.shapes) >= _MAX_SHAPES:
                info.shapes.clear()  # any input cannot grow it unbounded
            info.shapes[shape_key] = found
        shape = found
        info.last_shape = (shape_key, shape)
    unknown = shape.inexact
    checks = shape.placed.get(path)
    if checks is None:
        checks = shape.place(path)
    for key, check, where in checks:
        if check(data[key], where, depth):
            unknown = True
    return unknown


class _Shape:
    """What ``_check_fields`` found of data of one shape: whether it has
    keys that are not fields or lacks fields that are filled in, and the
    checks its values need (those of its fields' values that are not
    null and need more than their type checked).

    ``placed``: by the path of data of this shape, its checks with the
    paths of their values (errors name them): data of one shape is found
    at the same few paths, whose values' paths are then not put together
    again for every object.
    """

    __slots__ = ('inexact', 'checks', 'placed')

    def __init__(self, inexact: bool,
                 checks: tuple[tuple[str, Checker], ...]) -> None:
        self.inexact = inexact
        self.checks = checks
        self.placed: dict[str, tuple[tuple[str, Checker, str], ...]] = {}

    def place(self, path: str) -> tuple[tuple[str, Checker, str], ...]:
        """The checks with the paths of their values in data at ``path``."""
        checks = tuple((key, check, _join(path, key))
                       for key, check in self.checks)
        if len(self.placed) >= _MAX_SHAPES:
            self.placed.clear()  # any input cannot grow it without bound
        self.placed[path] = checks
        return checks


# The last shape of a class before any was seen (its key None is none's).
_NO_SHAPE = _Shape(True, ())

# How many shapes of each class's data are kept (few occur: fields are
# left out or null in a few ways).
_MAX_SHAPES = 256


def _check_fields(info: _ClassInfo, data: dict[str, Any],
                  path: str) -> _Shape:
    """Check what the keys of ``data`` and the types of its values tell:
    required fields present, plain fields of their type (JSON data has no
    subclasses: exact types), null only where allowed."""
    for name in info.required:
        if name not in data:
            raise _invalid(path, f'has no {name}')
    allowed = info.allowed
    wrong = [key for key, value in data.items()
             if type(value) not in allowed.get(key, _JSON_TYPES)]
    if wrong:
        key = wrong[0]
        value = data[key]
        if value is None:
            raise _invalid(_join(path, key), 'must not be null')
        # A plain field's: (its type, maybe None's).
        plain = cast('tuple[type, ...]', allowed[key])[0]
        raise _invalid(_join(path, key), f'must be '
                       f'{_DESCRIPTIONS[plain]}, got {_brief(value)}')
    checks = []
    for key, nullable, check in info.checkers:
        value = data.get(key)
        if value is not None:
            checks.append((key, check))
        elif not nullable and key in data:
            # Raised in its turn among the values' checks.
            checks.append((key, _refuse_null))
    return _Shape(not allowed.keys() >= data.keys() or
                  not info.filled <= data.keys(), tuple(checks))


def _check_version(info: _ClassInfo, name: str, version: Any,
                   path: str) -> None:
    """Refuse a version that is not "1.2"-like, or of another major
    version than this Cinder's class, as ``from_primitive`` refuses it; an
    older or newer minor version (a newer Cinder's, its added fields
    ignored) is this Cinder's version once built."""
    if not isinstance(version, str) or not _VERSION_FORMAT.fullmatch(
            version):
        raise _invalid(path, f'"versioned_object.version" must be a '
                             f'version such as "1.2", got {_brief(version)}')
    local = info.cls.VERSION
    if int(version.partition('.')[0]) != int(local.partition('.')[0]):
        raise _invalid(path, f'bad {name} object: version {version} of '
                             f'{name} is not supported (this Cinder has '
                             f'{local})')
    if len(info.versions) >= _MAX_SHAPES:
        info.versions.clear()  # any input cannot grow it without bound
    info.versions.add(version)


def _refuse_null(value: Any, path: str, depth: int) -> None:
    raise _invalid(path, 'must not be null')


def _join(path: str, key: str) -> str:
    return f'{path}.{key}' if path else key


_STRINGS = frozenset((str,))
_DESCRIPTIONS = {str: 'a string', int: 'an integer', bool: 'true or false'}
_JSON_TYPES: frozenset[type] = frozenset((dict, list, str, int, float, bool,
                                          type(None), jsontext.NonFinite))


def _plain_type(field_type: Any) -> Optional[type]:
    """The Python type of a field's JSON values, for the types checked by
    type alone."""
    # lazy: it imports oslo.config and eventlet (with Cinder)
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
        # lazy: it imports oslo.config and eventlet (with Cinder)
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
    # lazy: it imports oslo.config and eventlet (with Cinder)
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


_from_iso_format = datetime.datetime.fromisoformat
_UTC = datetime.timezone.utc


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


def _check_datetime(value: Any, path: str, depth: int) -> None:
    try:
        parsed = (_from_iso_format(value) if _FULL_ISO_8601
                  else parse_datetime(value))
        zone = parsed.tzinfo
        if zone is not None and zone is not _UTC:
            parsed.astimezone(_UTC)  # what storing it does: may overflow
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
    # Items whose check is of their type alone (free-form ones: only nulls
    # refused) are first checked all at once, by the set of their types:
    # the loop below, which reports the first wrong one, runs only if
    # that fails.
    plain = _plain_type(element._type)
    item_types: Optional[frozenset[type]] = None
    if free_form:
        item_types = _JSON_TYPES if element.nullable else (
            _JSON_TYPES - {type(None)})
    elif plain is not None:
        item_types = frozenset((plain, type(None)) if element.nullable
                               else (plain,))

    def check(value: Any, path: str, depth: int) -> bool:
        # (Not isinstance() in the test: it would narrow value's type.)
        is_container = isinstance(value, python_type)
        if not is_container:
            raise _invalid(path, f'must be {description}, got '
                                 f'{_brief(value)}')
        if not value:
            return False
        if free_form:
            _check_nesting(value, path)
        if item_types is not None and item_types.issuperset(map(
                type, value.values() if python_type is dict else value)) and (
                python_type is not dict or _STRINGS.issuperset(
                    map(type, value))):
            return False
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


# -- the fields cinderlib relies on, present and sound ------------------------
# The objects whose fields cinderlib relies on, with the names of the
# classes that wrap them (errors name those).
_CLASSES = {'Volume': 'Volume', 'Snapshot': 'Snapshot',
            'VolumeAttachment': 'Connection'}


def _check_id(data: dict[str, Any], field: str, what: str) -> str:
    value = data.get(field)
    if value is None:
        raise _invalid(what, f'has no {field}')
    try:
        # Any usable id: a process without non_uuid_ids still reads the
        # objects of one with it.
        return validation.resource_id(value, True, field)
    except exception.CinderlibError as exc:
        raise _invalid(what, str(exc)) from None


def _check_text(data: dict[str, Any], field: str, what: str,
                required: bool = False,
                max_length: int = validation.MAX_NAME_LENGTH) -> None:
    value = data.get(field)
    if type(value) is str and len(value) <= max_length and (
            value.isascii() and '\x00' not in value):
        return  # what validation.text accepts, found sooner
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
                max_length=validation.MAX_STATUS_LENGTH)
    _check_text(data, 'display_name', what)
    _check_text(data, 'display_description', what,
                max_length=validation.MAX_DESCRIPTION_LENGTH)
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
    own_id = None if volume_type is None else volume_type[DATA]['id']
    if not (type_id == own_id == volume_id or
            type_id is None and own_id is None):
        raise _invalid(what, f'its volume_type_id is {type_id!r}, its '
                             f'volume_type\'s id {own_id!r}: both must be '
                             f'its id, or null')
    for field, sound, kind in (('snapshots', _sound_snapshot, 'snapshot'),
                               ('volume_attachment', _sound_connection,
                                'connection')):
        if data.get(field) is None:
            continue
        items = data[field][DATA].get('objects')
        if items is None:
            raise _invalid(what, f'its {field} list has no "objects"')
        seen = set()
        for item in items:
            item_data = item[DATA]
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
        volume_data = data['volume'][DATA]
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
                max_length=validation.MAX_STATUS_LENGTH)
    _check_text(data, 'display_name', what)
    _check_text(data, 'display_description', what,
                max_length=validation.MAX_DESCRIPTION_LENGTH)


def _sound_connection(data: dict[str, Any], what: str,
                      volume: bool = True) -> None:
    what = _sound_child(data, what, volume)
    _check_text(data, 'attached_host', what)
    _check_text(data, 'attach_status', what, required=True,
                max_length=validation.MAX_STATUS_LENGTH)
    info = data.get('connection_info')
    if not isinstance(info, dict):
        raise _invalid(what, 'has no connection_info')
    for key in ('conn', 'connector', 'device'):
        if not isinstance(info.get(key), _DICT_OR_NONE):
            raise _invalid(what, f'connection_info[{key!r}] must be a '
                                 f'dict or null')
    if not isinstance((info.get('conn') or {}).get('data', {}), dict):
        raise _invalid(what, "connection_info['conn']['data'] must be a "
                             "dict")


_DICT_OR_NONE = (dict, type(None))
_SOUND = {'Volume': _sound_volume, 'Snapshot': _sound_snapshot,
          'VolumeAttachment': _sound_connection}
