"""Cinder's versioned objects: building them (``new_volume``...), filling
the fields drivers may read, their change tracking, and converting them to
and from primitives (JSON-able dicts, the form cinderlib serializes and
stores).  Primitives are checked by :mod:`cinderlib.cinder.primitives`.
Objects a newer Cinder release wrote in a newer minor version of their
class load here as this release's version (``_local_versions``)."""

from __future__ import annotations

import datetime
import math
import operator
import sys
from typing import Any, Callable, Collection, Iterable, Optional, cast

from cinderlib import exception
from cinderlib import jsontext
from cinderlib import validation
from cinderlib.cinder.config import load
from cinderlib.cinder.primitives import (_DATETIME, _OBJECT, _PLAIN,
                                         METADATA_FIELDS, CinderObject,
                                         ObjectClass, Primitive,
                                         _class_info,
                                         check_primitive, parse_datetime)


def objects_module() -> Any:
    if _objects_module[0] is None:  # first use; then no lock, no import
        load()
        # lazy: Cinder loads on first use, never with import cinderlib
        from cinder import objects
        _objects_module[0] = objects
    return _objects_module[0]


_objects_module: list[Any] = [None]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def fill_unset_fields(ovo: Any) -> Any:
    """Give every plain field a value: drivers may read any of them, and
    Cinder objects cannot lazy-load plain fields.  Relationships
    (``OPTIONAL_FIELDS``) left unset lazy-load through the DB shim."""
    # lazy: it imports oslo.config and eventlet (with Cinder)
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


def new_volume_type(context: Any, type_id: str,
                    extra_specs: dict[str, Any],
                    qos_specs: Optional[dict[str, Any]]) -> CinderObject:
    """A volume type of its own for one volume, as Cinder would give it,
    marked saved (it is stored with its volume)."""
    objects = objects_module()
    qos = None
    if qos_specs:
        qos = new_object(objects.QualityOfServiceSpecs, context, {
            'id': type_id, 'name': type_id, 'consumer': 'back-end',
            'specs': _coerced(objects.QualityOfServiceSpecs, 'specs',
                              qos_specs)})
    return new_object(objects.VolumeType, context, {
        'id': type_id, 'name': type_id, 'description': None,
        'is_public': True, 'projects': [],
        'extra_specs': _coerced(objects.VolumeType, 'extra_specs',
                                extra_specs),
        'qos_specs_id': type_id if qos else None, 'qos_specs': qos,
        'created_at': utcnow(), 'deleted': False})


def _coerced(ovo_class: Any, name: str, value: Any) -> Any:
    coercion = _coercions.get((ovo_class, name))
    if coercion is None:
        coercion = _coercion(ovo_class, name)
    field, kept, dict_class = coercion
    if kept and type(value) is dict and (
            not value or all(type(key) is str for key in value)) and (
            kept is _ANY_VALUE or all(type(item) in kept
                                      for item in value.values())):
        # What the field's coercion makes (a CoercedDict of the same
        # items, coercing those added later), without calling its
        # element type, which returns each of these values as it is.
        coerced = dict_class.__new__(dict_class)
        dict.update(coerced, value)
        # What its __init__ and enable_coercing set.
        coerced._element_type = field._type._element_type
        coerced._obj = None
        coerced._field = name
        return coerced
    return field.coerce(None, name, value)


# The field of each (class, name) _coerced was given, the types of the
# values its coercion keeps as they are (see _values_kept), and the class
# of the dict it makes.
_coercions: dict[tuple[Any, str], tuple[Any, tuple[type, ...], Any]] = {}


def _coercion(ovo_class: Any, name: str) -> tuple[Any, tuple[type, ...],
                                                  Any]:
    # lazy: it imports oslo.config and eventlet (with Cinder)
    from oslo_versionedobjects import fields as ovo_fields
    field = ovo_class.fields[name]
    found = _coercions[(ovo_class, name)] = (
        field, _values_kept(field), ovo_fields.CoercedDict)
    return found


def set_coerced(ovo: Any, name: str, value: Any) -> None:
    """``setattr(ovo, name, value)`` for a plain field: the value coerced
    (see ``_coerced``), the field marked changed."""
    setattr(ovo, '_obj_' + name, _coerced(type(ovo), name, value))
    ovo._changed_fields.add(name)


