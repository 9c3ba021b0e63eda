"""The contract every persistence plugin fulfils.

A plugin stores cinderlib's ``Volume``, ``Snapshot``, ``Connection`` and
``KeyValue`` objects.  Subclasses implement the ``get_*`` methods and the
storage part of ``set_*``/``delete_*``, then call the base method, which
does the bookkeeping every plugin shares (marking an object saved or
deleted).  ``db`` is the Cinder DB shim drivers are given: it answers from
this plugin, so a plugin never deals with Cinder's database API.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Optional

from cinderlib import cinder_glue

if TYPE_CHECKING:
    from cinderlib.objects import Connection, KeyValue, Snapshot, Volume
    from cinderlib.objects.base import Resource

LOG = logging.getLogger(__name__)


class PersistenceDriverBase:
    """Base class of persistence plugins; see the module docstring."""

    def __init__(self, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f'{type(self).__name__} takes no arguments '
                            f'{sorted(kwargs)}')
        self._db_shim: Optional[cinder_glue.CinderDbShim] = None

    @property
    def db(self) -> 'cinder_glue.CinderDbShim':
        """The DB shim drivers call as ``self.db``; served from this plugin."""
        shim: Optional[cinder_glue.CinderDbShim] = getattr(
            self, '_db_shim', None)
        if shim is None:
            shim = self._db_shim = cinder_glue.CinderDbShim(self)
        return shim

    #: Whether other processes may change what this plugin stores (a
    #: database): objects then catch up with the store under their lock.
    shared = False

    def refresh_stale(self, obj: Resource) -> bool:
        """Bring ``obj`` up to date if another process stored a newer
        version (called by operations once they hold the object's lock).
        Returns False when the object no longer exists in the store.
        Unsaved changes are kept (their save then reports the conflict).
        Plugins whose objects only this process changes keep the default.
        """
        return True

    # -- queries: filters AND together; unknown ids give [] -------------------
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
        self.reset_change_tracker(volume)

    def set_snapshot(self, snapshot: Snapshot) -> None:
        self.reset_change_tracker(snapshot)

    def set_connection(self, connection: Connection) -> None:
        self.reset_change_tracker(connection)

    def set_key_value(self, key_value: KeyValue) -> None:
        pass

    def set_objects(self, objects: list[Any]) -> None:
        """Store volumes, snapshots and connections together: every one
        of them, or, when a write fails, none (``load(save=True)``).

        This version undoes the writes done before the failure: it
        deletes the objects that were not stored and stores again the
        ones ``get_*`` returned before.  A plugin with transactions
        overrides it with one transaction.
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
                    if previous is None:
                        getattr(self, f'delete_{kind}')(obj)
                    else:
                        getattr(self, f'set_{kind}')(previous)
                except Exception:
                    LOG.warning('Could not undo the write of %s %s',
                                kind, obj.id, exc_info=True)
            raise

    def _stored_copy(self, kind: str, object_id: str) -> Any:
        found = getattr(self, f'get_{kind}s')(
            **{f'{kind}_id': object_id})
        return found[0] if found else None

    # -- deletions ------------------------------------------------------------
    def delete_volume(self, volume: Volume) -> None:
        self._set_deleted(volume)

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        self._set_deleted(snapshot)

    def delete_connection(self, connection: Connection) -> None:
        self._set_deleted(connection)

    def delete_key_value(self, key_value: KeyValue) -> None:
        pass

    # -- helpers for subclasses -----------------------------------------------
    @staticmethod
    def get_changed_fields(resource: Resource) -> dict[str, Any]:
        """Fields of ``resource`` changed since it was last stored."""
        return cinder_glue.changed_fields(resource._ovo)

    @staticmethod
    def reset_change_tracker(resource: Resource) -> None:
        cinder_glue.reset_changes(resource._ovo)

    @staticmethod
    def _set_deleted(resource: Resource) -> None:
        ovo = resource._ovo
        ovo.deleted = True
        ovo.deleted_at = cinder_glue.utcnow()
        if 'status' in ovo.fields and ovo.status != 'error_deleting':
            ovo.status = 'deleted'
        if 'attach_status' in ovo.fields and 'volume_id' in ovo.fields:
            ovo.attach_status = 'detached'
        cinder_glue.reset_changes(ovo)


def object_kind(obj: Any) -> str:
    """``'volume'``, ``'snapshot'`` or ``'connection'``: the word in the
    names of the plugin methods that store ``obj``."""
    from cinderlib.objects import Connection, Snapshot, Volume
    for cls, kind in ((Volume, 'volume'), (Snapshot, 'snapshot'),
                      (Connection, 'connection')):
        if isinstance(obj, cls):
            return kind
    raise TypeError(f'not a Volume, Snapshot or Connection: {obj!r}')
