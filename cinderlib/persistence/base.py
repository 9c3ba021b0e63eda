"""The contract every persistence plugin fulfils.

A plugin stores cinderlib's ``Volume``, ``Snapshot``, ``Connection`` and
``KeyValue`` objects.  Subclasses implement the ``get_*`` methods and the
storage part of ``set_*``/``delete_*``, then call the base method through
``super()``, which does the bookkeeping every plugin shares: ``set_*``
marks the object saved (``get_changed_fields`` is then empty), ``delete_*``
marks it deleted.  ``db`` is the Cinder DB shim drivers are given: it
answers from this plugin, so a plugin never deals with Cinder's database.

Plugins written for cinderlib 5.x keep working unmodified: they may build
the shim themselves with ``DB(self)`` (before calling this class's
``__init__`` or without calling it) and return it from their own ``db``
property; create a record when ``'id'`` is among ``get_changed_fields()``
(an object never stored) and update it otherwise; return new copies of
the objects from every ``get_*`` (e.g. through ``cinderlib.load()``) and
keep attributes of their own on them.  ``persistence.rst`` in the
documentation states the whole contract.
"""

from __future__ import annotations

import functools
import logging
import weakref
from typing import Any, Callable, Optional, TypeVar

from cinderlib import exception
from cinderlib import validation
from cinderlib.cinder import db_shim
from cinderlib.cinder import ovo as cinder_ovo
from cinderlib.objects import Connection, KeyValue, Snapshot, Volume
from cinderlib.objects.base import Resource
from cinderlib.states import AttachStatus, Status

LOG = logging.getLogger(__name__)

#: The Cinder DB shim drivers see, built from a plugin: ``DB(plugin)``
#: (the name plugins written for cinderlib 5.x use).
DB = db_shim.CinderDbShim

# The longest key a plugin must store (the db plugin's column), and the
# longest value: key-values are small records (a node's connector dict).
MAX_KEY_LENGTH = 255
MAX_VALUE_LENGTH = 1024 * 1024

_R = TypeVar('_R', bound='Resource')


