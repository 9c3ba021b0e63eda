"""What Volume, Snapshot and Connection share: a Cinder object and a backend.

Each object wraps one of Cinder's versioned objects (``_ovo``) and keeps a
reference to the ``Backend`` whose driver does the work.  Attributes it does
not define fall through to the Cinder object, so every Cinder field is
readable (``vol.size``, ``vol.status``, ``vol.provider_location``...).
"""

from __future__ import annotations

import os
import threading
import types
from typing import (TYPE_CHECKING, Any, Callable, ClassVar, Iterator,
                    Mapping, Optional, TypeVar, cast)

from cinderlib import _runtime
from cinderlib import exception
from cinderlib import jsontext
from cinderlib import validation
from cinderlib._runtime import AnyBackend
from cinderlib.cinder import ovo as cinder_ovo
from cinderlib.cinder import primitives
from cinderlib.states import Status

if TYPE_CHECKING:
    from cinderlib.objects.volume import Volume

# The active persistence plugin, and the loaded backend of a name (objects
# accept a backend's name where they take a backend, as the retired
# library did).
persistence = _runtime.persistence
backend_named = _runtime.backend_named


_ChildT = TypeVar('_ChildT')
_R = TypeVar('_R', bound='Resource')


# The variant digit of a random UUID (RFC 4122: binary 10xx) for each
# random hex digit, keeping its two low bits.
_UUID4_VARIANT = {digit: '89ab'[int(digit, 16) & 3]
                  for digit in '0123456789abcdef'}
# Random UUIDs' worth of bytes read from the kernel at once: one
# ``getrandom`` call per 64 new ids instead of one each (a syscall cost
# 3 us of each create_volume in a sampled profile).
_UUIDS_PER_READ = 64


class _RandomDigits(threading.local):
    """Each thread's unused random hex digits, 32 per id: never shared
    between threads, and dropped in a forked child
    (``_forget_random_digits``), so no two ids are made from the same
    bytes."""

    def __init__(self) -> None:
        self.unused: list[str] = []


_random_digits = _RandomDigits()


def _forget_random_digits() -> None:
    global _random_digits
    _random_digits = _RandomDigits()


os.register_at_fork(after_in_child=_forget_random_digits)


def new_uuid4() -> str:
    """``str(uuid.uuid4())``, without building a ``uuid.UUID`` (made for
    every new volume, snapshot and connection): 16 random bytes as hex
    digits, the version digit 4, the variant digit 8 to b; the bytes of
    several ids read from the kernel at once."""
    unused = _random_digits.unused
    if not unused:
        digits = os.urandom(16 * _UUIDS_PER_READ).hex()
        unused.extend(digits[start:start + 32]
                      for start in range(0, len(digits), 32))
    text = unused.pop()
    return (f'{text[:8]}-{text[8:12]}-4{text[13:16]}-'
            f'{_UUID4_VARIANT[text[16]]}{text[17:20]}-{text[20:]}')


class ChildList(list[_ChildT]):
    """A volume's snapshots or connections.

    Iterating walks a copy made when the iteration starts, so a loop that
    deletes or disconnects each item (``for c in vol.connections:
    c.disconnect()``) reaches every one, although each removes itself from
    the list.  Everything else is a plain list: the volume's own.
    """

    def __iter__(self) -> Iterator[_ChildT]:
        return iter(list.copy(self))

    def __reversed__(self) -> Iterator[_ChildT]:
        return reversed(list.copy(self))