def set_valid(ovo: Any, name: str, value: Any) -> None:
    """``setattr(ovo, name, value)`` for a plain field and a value its
    setter stores as it is (a status constant, a ``str`` for a string
    field: made by the library), without the coercion; the field is
    marked changed."""
    ovo.__dict__[_ATTRIBUTES.get(name) or _attribute(name)] = value
    ovo._changed_fields.add(name)


def set_saved(ovo: Any, name: str, value: Any) -> None:
    """Set the object field ``name`` of ``ovo`` to ``value``, an object
    the library made of the field's type, and mark it saved (what the
    setter then ``obj_reset_changes([name])`` do, without the coercion
    that checks each item of a list)."""
    setattr(ovo, '_obj_' + name, value)
    ovo._changed_fields.discard(name)


# Any value at all (see _values_kept).
_ANY_VALUE: tuple[type, ...] = (object,)


def _values_kept(field: Any) -> tuple[type, ...]:
    """If ``field`` is a dict field, the types of the values its coercion
    keeps as they are: ``_ANY_VALUE`` for Cinder's ``DictOfNullableField``
    (connectors, connection info), ``str`` (and ``None`` if nullable) for
    a dict of strings (extra specs, QoS specs); else none."""
    kept = _kept_by_field.get(field)
    if kept is None:
        # lazy: it imports oslo.config and eventlet (with Cinder)
        from oslo_versionedobjects import fields as ovo_fields
        element = getattr(field._type, '_element_type', None)
        element_type = type(getattr(element, '_type', None))
        kept = ()
        if type(field._type) is ovo_fields.Dict and type(
                element) is ovo_fields.Field:
            if element_type is ovo_fields.FieldType and element.nullable:
                kept = _ANY_VALUE
            elif element_type is ovo_fields.String:
                # String.coerce returns str(value): a str as it is.
                kept = (str, type(None)) if element.nullable else (str,)
        _kept_by_field[field] = kept
    return kept


_kept_by_field: dict[Any, tuple[type, ...]] = {}


def new_object(ovo_class: Any, context: Any,
               values: dict[str, Any]) -> CinderObject:
    """An object of ``ovo_class`` holding ``values``, its other plain
    fields filled as ``fill_unset_fields`` fills them, marked saved.

    Every value must be what the field's setter would store: made by
    the library, or checked and coerced by ``check_fields``.  It skips
    the constructor's coercing setters (a third of ``create_volume``
    when it went through them).
    """
    defaults = _default_attributes.get(ovo_class)
    if defaults is None:
        for name in ovo_class.fields:  # each field's name is known below
            _attribute(name)
        defaults = _default_attributes[ovo_class] = {
            _attribute(name): value
            for name, value in _class_info(ovo_class.obj_name()).defaults}
    obj: Any = ovo_class.__new__(ovo_class)  # not through __init__
    attributes = obj.__dict__
    attributes['_context'] = context
    attributes['_changed_fields'] = set()
    attributes.update(defaults)  # immutable values: shared
    try:  # at C speed: every field's attribute name is known
        attributes.update(zip(map(_ATTRIBUTES.__getitem__, values),
                              values.values()))
    except KeyError:  # a name that is no field's: set as the setter would
        for name, value in values.items():
            attributes[_attribute(name)] = value
    if _reset_kinds.get(ovo_class) is not _RESET_PLAIN:
        _saved(obj)  # its tracking of changes starts here
    return obj


# The attributes behind the fields new_object fills, with their values.
_default_attributes: dict[Any, dict[str, Any]] = {}

# Field name -> the name of its attribute, one string for all objects: a
# ``'_obj_' + name`` made for each object is a key its ``__dict__`` keeps
# (1.35 KB of each volume's 7 KB, by tracemalloc).
_ATTRIBUTES: dict[str, str] = {}


def _attribute(name: str) -> str:
    return _ATTRIBUTES.setdefault(name, sys.intern('_obj_' + name))


def new_volume_fast(context: Any, volume_type: Any,
                    values: dict[str, Any]) -> CinderObject:
    """``new_volume`` for values that are what the fields store (see
    ``new_object``): those ``Volume()`` makes and ``check_fields``
    checked."""
    objects = objects_module()
    attachments = new_object(objects.VolumeAttachmentList, context,
                             {'objects': []})
    return new_object(objects.Volume, context, {
        'metadata': {}, 'admin_metadata': {}, 'glance_metadata': {},
        **values, 'volume_type': volume_type,
        'volume_attachment': attachments,
        # ``snapshots`` stays unset: see new_volume.
        'consistencygroup': None, 'cluster': None, 'group': None})


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