class PersistenceDriverBase:
    """Base class of persistence plugins; see the module docstring."""

    def __init__(self, **kwargs: Any) -> None:
        if kwargs:
            # cinderlib 5.x ignored them too; subclasses pass them on.
            LOG.warning('%s ignores persistence options %s',
                        type(self).__name__, ', '.join(sorted(kwargs)))
        self._db_shim: Optional[db_shim.CinderDbShim] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Key-values are checked before any plugin code stores them, also
        # in plugins that do not call this class's set_key_value.
        own = cls.__dict__.get('set_key_value')
        if own is not None and not getattr(own, '_checks_key_value', False):
            setattr(cls, 'set_key_value', _checking_key_value(own))

    @property
    def db(self) -> 'db_shim.CinderDbShim':
        """The DB shim drivers call as ``self.db``; served from this plugin."""
        shim: Optional[db_shim.CinderDbShim] = getattr(
            self, '_db_shim', None)
        if shim is None:
            shim = self._db_shim = DB(self)
        return shim

    #: Whether other processes may change what this plugin stores (a
    #: database): objects then catch up with the store under their lock.
    shared = False

    #: Whether only this process can see what the plugin stores (objects
    #: in its memory): an object made here with a new random id is then
    #: locked among this process's threads only until it is first stored
    #: (see ``locks.locked``): no other process or host can know its id.
    private = False

    #: Whether ``set_objects`` stores its objects in one transaction, at
    #: the cost of one ``set_*``: an operation that records several
    #: objects at the same step then does it in one commit.
    transactional = False

    @staticmethod
    def object_slot(obj: Resource) -> dict[str, Any]:
        """A dict on ``obj`` that belongs to the persistence plugin: what
        it keeps about the object (the ``db`` plugin: the version of its
        row it last read or wrote), never attributes of its own on the
        object.  ``refresh()`` empties it before reading the object again,
        and a copy that takes a newer copy's state there takes its slot
        too."""
        return obj._plugin_slot

    def refresh_stale(self, obj: Resource) -> bool:
        """Bring ``obj`` up to date if another process stored a newer
        version (called by operations once they hold the object's lock).
        Returns False when the object no longer exists in the store.
        Unsaved changes are kept (their save then reports the conflict).

        This version makes ``obj`` the copy drivers see through ``db``
        during the operation; plugins whose objects only this process
        changes keep it, and overrides call it.
        """
        self._work_on(obj)
        return True

    # -- queries: filters AND together, a None or empty filter is no filter,
    # -- unknown ids give [] ------------------------------------------------
    def get_volumes(self, volume_id: Optional[str] = None,
                    volume_name: Optional[str] = None,
                    backend_name: Optional[str] = None) -> list[Volume]:
        raise NotImplementedError

    def get_snapshots(self, snapshot_id: Optional[str] = None,
                      snapshot_name: Optional[str] = None,
                      volume_id: Optional[str] = None) -> list[Snapshot]:
        raise NotImplementedError

    def get_connections(self, connection_id: Optional[str] = None,
                        volume_id: Optional[str] = None
                        ) -> list[Connection]:
        raise NotImplementedError

    def get_key_values(self, key: Optional[str] = None) -> list[KeyValue]:
        raise NotImplementedError

    # -- upserts --------------------------------------------------------------
    def set_volume(self, volume: Volume) -> None:
        self._stored(volume)

    def set_snapshot(self, snapshot: Snapshot) -> None:
        self._stored(snapshot)

    def set_connection(self, connection: Connection) -> None:
        self._stored(connection)

    def set_key_value(self, key_value: KeyValue) -> None:
        """Store ``key_value`` (an upsert).  Overrides need not call this:
        the key-value is checked (``check_key_value``) before they run."""

    def set_objects(self, objects: list[Any]) -> None:
        """Store volumes, snapshots and connections together: every one
        of them, or, when a write fails, none (``load(save=True)``).

        This version undoes the writes done before the failure: it
        deletes the objects that were not stored and stores again what
        ``get_*`` returned before (with what the plugin keeps on the
        objects it returns, such as a version, read afresh).
        A plugin with transactions overrides it with one transaction.
        """
        done = []
        try:
            for obj in objects:
                kind = object_kind(obj)
                previous = self._stored_copy(kind, obj.id)
                getattr(self, f'set_{kind}')(obj)
                done.append((kind, obj, previous))
        except BaseException:
            for kind, obj, previous in reversed(done):
                try:
                    self._undo_write(kind, obj, previous)
                except Exception:
                    LOG.warning('Could not undo the write of %s %s',
                                kind, obj.id, exc_info=True)
            raise

    def _stored_copy(self, kind: str, object_id: str) -> Any:
        found = getattr(self, f'get_{kind}s')(
            **{f'{kind}_id': object_id})
        return found[0] if found else None

    def _undo_write(self, kind: str, obj: Any, previous: Any) -> None:
        if previous is None:
            getattr(self, f'delete_{kind}')(obj)
            return
        current = self._stored_copy(kind, obj.id)
        if current is not None and current is not previous:
            previous._take_plugin_attributes(current)
        getattr(self, f'set_{kind}')(previous)

    # -- deletions ------------------------------------------------------------
    def delete_volume(self, volume: Volume) -> None:
        self._deleted(volume)

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        self._deleted(snapshot)

    def delete_connection(self, connection: Connection) -> None:
        self._deleted(connection)

    def delete_key_value(self, key_value: KeyValue) -> None:
        pass

    # -- helpers for subclasses -----------------------------------------------
    @classmethod
    def get_changed_fields(cls, resource: Resource) -> dict[str, Any]:
        """The fields of ``resource`` changed since it was last stored, as
        ``{name: value}``, without nested objects; for a volume whose type
        changed, also ``extra_specs`` and ``qos_specs``.  For an object
        never stored, every field (``get_fields``): ``'id'`` is then
        among them."""
        ovo = resource._ovo
        changed = ovo.obj_what_changed()
        if 'id' in changed:
            return cls.get_fields(resource)
        plain = cinder_ovo.plain_fields(type(ovo))
        result = {name: getattr(ovo, name) for name in changed
                  if name in plain}
        volume_type = _volume_type(ovo)
        if volume_type is not None:
            type_changes = volume_type.obj_what_changed()
            if 'extra_specs' in type_changes and volume_type.extra_specs:
                result['extra_specs'] = volume_type.extra_specs
            qos = volume_type.qos_specs
            if 'qos_specs' in type_changes and qos is not None:
                result['qos_specs'] = qos.specs
        return result

    @staticmethod
    def get_fields(resource: Resource) -> dict[str, Any]:
        """Every field of ``resource`` that is set, as ``{name: value}``,
        without nested objects; for a volume with a type, also
        ``extra_specs`` and ``qos_specs`` (when it has QoS specs)."""
        ovo = resource._ovo
        extra = set(getattr(ovo, 'obj_extra_fields', ()))
        result = {name: getattr(ovo, name)
                  for name in cinder_ovo.plain_fields(type(ovo))
                  if name not in extra and ovo.obj_attr_is_set(name)}
        volume_type = _volume_type(ovo)
        if result.get('volume_type_id') and volume_type is not None:
            result['extra_specs'] = volume_type.extra_specs
            if volume_type.qos_specs_id and volume_type.qos_specs:
                result['qos_specs'] = volume_type.qos_specs.specs
        return result

    @staticmethod
    def reset_change_tracker(resource: Resource,
                             fields: Optional[Any] = None) -> None:
        """Mark ``resource`` saved: all of it, or the fields named in
        ``fields`` (a name or a sequence of names)."""
        if fields is None:
            cinder_ovo.reset_changes(resource._ovo)
            return
        if isinstance(fields, str):
            fields = (fields,)
        resource._ovo.obj_reset_changes(list(fields))

    @staticmethod
    def _set_deleted(resource: Resource) -> None:
        ovo = resource._ovo
        ovo.deleted = True
        ovo.deleted_at = cinder_ovo.utcnow()
        if 'status' in ovo.fields and ovo.status != Status.ERROR_DELETING:
            ovo.status = Status.DELETED
        if 'attach_status' in ovo.fields and 'volume_id' in ovo.fields:
            ovo.attach_status = AttachStatus.DETACHED
        cinder_ovo.reset_changes(ovo)

    # -- the copies drivers see -----------------------------------------------
    def working_copy(self, kind: str, found: _R) -> _R:
        """The copy of the object ``found`` (which ``get_<kind>s`` just
        returned) that this process is working on: the one last stored,
        or whose operation started, here.  The DB shim hands it to
        drivers, so that what they change reaches the object the library
        saves next, also with plugins that return new copies."""
        working: Optional[_R] = self._working_copies().get(
            (kind, found.id))
        return found if working is None else working

    def _working_copies(self) -> weakref.WeakValueDictionary[
            tuple[str, str], Any]:
        # Created on first use: 5.x plugins may not call __init__.
        copies: Optional[weakref.WeakValueDictionary[tuple[str, str], Any]]
        copies = self.__dict__.get('_working')
        if copies is None:
            copies = self.__dict__.setdefault(
                '_working', weakref.WeakValueDictionary())
        return copies

    def _work_on(self, obj: Resource) -> None:
        copies = self._working_copies()
        key = (object_kind(obj), obj.id)
        # Its weak reference read as WeakValueDictionary.get reads it (in
        # its ``data``, a dict of weak references since Python 2), without
        # the Python-level call: every save comes here.
        working = copies.data.get(key)  # type: ignore[attr-defined]
        if working is None or working() is not obj:
            copies[key] = obj

    def _stored(self, obj: Resource) -> None:
        """What every ``set_*`` does once ``obj`` is stored."""
        self.reset_change_tracker(obj)
        self._work_on(obj)

    def _deleted(self, obj: Resource) -> None:
        """What every ``delete_*`` does once ``obj`` is deleted."""
        self._set_deleted(obj)
        key = (object_kind(obj), obj.id)
        copies = self._working_copies()
        if copies.get(key) is obj:
            del copies[key]