def named_fields(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``kwargs`` with ``name`` and ``description`` as Cinder's
    ``display_name`` and ``display_description`` (either spelling, once)."""
    kwargs = dict(kwargs)
    for alias, field in (('name', 'display_name'),
                         ('description', 'display_description')):
        if alias not in kwargs:
            continue
        value = kwargs.pop(alias)
        if value in ('', None) and field in kwargs:
            continue  # a default left as is: the field is the one given
        if field in kwargs and kwargs[field] != value:
            raise exception.InvalidArgument(
                alias, f'given twice, as {alias} and as {field}, with '
                       f'different values')
        kwargs[field] = '' if value is None else value
    return kwargs


def same_value(kwargs: dict[str, Any], field: str, value: Any) -> None:
    """Accept ``field`` in ``kwargs`` (the retired library took it) only
    with the value the operation gives it; it is then left out."""
    given = kwargs.pop(field, value)
    if given != value:
        raise exception.InvalidArgument(
            field, f'must be {value!r:.60} here (the operation sets it), '
                   f'got {given!r:.60}')


# The fields stored beside a primitive when there are none (read only).
_NO_FIELDS: Mapping[str, Any] = types.MappingProxyType({})


class StoredState:
    """An object's state as a persistence plugin stored it: its id, the
    JSON text of its primitive (simplified form), decoded and checked when
    first needed, and how to rebuild the Cinder object from the primitive.

    ``expected`` is the Cinder object's name (``Volume``...): the
    primitive is then checked as ``cinderlib.load`` checks its input, and
    must hold the stored id and the ``fields`` values (what the plugin
    stores beside it).  Data that fails raises ``InvalidStoredData``
    naming ``kind`` and the id, on every use: the object is never built
    from it.
    """

    __slots__ = ('id', '_text', '_added', '_primitive', '_build', 'kind',
                 'expected', 'fields')

    #: The primitive is what ``to_primitive`` wrote (a plugin stored it):
    #: serializing the object before it is built reuses it.  Otherwise
    #: (``cinderlib.load``'s input) the object is built to be serialized.
    reusable: ClassVar[bool] = True

    def __init__(self, object_id: str, text: str,
                 build: Callable[[dict[str, Any]], Any], kind: str = 'object',
                 expected: Optional[str] = None,
                 fields: Optional[dict[str, Any]] = None,
                 added: tuple[tuple[str, str], ...] = ()) -> None:
        self.id = object_id
        self._text = text
        # Fields stored apart, (name, JSON text) pairs: put into the text
        # on first use (jsontext.add_fields), not for every object listed.
        self._added = added
        self._primitive: Optional[dict[str, Any]] = None
        self._build = build
        self.kind = kind
        self.expected = expected
        self.fields = fields or _NO_FIELDS

    @property
    def text(self) -> str:
        """The JSON text of the primitive."""
        if self._added:
            self._text = jsontext.add_fields(self._text, self._added)
            self._added = ()
        return self._text

    @text.setter
    def text(self, text: str) -> None:
        self._text = text
        self._added = ()

    @property
    def primitive(self) -> dict[str, Any]:
        if self._primitive is None:
            self._primitive = self._checked_primitive()
        return self._primitive

    def _checked_primitive(self) -> dict[str, Any]:
        try:
            primitive: dict[str, Any] = jsontext.loads(self.text)
        except (ValueError, TypeError, RecursionError) as exc:
            raise self._invalid(f'its data is not JSON: {exc}') from None
        if self.expected is None:
            return primitive
        try:
            exact = primitives.check_primitive(primitive, self.expected)
        except exception.InvalidSerializedData as exc:
            raise self._invalid(exc.reason) from None
        data = primitive['versioned_object.data']
        for field, value in dict(self.fields, id=self.id).items():
            if data.get(field) != value:
                raise self._invalid(
                    f'its {field} is {data.get(field)!r:.60} in its data '
                    f'but {value!r:.60} beside it')
        if not exact:
            # Keys that are not fields, or fields left out: serialized as
            # the object built from it is.
            primitive = cinder_ovo.to_primitive(self._rebuild(primitive))
            self.text = jsontext.dumps(primitive)
        return primitive

    def build(self) -> Any:
        return self._rebuild(self.primitive)

    def build_into(self, resource: Resource) -> Any:
        """Build the Cinder object of ``resource``, whose state this is,
        and give it to it (``_build_ovo`` holds ``_BUILDING``)."""
        ovo = resource.__dict__['_ovo'] = self.build()
        resource.__dict__.pop('_stored', None)
        resource._ovo_built()
        return ovo

    def _rebuild(self, primitive: dict[str, Any]) -> Any:
        try:
            return self._build(primitive)
        except (exception.InvalidSerializedData, ValueError, TypeError,
                KeyError) as exc:
            raise self._invalid(f'{type(exc).__name__}: {exc}') from None

    def _invalid(self, reason: str) -> Exception:
        return exception.InvalidStoredData(self.kind, self.id, reason)


# Held while a Cinder object is built from stored state: one thread builds
# it, the others wait and then find it built.  Reentrant: building one
# object may build others (a snapshot's volume).
_BUILDING = threading.RLock()

# The instance attributes the library keeps on its objects; any other one
# was set by a persistence plugin written for cinderlib 5.x (see
# ``Resource._take_plugin_attributes``).  ``_plugin_slot`` is the one that
# belongs to the plugins (``PersistenceDriverBase.object_slot``).
LIBRARY_ATTRIBUTES = frozenset({
    '_backend', '_ovo', '_stored', '_snapshots', '_connections',
    'local_attach', '_volume', '_connector', '_live_device', 'use_multipath',
    'device_scan_attempts', '_unexported', '_plugin_slot', '_id_made_here',
    '_checked'})


class Resource:
    """Base of the objects that wrap a Cinder versioned object.

    ``_ovo`` is the Cinder object.  Objects a plugin loads may start with a
    ``StoredState`` instead: the Cinder object is rebuilt on first use, and
    serializing an unused object reuses the stored primitive.

    Each class declares its identity once: ``KIND``, the word in the names
    of the plugin methods that store it (``get_volumes``, ``set_volume``,
    ``delete_volume``) and in errors; ``OVO_NAME``, the Cinder object it
    wraps; ``STATUS_FIELD``, the field of its status (``states``); and
    ``_not_found_error``, what ``get_by_id`` and the operations raise when
    it is not stored.

    Bringing an object up to date with the store, the near-synonyms:

    - ``refresh()`` (public): reload it from the plugin now, dropping
      unsaved changes (``_forget_local_state``); raises the not-found
      error if it is gone;
    - ``_catch_up()``: once an operation holds the object's lock, take
      what other processes stored since it was read (the plugin's
      ``refresh_stale``, which keeps unsaved changes: saving them then
      reports the conflict); False, and marked deleted, if it is gone;
    - ``_require_existing()``: ``_catch_up()``, raising the not-found
      error if it is gone;
    - ``_adopt_state(other)``: the plugin hands this live object the
      state of a newer copy it read (a newer row), keeping its identity;
    - ``_take_plugin_attributes(other)``: take what a plugin keeps on a
      newer copy it returned (5.x plugins keep their version there).
    """

    KIND: ClassVar[str]
    OVO_NAME: ClassVar[str]
    STATUS_FIELD: ClassVar[str] = 'status'
    # Fields left out of the primitive: back-references or lazy lists.
    _SKIP_IN_JSON: ClassVar[tuple[str, ...]] = ()
    # The classes that declare a KIND, by kind.
    _classes: ClassVar[dict[str, type[Resource]]] = {}
    # ``<kind>_id``, ``get_<kind>s``, ``set_<kind>`` (set from KIND).
    _ID_KEYWORD: ClassVar[str]
    _GET: ClassVar[str]
    _SET: ClassVar[str]
    _backend: AnyBackend
    # Set on an object made with a new random id (not one given).
    _id_made_here = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if 'KIND' in cls.__dict__:
            Resource._classes[cls.KIND] = cls
            # The names built from KIND, made once (every save uses one).
            cls._ID_KEYWORD = f'{cls.KIND}_id'
            cls._GET = f'get_{cls.KIND}s'
            cls._SET = f'set_{cls.KIND}'

    @staticmethod
    def class_of(kind: str) -> type[Resource]:
        """The class of ``kind`` (``'volume'``...)."""
        return Resource._classes[kind]

    @classmethod
    def _not_found_error(cls, object_id: str) -> Exception:
        raise NotImplementedError

    def __init__(self, backend: AnyBackend, ovo: Any) -> None:
        self._backend = backend  # (the setter's work: one per object)
        if isinstance(ovo, StoredState):
            self._stored = ovo
        else:
            self._ovo = ovo

    def __getattr__(self, name: str) -> Any:
        if name == '_ovo':
            return self._build_ovo()
        if name.startswith('_'):
            raise AttributeError(name)
        if hasattr(type(self), name):
            # One of our properties raised AttributeError: raise it again
            # rather than look the name up in the Cinder object.
            return object.__getattribute__(self, name)
        return getattr(self._ovo, name)

    def _build_ovo(self) -> Any:
        with _BUILDING:
            ovo = self.__dict__.get('_ovo')
            if ovo is not None:  # another thread built it meanwhile
                return ovo
            stored: Optional[StoredState] = self.__dict__.get('_stored')
            if stored is None:
                raise AttributeError('_ovo')
            return stored.build_into(self)

    def _ovo_built(self) -> None:
        """Called when the Cinder object was rebuilt from stored state."""

    def _take_plugin_attributes(self, other: 'Resource') -> None:
        """Take what the persistence plugin keeps on ``other``, a newer
        copy of this object it returned: its slot, and the attributes
        plugins written for cinderlib 5.x set (they keep the stored
        version there; 5.x's ``refresh()`` took every attribute of the
        newer copy)."""
        for name, value in vars(other).items():
            if name == '_plugin_slot':
                self.__dict__[name] = dict(value)
            elif name not in LIBRARY_ATTRIBUTES:
                self.__dict__[name] = value

    @property
    def _plugin_slot(self) -> dict[str, Any]:
        """What the persistence plugin keeps about this object, made on
        first use (see ``PersistenceDriverBase.object_slot``)."""
        slot: Optional[dict[str, Any]] = self.__dict__.get('_plugin_slot')
        if slot is None:
            slot = self.__dict__['_plugin_slot'] = {}
        return slot

    def _mark_unstored(self) -> None:
        """Count a new object's ``id`` as changed until the object is first
        stored, as Cinder does: plugins create a record when ``'id'`` is
        among their ``get_changed_fields()`` (see persistence.base)."""
        self._ovo._changed_fields.add('id')

    def _in_process_ids(self) -> tuple[str, ...]:
        """This object's id if no other process or host can know it, so
        that ``locks.locked(..., in_process=...)`` needs no lock they see:
        a new random id made here, never stored, by a plugin that keeps
        objects in this process only (``private``)."""
        if self._has_new_random_id() and getattr(self.persistence,
                                                 'private', False):
            return (self.id,)
        return ()

    def _has_new_random_id(self) -> bool:
        """Whether this object's id is a random UUID made here
        (``new_uuid4``) and never stored: no stored object's."""
        return self._id_made_here and 'id' in self._ovo._changed_fields

    def _catch_up(self) -> bool:
        """Once the object's lock is held: take what other processes
        stored since it was read (shared persistence only).  False when
        they deleted it; it is then marked deleted here too."""
        if self.persistence.refresh_stale(self):
            return True
        self._ovo.deleted = True
        cinder_ovo.reset_changes(self._ovo)
        return False

    def _require_existing(self) -> None:
        """``_catch_up``, raising the not-found error if it is gone."""
        if not self._catch_up() or self._ovo.deleted:
            raise self._not_found()

    def _not_found(self) -> Exception:
        return self._not_found_error(self.id)

    @classmethod
    def _stored_copies(cls, **filters: Any) -> list[Any]:
        """The plugin's ``get_<kind>s(**filters)``."""
        found: list[Any] = getattr(_runtime.persistence(),
                                   cls._GET)(**filters)
        return found

    @staticmethod
    def _stored_by_id(plugin: Any, object_id: Any) -> list[Any]:
        """The plugin's ``get_<kind>s(<kind>_id=object_id)``, its keyword
        written out (a call with ``**`` takes twice as long)."""
        raise NotImplementedError

    @classmethod
    def get_by_id(cls: type[_R], object_id: Optional[str] = None,
                  **id_keyword: str) -> _R:
        """The stored object with this id, given by position or, as the
        retired library named it, as ``<kind>_id`` (``volume_id=``,
        ``snapshot_id=``, ``connection_id=``); raises the class's
        not-found error (``VolumeNotFound``...)."""
        keyword = cls._ID_KEYWORD
        if id_keyword:
            if object_id is not None or set(id_keyword) != {keyword}:
                raise TypeError(f'get_by_id() takes one id, by position or '
                                f'as {keyword}=')
            object_id = id_keyword[keyword]
        found: list[_R] = cls._stored_by_id(_runtime.persistence(),
                                            object_id)
        if not found:
            raise cls._not_found_error(cast(str, object_id))
        return found[0]

    def refresh(self) -> None:
        """Reload this object from persistence: what is stored now, unsaved
        changes dropped; raises the not-found error if it is gone."""
        self._forget_local_state()
        found = self._stored_by_id(_runtime.persistence(), self.id)
        if not found:
            raise self._not_found()
        if found[0] is not self:
            self._ovo = found[0]._ovo
            self.__dict__.pop('_stored', None)  # not built from it now
            self._take_plugin_attributes(found[0])
            self._refreshed()

    def _forget_local_state(self) -> None:
        """``refresh()``'s first step: drop unsaved changes, and what the
        plugin keeps about the stored version seen (its slot), so that
        the plugin hands back what it stores now."""
        if '_ovo' in self.__dict__:
            cinder_ovo.reset_changes(self._ovo)
        self.__dict__.pop('_plugin_slot', None)

    def _refreshed(self) -> None:
        """Called when ``refresh()`` took a newer copy's Cinder object."""

    def save(self) -> None:
        """Store this object (the plugin's ``set_<kind>``)."""
        getattr(self.persistence, self._SET)(self)

    def _adopt_state(self, other: 'Resource') -> None:
        """Take the state of another copy of this object (a newer row)."""
        for name in ('_ovo', '_stored'):
            self.__dict__.pop(name, None)
            if name in other.__dict__:
                self.__dict__[name] = other.__dict__[name]
        if '_ovo' in self.__dict__:
            self._ovo_built()

    def __repr__(self) -> str:
        ovo = self._ovo
        return (f'<{type(self).__name__} {self.id} '
                f'status={ovo.get(self.STATUS_FIELD, None)!r} '
                f'backend={self.backend_name!r}>')

    def __eq__(self, other: Any) -> bool:
        return type(self) is type(other) and self.id == other.id

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    @property
    def backend(self) -> AnyBackend:
        """The backend; after ``unload()`` and loading a backend of the
        same name again, the new one."""
        backend = self._backend = _runtime.current(self._backend)
        return backend

    @backend.setter
    def backend(self, backend: AnyBackend) -> None:
        self._backend = backend

    @property
    def id(self) -> str:
        stored: Optional[StoredState] = self.__dict__.get('_stored')
        if stored is not None:
            return stored.id
        return cinder_ovo.id_of(self._ovo)

    @property
    def backend_name(self) -> str:
        return self.backend.id

    @property
    def persistence(self) -> Any:
        return _runtime.persistence()

    @staticmethod
    def _new_id(given: Optional[str], field: str = 'id') -> str:
        """``given`` checked, or a new UUID if it is None or empty (as
        the retired library did: protobuf's unset string is empty)."""
        if given is None or given == '':
            return new_uuid4()
        return validation.resource_id(
            given, _runtime.options().non_uuid_ids, field)

    def _refuse_existing(self) -> None:
        """Before creating this object: refuse if one with its id is
        stored (that one is left as it is), unless it is this very object
        whose creation failed: creating it again is a retry.  Skipped for
        a new random id (a query less per creation)."""
        if self._has_new_random_id():
            return
        try:
            found = self._stored_by_id(_runtime.persistence(), self.id)
        except exception.InvalidStoredData:  # there, though unreadable
            found = [None]
        if found and not (found[0] is self and self._ovo.get(
                'status', None) == Status.ERROR):
            raise exception.AlreadyExists(self.KIND, self.id)

    def _context(self) -> Any:
        return self.backend.context

    def _fail(self, exc: BaseException, status: Optional[str]) -> None:
        """Record a failed operation, then let the caller re-raise."""
        if status is not None:
            self._ovo.status = status
        try:
            # ignore: an attribute of our own on whatever was raised
            exc.resource = self  # type: ignore[attr-defined]
        except AttributeError:
            pass
        self.save()

    def _delete(self, driver_call: Callable[[Any], Any]) -> None:
        """Delete a volume or snapshot, its lock held: record
        ``deleting``, call the driver (``driver_call(driver)``), then
        delete the record; a failure is recorded as ``error_deleting``."""
        self._save_status('status', Status.DELETING)
        try:
            driver_call(self.backend.driver)
        except Exception as exc:
            self._fail(exc, Status.ERROR_DELETING)
            raise
        getattr(self.persistence, f'delete_{self.KIND}')(self)

    def _save_status(self, field: str, value: str) -> None:
        """Record ``field`` = ``value`` (an operation starting) before
        calling the driver; if it cannot be saved, the object keeps its
        previous value, as the operation did not happen."""
        ovo = self._ovo
        previous = getattr(ovo, field)
        unsaved = cinder_ovo.field_changed(ovo, field)
        setattr(ovo, field, value)
        try:
            self.save()
        except Exception:
            setattr(ovo, field, previous)
            if not unsaved:
                ovo.obj_reset_changes([field])
            raise

    # -- serialization --------------------------------------------------------
    def _to_primitive(self, simplified: bool,
                      copy: bool = True) -> dict[str, Any]:
        """The Cinder object's primitive; without ``copy`` it may share
        dicts and lists with the object (to be encoded at once)."""
        skip = self._SKIP_IN_JSON if simplified else ()
        stored = self.__dict__.get('_stored')
        if stored is None or not stored.reusable:
            return cinder_ovo.to_primitive(self._ovo, skip, copy)
        data = {name: value for name, value in
                stored.primitive['versioned_object.data'].items()
                if name not in skip}
        return dict(stored.primitive, **{'versioned_object.data': data})

    def to_json(self, simplified: bool = True) -> dict[str, Any]:
        """This object as a JSON-able dict (``cinderlib.load`` reads it);
        ``simplified`` leaves out nested back-references (a connection's
        or snapshot's volume, a volume's snapshots and connections), as
        the retired library did by default.  ``json`` is the full form."""
        return {'class': type(self).__name__,
                'backend': self.backend.config,
                'ovo': self._to_primitive(simplified)}

    def to_jsons(self, simplified: bool = True) -> str:
        members = (('class', jsontext.dumps(type(self).__name__)),
                   ('backend', self.backend.config_text))
        # Stored text used as is: no decoding and encoding again.
        text = self._primitive_text(simplified)
        if text is None:
            return jsontext.compose_acyclic(
                members, 'ovo', self._to_primitive(simplified, copy=False))
        return jsontext.compose(members + (('ovo', text),))

    def _primitive_text(self, simplified: bool) -> Optional[str]:
        """The primitive's JSON text from stored state, if the object was
        not rebuilt since it was loaded; None otherwise."""
        stored: Optional[StoredState] = self.__dict__.get('_stored')
        if stored is None or not simplified or not stored.reusable:
            return None
        stored.primitive  # checked before it is handed out
        return stored.text

    @property
    def json(self) -> dict[str, Any]:
        return self.to_json(simplified=False)

    @property
    def jsons(self) -> str:
        return self.to_jsons(simplified=False)

    @property
    def dump(self) -> dict[str, Any]:
        self._load_lazy()
        return self.to_json(simplified=False)

    @property
    def dumps(self) -> str:
        self._load_lazy()
        return self.to_jsons(simplified=False)

    def to_dict(self) -> dict[str, Any]:
        """The Cinder object's data without the versioned-object envelopes:
        ``{'volume': {'id': ..., 'size': ...}}``, nested objects alike."""
        return cast('dict[str, Any]', _plain_data(self.json['ovo']))

    @classmethod
    def load(cls, json_src: Any, save: bool = False) -> Any:
        """``cinderlib.load()`` of one serialized object of this class."""
        obj = _runtime.load(json_src, save)
        if not isinstance(obj, cls):
            raise exception.InvalidSerializedData(
                f'expected a serialized {cls.__name__}, got '
                f'{type(obj).__name__}')
        return obj

    @staticmethod
    def new_uuid() -> str:
        return new_uuid4()

    def _load_lazy(self) -> None:
        """Load lazy attributes so that ``dump`` includes them."""

    @classmethod
    def _check_class(cls, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or data.get('class') != cls.__name__:
            raise exception.InvalidSerializedData(
                f'expected a serialized {cls.__name__}, got {data!r:.200}')
        for key in ('backend', 'ovo'):
            if key not in data:
                raise exception.InvalidSerializedData(
                    f'serialized {cls.__name__} has no {key!r} key')
        return data


def _plain_data(primitive: Any) -> Any:
    if isinstance(primitive, dict):
        if 'versioned_object.data' in primitive:
            name = primitive['versioned_object.name'].lower()
            return {name: _plain_data(primitive['versioned_object.data'])}
        return {key: _plain_data(value) for key, value in primitive.items()}
    if isinstance(primitive, list):
        return [_plain_data(item) for item in primitive]
    return primitive


class VolumeChild(Resource):
    """A snapshot or connection: it belongs to one volume."""

    _volume: Optional[Volume] = None

    def _bind_volume(self, volume: Volume) -> None:
        self._volume = volume

    @property
    def volume_id(self) -> str:
        stored = self.__dict__.get('_stored')
        if stored is not None:  # no need to rebuild the Cinder object
            return cast(str,
                        stored.primitive['versioned_object.data']['volume_id'])
        return cast(str, self._ovo.volume_id)

    @property
    def volume(self) -> Volume:
        """The volume (loaded from persistence on first use)."""
        if self._volume is None:
            self._bind_volume(cast('Volume', Resource.class_of(
                'volume').get_by_id(self._ovo.volume_id)))
        return cast('Volume', self._volume)  # bound above if it was not

    @volume.setter
    def volume(self, volume: Volume) -> None:
        if volume.id != self.volume_id:
            raise exception.InvalidArgument(
                'volume', f'{type(self).__name__.lower()} {self.id} belongs '
                          f'to volume {self.volume_id}, not {volume.id}')
        self._bind_volume(volume)