def new_snapshot_fast(context: Any, volume_ovo: Any,
                      values: dict[str, Any]) -> CinderObject:
    """``new_snapshot`` for values made by the library or checked by
    ``check_fields`` (see ``new_object``)."""
    return new_object(objects_module().Snapshot, context, {
        'metadata': {}, **values, 'volume': volume_ovo,
        'cgsnapshot': None, 'group_snapshot': None})


def new_attachment_fast(context: Any,
                        values: dict[str, Any]) -> CinderObject:
    """``new_attachment`` for values made by the library or checked by
    ``check_fields``; its dict fields (the connector, the connection
    info) still go through their coercion, which wraps them.  ``values``
    is made for it: the coerced dicts replace the ones given there."""
    cls = objects_module().VolumeAttachment
    for name in ('connector', 'connection_info'):
        value = values.get(name)
        if value is not None:
            values[name] = _coerced(cls, name, value)
    return new_object(cls, context, values)


def is_set(ovo: Any, name: str) -> bool:
    """``ovo.obj_attr_is_set(name)`` for a field ``name`` of ``ovo``'s
    class, without listing every field each time (a microsecond)."""
    return (_ATTRIBUTES.get(name) or _attribute(name)) in ovo.__dict__


def id_of(ovo: Any) -> str:
    """``ovo.id`` (always set), read without the field's getter: every
    operation reads its objects' ids several times."""
    return cast(str, ovo._obj_id)


def complete_metadata(ovo: Any) -> Any:
    """Give the metadata fields of ``ovo`` (a volume's three, a
    snapshot's one) that its stored or serialized data left out an empty
    dict, as saved: the object then holds no metadata, rather than
    lazy-loading it through the DB shim, which finds the same object."""
    attributes = ovo.__dict__
    for attribute, original in _tracked_metadata(type(ovo)):
        if attribute not in attributes:
            attributes[attribute] = {}
            attributes[original] = {}
    return ovo


def complete_snapshot(ovo: Any) -> Any:
    """``complete_metadata``, and a snapshot's ``volume_type_id`` that is
    not its volume's id made its volume's id: a volume's type is its own,
    of its id, and ``cinderlib.load`` upgrades a snapshot's null or other
    type id to it (``serialization``), so a stored snapshot reads as its
    serialized copy loads."""
    attributes = complete_metadata(ovo).__dict__
    volume_id = attributes.get('_obj_volume_id')
    if attributes.get('_obj_volume_type_id') != volume_id:
        attributes['_obj_volume_type_id'] = volume_id
    return ovo


def forget_field(ovo: Any, name: str) -> None:
    """Unset a lazy field so that it is loaded afresh when next read."""
    if is_set(ovo, name):
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
    _saved(ovo)
    children = _children.get(type(ovo))
    if children is None:
        owned, lists = _object_fields(type(ovo))
        # The attributes behind the fields (reading them never
        # lazy-loads), and whether each is a list.
        children = _children[type(ovo)] = tuple(
            ('_obj_' + name, name in lists) for name in owned + lists)
    for attribute, is_list in children:
        child = getattr(ovo, attribute, None)
        if child is None:
            continue
        if is_list:
            _saved(child)
        else:
            reset_changes(child)


_children: dict[type, tuple[tuple[str, bool], ...]] = {}


def _saved(ovo: Any) -> None:
    """``ovo.obj_reset_changes()``, without the per-field checks of
    Cinder's volume and snapshot versions where it knows what they do."""
    how = _reset_kinds.get(type(ovo))
    if how is None:
        how = _reset_kinds[type(ovo)] = _reset_kind(type(ovo))
    if how is _RESET_CALL:
        ovo.obj_reset_changes()
        return
    ovo._changed_fields.clear()
    if how is _RESET_METADATA:
        attributes = ovo.__dict__
        for attribute, original in _tracked_metadata(type(ovo)):
            # What their _reset_metadata_tracking does: copies to compare
            # metadata changes against (an empty one kept as it is).
            value = attributes.get(attribute)
            if value:
                attributes[original] = dict(value)
            elif attributes.get(original) != {}:
                attributes[original] = {}