def check_key_value(key_value: Any) -> None:
    """Refuse a key-value no plugin can store and read back: its key must
    be a non-empty string of at most 255 characters, its value a string
    (JSON text, for instance) of at most 1 MiB characters, neither with
    NUL characters nor lone surrogates.  Raises ``InvalidArgument`` or
    ``InvalidArgumentType`` naming ``key`` or ``value``."""
    try:
        key, value = key_value.key, key_value.value
    except AttributeError:
        raise exception.InvalidArgumentType(
            'key_value', f'must be a cinderlib.KeyValue, got '
                         f'{type(key_value).__name__}') from None
    if not isinstance(key, str) or not key:
        raise exception.InvalidArgumentType(
            'key', f'must be a non-empty string, got {key!r:.60}')
    validation.text(key, 'key', MAX_KEY_LENGTH)
    if not isinstance(value, str):
        raise exception.InvalidArgumentType(
            'value', f'of key {key!r:.60} must be a string (e.g. JSON '
                     f'text), got {type(value).__name__}')
    try:
        validation.text(value, 'value', MAX_VALUE_LENGTH)
    except exception.InvalidArgument as exc:
        raise exception.InvalidArgument(
            'value', f'of key {key!r:.60}: {exc.reason}') from None


def _checking_key_value(
        set_key_value: Callable[[Any, Any], None]) -> Callable[[Any, Any],
                                                               None]:
    @functools.wraps(set_key_value)
    def checked(self: Any, key_value: Any) -> None:
        check_key_value(key_value)
        set_key_value(self, key_value)
    # ignore: a marker attribute on the function
    checked._checks_key_value = True  # type: ignore[attr-defined]
    return checked


def _volume_type(ovo: Any) -> Any:
    """A volume's type, if set (reading an unset one would lazy-load it)."""
    if 'volume_type' in ovo.fields and ovo.obj_attr_is_set('volume_type'):
        return ovo.volume_type
    return None


def vol_type_to_dict(volume_type: Any) -> dict[str, Any]:
    """A volume type (a Cinder object) as the dict Cinder's database API
    returns, its QoS specs as a dict too (as in cinderlib 5.x)."""
    data: dict[str, Any] = cinder_ovo.to_primitive(volume_type)[
        'versioned_object.data']
    if data.get('qos_specs'):
        data['qos_specs'] = data['qos_specs']['versioned_object.data']
    return data


def object_kind(obj: Any) -> str:
    """``'volume'``, ``'snapshot'`` or ``'connection'``: the word in the
    names of the plugin methods that store ``obj`` (its class's
    ``KIND``)."""
    kind: Optional[str] = getattr(type(obj), 'KIND', None)
    if kind is None or not isinstance(obj, Resource):
        raise TypeError(f'not a Volume, Snapshot or Connection: {obj!r}')
    return kind