def _tracked_metadata(ovo_class: type) -> tuple[tuple[str, str], ...]:
    """The attributes of the metadata fields of ``ovo_class`` whose changes
    Cinder tracks, each with the attribute of its copy to compare with."""
    pairs = _metadata_attributes.get(ovo_class)
    if pairs is None:
        # ignore: oslo's classes declare fields loosely
        fields = ovo_class.fields  # type: ignore[attr-defined]
        pairs = _metadata_attributes[ovo_class] = tuple(
            (_attribute(name), '_orig_' + name)
            for name in METADATA_FIELDS if name in fields)
    return pairs


_metadata_attributes: dict[type, tuple[tuple[str, str], ...]] = {}


_RESET_PLAIN, _RESET_METADATA, _RESET_CALL = 'plain', 'metadata', 'call'
_reset_kinds: dict[type, str] = {}


def _reset_kind(ovo_class: type) -> str:
    # lazy: it imports oslo.config and eventlet (with Cinder)
    from oslo_versionedobjects import base as ovo_base
    method = getattr(ovo_class, 'obj_reset_changes')
    if method is ovo_base.VersionedObject.obj_reset_changes:
        return _RESET_PLAIN
    # ignore: oslo's classes declare obj_name loosely
    if ovo_class.obj_name() in _METADATA_TRACKERS:  # type: ignore
        return _RESET_METADATA
    return _RESET_CALL


_RELATIONSHIPS = {'snapshots', 'volume_attachment', 'volume'}
_fields_cache: dict[ObjectClass, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _object_fields(ovo_class: ObjectClass) -> tuple[tuple[str, ...],
                                                    tuple[str, ...]]:
    """Names of an object class's owned object fields and of its
    relationship lists, computed once per class."""
    cached = _fields_cache.get(ovo_class)
    if cached is None:
        # lazy: it imports oslo.config and eventlet (with Cinder)
        from oslo_versionedobjects import fields as ovo_fields
        objects_fields = {
            # ignore: a private attribute oslo's types do not declare
            name: field.AUTO_TYPE._obj_name  # type: ignore[attr-defined]
            for name, field in ovo_class.fields.items()
            if isinstance(field, ovo_fields.ObjectField)}
        owned = tuple(name for name, obj_name in objects_fields.items()
                      if name not in _RELATIONSHIPS and
                      not obj_name.endswith('List'))
        lists = tuple(name for name, obj_name in objects_fields.items()
                      if name in _RELATIONSHIPS and obj_name.endswith('List'))
        cached = _fields_cache[ovo_class] = (owned, lists)
    return cached


def to_primitive(ovo: CinderObject, skip: Iterable[str] = (),
                 copy: bool = True) -> Primitive:
    """A JSON-able primitive of ``ovo``, the format ``from_primitive`` reads.

    Unlike ``obj_to_primitive`` it keeps microseconds in datetimes, leaves
    out the fields named in ``skip``, breaks cycles (a snapshot's volume
    lists the snapshot again) and leaves out nested volumes' snapshot and
    attachment lists.  Its dicts and lists are copies of the object's;
    without ``copy``, for a primitive encoded at once
    (``jsontext.dumps_acyclic``), they are the object's own, checked to
    nest no deeper than copying allows, and its dates in UTC are left as
    they are (that encoding writes them as the copy's text).
    """
    return _primitive(ovo, _skip_key(skip), (), copy)


def to_primitive_text(ovo: CinderObject, skip: Iterable[str] = ()) -> str:
    """``jsontext.dumps(to_primitive(ovo, skip))``, made faster: the text
    is written at once, so the object's dicts and lists go in as they are
    (only how deep they nest is checked, as copying checks it)."""
    return jsontext.dumps_acyclic(_primitive(ovo, _skip_key(skip), (),
                                             False))


def _skip_key(skip: Iterable[str]) -> Collection[str]:
    """``skip`` as a key of ``_plans``: a tuple or frozenset as it is."""
    return skip if isinstance(skip, (tuple, frozenset)) else tuple(skip)


_NESTED_SKIP = frozenset(('snapshots', 'volume_attachment'))
_SCALARS = frozenset((str, int, float, bool))


class _Plan:
    """How ``_primitive`` reads the objects of a class, leaving out some
    of their fields: the attribute behind each other field (in the order
    of the fields), and the fields whose values may need more than being
    taken as they are."""

    __slots__ = ('attributes', 'others', 'fast_read')

    def __init__(self, ovo_class: ObjectClass, skip: frozenset[str]) -> None:
        # lazy: it imports oslo.config and eventlet (with Cinder)
        from oslo_versionedobjects import fields as ovo_fields
        self.attributes = tuple((name, '_obj_' + name)
                                for name in ovo_class.fields
                                if name not in skip)
        # Fields of these types hold None or a str, int or bool
        # (what their coercion or checks give), which their to_primitive
        # returns as it is.
        # (Float fields are not among them: a float that is not finite
        # is marked, see _check_nesting; Cinder's objects have none.)
        plain = (ovo_fields.String, ovo_fields.StringPattern,
                 ovo_fields.Integer, ovo_fields.Boolean)
        self.others = frozenset(
            name for name, field in ovo_class.fields.items()
            if not isinstance(field._type, plain) or
            type(field._type).to_primitive is not
            ovo_fields.FieldType.to_primitive)
        self.learn({})

    def learn(self, attributes: dict[str, Any]) -> _FastRead:
        """Read the objects of the class at C speed when the fields set
        are those set in ``attributes`` (a volume's lazy snapshots, for
        one, are not).  ``fast_read``: the attributes of the other
        fields, the names of those set, what gets their values in that
        order (raising KeyError if one is not set), and where the values
        of the fields in ``others`` are among them; replaced at once, so
        that a thread reads one consistent tuple.  Returns it."""
        fields = [(name, attribute) for name, attribute in self.attributes
                  if attribute in attributes]
        keys = tuple(attribute for _, attribute in fields)
        # (itemgetter of one key returns its value, not a tuple.)
        read: Callable[[dict[str, Any]], tuple[Any, ...]] = (
            operator.itemgetter(*keys) if len(keys) > 1 else
            lambda attributes: tuple(attributes[key] for key in keys))
        names = tuple(name for name, _ in fields)
        self.fast_read = fast_read = (
            tuple(attribute for _, attribute in self.attributes
                  if attribute not in attributes),
            names, read,
            tuple((name, index) for index, name in enumerate(names)
                  if name in self.others))
        return fast_read


# _Plan.fast_read: unset attributes, names of the set fields, their
# values' getter, (name, index) of the values in _Plan.others.
_FastRead = tuple[tuple[str, ...], tuple[str, ...],
                  Callable[[dict[str, Any]], tuple[Any, ...]],
                  tuple[tuple[str, int], ...]]
# By object class and the fields left out.
_plans: dict[tuple[type, Collection[str]], _Plan] = {}
# What _primitive does with a value that is not None or a scalar, by the
# value's type (found once per type: isinstance() through oslo's abstract
# classes is slow).
_LIST, _OBJECT_VALUE, _DATE, _CONTAINER, _AS_IS, _FIELD = range(6)
_value_kinds: dict[type, int] = {}


def _primitive(ovo: CinderObject, skip: Collection[str],
               path: tuple[CinderObject, ...], copy: bool) -> Primitive:
    cls = type(ovo)
    plan = _plans.get((cls, skip))
    if plan is None:
        plan = _plan(cls, skip)
    attributes = ovo.__dict__
    # The attribute behind each field: reading it never lazy-loads.
    unset, names, read, others = plan.fast_read
    values = None
    if attributes.keys().isdisjoint(unset):
        try:
            values = read(attributes)
        except KeyError:  # other fields set than before
            pass
    if values is None:
        unset, names, read, others = plan.learn(attributes)
        values = read(attributes)
    data = dict(zip(names, values))
    for name, index in others:
        value = values[index]
        if value is None or type(value) in _SCALARS:
            if type(value) is float:
                data[name] = jsontext.finite_or_marked(value)
            continue
        kind = _value_kinds.get(type(value))
        if kind is None:
            kind = _value_kinds[type(value)] = _value_kind(value)
        if kind == _DATE:
            # Encoded at once: the date as it is, in UTC (the text
            # jsontext.dumps_acyclic writes for it is isoformat()'s).
            data[name] = value if not copy and (
                value.tzinfo is _UTC and type(value) is datetime.datetime
            ) else _date_text(value)
        elif kind == _CONTAINER:
            # A copy: the object's dicts and lists (coerced ones) must not
            # change when the caller changes the primitive, or vice versa.
            if copy:
                data[name] = _plain_copy(value, validation.MAX_NESTING, name)
            elif value:
                data[name] = _check_nesting(value, validation.MAX_NESTING,
                                            name)
        elif kind == _LIST:
            data[name] = _list_primitive(value, path + (ovo,), copy)
        elif kind == _OBJECT_VALUE:
            if value is ovo or any(value is seen for seen in path):
                del data[name]  # a cycle
            else:
                data[name] = _primitive(value, _NESTED_SKIP, path + (ovo,),
                                        copy)
        elif kind == _FIELD:
            data[name] = ovo.fields[name].to_primitive(ovo, name, value)
        # _AS_IS: what the field's to_primitive returns
    return _envelope(cls, data)


def _plan(cls: ObjectClass, skip: Collection[str]) -> _Plan:
    """The plan of objects of ``cls`` leaving out ``skip``, made once."""
    if len(_plans) >= _MAX_PLANS:
        _plans.clear()  # skips a caller gives cannot grow it unbounded
    plan = _plans[cls, skip] = _Plan(cls, frozenset(skip))
    return plan


# Few plans are made: one per class and skip this library passes.
_MAX_PLANS = 256
_UTC = datetime.timezone.utc
# The last date written and its text (held: its id is not reused), a
# tuple replaced at once: an object's dates are often one datetime (a
# connection's attach_time and created_at).
_last_date: tuple[Any, str] = (None, '')


def _date_text(value: datetime.datetime) -> str:
    """A date as ``to_primitive`` writes it: ISO 8601, in UTC when it has
    no zone."""
    global _last_date
    last, text = _last_date
    if value is not last:
        aware = value if value.tzinfo is not None else value.replace(
            tzinfo=_UTC)
        text = aware.isoformat()
        _last_date = (value, text)
    return text


def _value_kind(value: Any) -> int:
    # lazy: it imports oslo.config and eventlet (with Cinder)
    from oslo_versionedobjects import base as ovo_base
    if isinstance(value, ovo_base.ObjectListBase):
        return _LIST
    if isinstance(value, ovo_base.VersionedObject):
        return _OBJECT_VALUE
    if isinstance(value, datetime.datetime):
        return _DATE
    if isinstance(value, (dict, list)):
        return _CONTAINER
    if isinstance(value, (str, int, float, bool)):
        return _AS_IS
    return _FIELD


def _plain_copy(value: Any, limit: int, field: str) -> Any:
    """A copy of nested dicts and lists as plain dicts and lists, refused
    (``InvalidArgument``) if they nest more than ``limit`` levels: what a
    driver or caller put in an object must serialize and load back."""
    if limit <= 0:
        raise _too_deep(field)
    if isinstance(value, dict):
        return {key: _plain_copy(item, limit - 1, field)
                if isinstance(item, (dict, list)) else item
                for key, item in value.items()}
    return [_plain_copy(item, limit - 1, field)
            if isinstance(item, (dict, list)) else item for item in value]


def _check_nesting(value: Any, limit: int, field: str) -> Any:
    """``value`` itself, refused as ``_plain_copy`` refuses it; if it
    holds floats that are not finite, a copy where they are
    ``jsontext.NonFinite`` (as ``jsontext.dumps_acyclic`` needs them)."""
    if limit <= 0:
        raise _too_deep(field)
    for item in value.values() if isinstance(value, dict) else value:
        if isinstance(item, (dict, list)):
            if _check_nesting(item, limit - 1, field) is not item:
                break
        elif type(item) is float and not math.isfinite(item):
            break
    else:
        return value
    marked = dict(value) if isinstance(value, dict) else list(value)
    for key, item in (marked.items() if isinstance(marked, dict)
                      else enumerate(marked)):
        if isinstance(item, (dict, list)):
            marked[key] = _check_nesting(item, limit - 1, field)
        elif type(item) is float:
            marked[key] = jsontext.finite_or_marked(item)
    return marked


def _too_deep(field: str) -> Exception:
    return exception.InvalidArgument(
        field, f'nests more than {validation.MAX_NESTING} levels of dicts '
               f'and lists')


def _list_primitive(ovo_list: Any, path: tuple[CinderObject, ...],
                    copy: bool) -> Primitive:
    items = [_primitive(item, _NESTED_SKIP, path, copy)
             for item in ovo_list.objects
             if not any(item is seen for seen in path)]
    return _envelope(type(ovo_list), {'objects': items})


def list_primitive(list_class: str, items: list[Primitive]) -> Primitive:
    """The primitive of a Cinder object list holding ``items``."""
    return _envelope(getattr(objects_module(), list_class), {
        'objects': items})


def list_primitive_text(list_class: str, item_texts: list[str]) -> str:
    """``list_primitive`` as JSON text, from the items' JSON texts."""
    return jsontext.fill_list(
        jsontext.dumps(list_primitive(list_class, [])), item_texts)


def _envelope(ovo_class: Any, data: dict[str, Any]) -> Primitive:
    """The primitive of an object of ``ovo_class`` holding ``data``."""
    envelope = _envelopes.get(ovo_class)
    if envelope is None:
        envelope = _envelopes[ovo_class] = (
            ovo_class.obj_name(), ovo_class.OBJ_PROJECT_NAMESPACE,
            ovo_class.VERSION)
    name, namespace, version = envelope
    return {'versioned_object.name': name,
            'versioned_object.namespace': namespace,
            'versioned_object.version': version,
            'versioned_object.data': data}


# By object class, its primitives' name, namespace and version.
_envelopes: dict[Any, tuple[str, str, str]] = {}


def from_primitive(primitive: Any, context: Any) -> Any:
    """Rebuild a Cinder versioned object from ``to_primitive`` output,
    checking it first (``check_primitive``)."""
    objects = objects_module()
    # lazy: it imports oslo.config and eventlet (with Cinder)
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
    # lazy: it imports oslo.config and eventlet (with Cinder)
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
    changed: dict[str, Any] = {}
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


def trusted_from_primitive(primitive: Primitive, context: Any,
                           fill: bool = False,
                           given: bool = False) -> CinderObject:
    """Rebuild an object from a primitive ``check_primitive`` accepted.

    It skips the coercion ``from_primitive`` repeats on every field, which
    makes it several times faster: ``check_primitive`` has checked that
    each value is what that coercion gives.  Fields the class does not
    have are ignored; with ``fill``, plain fields the primitive lacks (its
    own and its nested objects') get what ``fill_unset_fields`` gives
    them.  ``given``: a caller's data (``cinderlib.load``), not what this
    library stored (its dicts and lists decoded from JSON, not shared
    with the caller): versions are checked as ``from_primitive`` checks
    them.  Dates without a time zone are taken as UTC, as the field's
    coercion takes them.
    """
    name = primitive['versioned_object.name']
    info = _class_info(name)
    cls, kinds = info.cls, info.kinds
    if given:
        _check_version(name, cls, primitive['versioned_object.version'])
    obj: Any = cls.__new__(cls)  # not through __init__
    attributes = obj.__dict__
    attributes['_context'] = context
    attributes['_changed_fields'] = set()
    data = primitive['versioned_object.data']
    if fill:
        for name, value in info.defaults:
            if name not in data:
                attributes[_ATTRIBUTES.get(name) or _attribute(name)] = value
    for name, value in data.items():
        kind = kinds.get(name)
        if kind is None:  # not a field of this class
            continue
        if value is None or kind is _PLAIN:
            pass
        elif kind is _DATETIME:
            value = parse_datetime(value)
            if value.tzinfo is None:  # what the field's coercion does
                value = value.replace(tzinfo=datetime.timezone.utc)
        elif kind is _OBJECT:
            value = trusted_from_primitive(value, context, fill, given)
        else:  # _OBJECTS
            value = [trusted_from_primitive(item, context, fill, given)
                     for item in value]
        attributes[_ATTRIBUTES.get(name) or _attribute(name)] = value
    _saved(obj)
    return obj


def _check_version(name: str, cls: Any, version: str) -> None:
    """Refuse a primitive of another major version, as ``from_primitive``
    does; a newer minor version (a newer Cinder's) loads, its added fields
    ignored, as ``_local_versions`` lets ``from_primitive`` do."""
    if version == cls.VERSION:
        return
    major, _, _ = version.partition('.')
    own_major, _, _ = cls.VERSION.partition('.')
    if int(major) != int(own_major):
        raise exception.InvalidSerializedData(
            f'bad {name} object: version {version} of {name} is not '
            f'supported (this Cinder has {cls.VERSION})')


_METADATA_TRACKERS = {'Volume', 'Snapshot'}


def check_fields(ovo_class: Any, values: dict[str, Any],
                 kind: str) -> dict[str, Any]:
    """Caller-given values of Cinder fields, each checked as what it is
    stored as: strings printable and of bounded length, dicts of strings,
    bools, ints, datetimes, enums among their values.  Relationships
    (other Cinder objects) are cinderlib's to set."""
    checked: dict[str, Any] = {}
    for name, value in values.items():
        field_check = _field_checks.get((ovo_class, name))
        if field_check is None:
            field_check = _field_check(ovo_class, name, kind)
        field, check = field_check
        if check is _OBJECT_FIELD:
            raise exception.InvalidArgument(
                name, f'is set by cinderlib, not given to a {kind}')
        if value is None:
            if not field.nullable:
                raise exception.InvalidArgument(name, 'must not be None')
            checked[name] = None
            continue
        if check is _BOOL_FIELD:
            validation.boolean(value, name)
        elif check is _INT_FIELD:
            if isinstance(value, bool) or not isinstance(value, int):
                raise exception.InvalidArgumentType(
                    name, f'must be an integer, got {value!r:.60}')
        elif check is _DATETIME_FIELD:
            validation.date_time(value, name)
        elif check is _DICT_FIELD:
            value = validation.string_dict(value, name)
        elif check is _TEXT_FIELD:
            validation.text(value, name, validation.FIELD_LENGTHS.get(
                name, validation.MAX_NAME_LENGTH))
        try:
            checked[name] = field.coerce(None, name, value)
        except ValueError as exc:
            raise exception.InvalidArgument(
                name, f'{value!r:.60} is not valid: {exc}') from None
    return checked


(_OBJECT_FIELD, _BOOL_FIELD, _INT_FIELD, _DATETIME_FIELD, _DICT_FIELD,
 _TEXT_FIELD, _OTHER_FIELD) = ('object', 'bool', 'int', 'datetime', 'dict',
                               'text', 'other')
# What check_fields checks of each field, by class and name.
_field_checks: dict[tuple[Any, str], tuple[Any, str]] = {}


def _field_check(ovo_class: Any, name: str, kind: str) -> tuple[Any, str]:
    """A field of ``ovo_class`` and how check_fields checks its values;
    ``InvalidArgument`` if it has none of that name."""
    # lazy: it imports oslo.config and eventlet (with Cinder)
    from oslo_versionedobjects import fields as ovo_fields
    field = ovo_class.fields.get(name)
    if field is None:
        raise exception.InvalidArgument(name, f'not a {kind} attribute')
    field_type = field._type
    check = _OTHER_FIELD
    if isinstance(field_type, (ovo_fields.Object, ovo_fields.List)):
        check = _OBJECT_FIELD
    elif isinstance(field_type, ovo_fields.Boolean):
        check = _BOOL_FIELD
    elif isinstance(field_type, ovo_fields.Integer):
        check = _INT_FIELD
    elif isinstance(field_type, ovo_fields.DateTime):
        check = _DATETIME_FIELD
    elif isinstance(field_type, ovo_fields.Dict):
        check = _DICT_FIELD
    elif isinstance(field_type, (ovo_fields.String,
                                 ovo_fields.StringPattern)):
        check = _TEXT_FIELD
    found = _field_checks[(ovo_class, name)] = (field, check)
    return found


def plain_fields(ovo_class: type) -> tuple[str, ...]:
    """The fields of a Cinder object class that are not objects."""
    plain = _plain_fields_cache.get(ovo_class)
    if plain is None:
        # lazy: it imports oslo.config and eventlet (with Cinder)
        from oslo_versionedobjects import fields as ovo_fields
        plain = _plain_fields_cache[ovo_class] = tuple(
            name for name, field in getattr(ovo_class, 'fields', {}).items()
            if not isinstance(field, ovo_fields.ObjectField))
    return plain


_plain_fields_cache: dict[type, tuple[str, ...]] = {}
