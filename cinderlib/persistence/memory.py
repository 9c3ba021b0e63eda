"""The ``memory`` persistence plugin: objects live as long as the process."""

from __future__ import annotations

import threading
from typing import Any, Optional, TypeVar, cast

from cinderlib.objects import Connection, KeyValue, Snapshot, Volume
from cinderlib.persistence import base

_K = TypeVar('_K')
_T = TypeVar('_T')


class MemoryPersistence(base.PersistenceDriverBase):
    """Objects in dictionaries of this process, which live as long as the
    process; thread-safe."""

    private = True

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self.volumes: dict[str, Volume] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.connections: dict[str, Connection] = {}
        self.key_values: dict[str, KeyValue] = {}
        # Volume ids by the name each volume was last stored with (get by
        # name is a lookup, not a scan), and that name by id.
        self._volume_ids_named: dict[str, dict[str, None]] = {}
        self._volume_name: dict[str, str] = {}

    @staticmethod
    def _matching(store: dict[_K, _T], object_id: Optional[_K],
                  **filters: Any) -> list[_T]:
        """The objects matching every filter; a None or empty filter
        (``''``, as protobuf gives for an unset field) is no filter."""
        if object_id:
            try:
                found = store.get(object_id)
            except TypeError:  # unhashable: no object has that id
                found = None
            candidates = [found] if found is not None else []
        else:
            candidates = list(store.values())
        filters = {name: value for name, value in filters.items() if value}
        return [item for item in candidates
                if all(getattr(item, name) == value
                       for name, value in filters.items())]

    def get_volumes(self, volume_id: Optional[str] = None,
                    volume_name: Optional[str] = None,
                    backend_name: Optional[str] = None) -> list[Volume]:
        if volume_id and not (volume_name or backend_name):
            # By id alone (get_by_id, refresh): one lookup, which needs
            # no lock (one dict read; what writers change together with
            # it is not read).
            try:
                volume = self.volumes.get(volume_id)
            except TypeError:  # unhashable: no volume has that id
                volume = None
            return [] if volume is None else [volume]
        with self._lock:
            if volume_name and not volume_id:
                # By the name it was stored with, as the db plugin finds
                # it (a rename not saved yet does not count).
                try:
                    named = self._volume_ids_named.get(volume_name, {})
                except TypeError:  # unhashable: no volume has that name
                    named = {}
                return self._matching(
                    {object_id: self.volumes[object_id]
                     for object_id in named}, None,
                    backend_name=backend_name)
            found = self._matching(self.volumes, volume_id,
                                   backend_name=backend_name)
            if volume_name:
                found = [volume for volume in found
                         if self._volume_name.get(volume.id) == volume_name]
            return found

    def get_snapshots(self, snapshot_id: Optional[str] = None,
                      snapshot_name: Optional[str] = None,
                      volume_id: Optional[str] = None) -> list[Snapshot]:
        with self._lock:
            return self._matching(self.snapshots, snapshot_id,
                                  name=snapshot_name, volume_id=volume_id)

    def get_connections(self, connection_id: Optional[str] = None,
                        volume_id: Optional[str] = None
                        ) -> list[Connection]:
        with self._lock:
            return self._matching(self.connections, connection_id,
                                  volume_id=volume_id)

    def get_key_values(self, key: Optional[str] = None) -> list[KeyValue]:
        with self._lock:
            # Copies: what callers do with them does not change the store.
            return [KeyValue(kv.key, kv.value)
                    for kv in self._matching(self.key_values, key)]

    def set_volume(self, volume: Volume) -> None:
        with self._lock:
            volume_id, name = volume.id, volume.name
            self.volumes[volume_id] = volume
            if name is None or self._volume_name.get(volume_id) != name:
                self._index_name(volume_id, name)
        super().set_volume(volume)

    def _index_name(self, volume_id: str, name: Optional[str]) -> None:
        old = self._volume_name.pop(volume_id, None)
        if old is not None:
            named = self._volume_ids_named[old]
            del named[volume_id]
            if not named:
                del self._volume_ids_named[old]
        if name is not None:
            self._volume_name[volume_id] = name
            self._volume_ids_named.setdefault(name, {})[volume_id] = None

    def set_snapshot(self, snapshot: Snapshot) -> None:
        with self._lock:
            self.snapshots[snapshot.id] = snapshot
        super().set_snapshot(snapshot)

    def set_connection(self, connection: Connection) -> None:
        with self._lock:
            self.connections[connection.id] = connection
        super().set_connection(connection)

    def set_key_value(self, key_value: KeyValue) -> None:
        key = cast(str, key_value.key)  # checked before this runs
        with self._lock:
            self.key_values[key] = KeyValue(key, key_value.value)
        super().set_key_value(key_value)

    def set_objects(self, objects: list[Any]) -> None:
        with self._lock:  # all of them, or none: as they were before
            # Each maps ids to objects of one kind.
            stores: tuple[dict[str, Any], ...] = (
                self.volumes, self.snapshots, self.connections)
            before = [dict(store) for store in stores]
            names = dict(self._volume_name)
            try:
                for obj in objects:
                    getattr(self, f'set_{base.object_kind(obj)}')(obj)
            except BaseException:
                for store, saved in zip(stores, before):
                    store.clear()
                    store.update(saved)
                self._volume_ids_named.clear()
                self._volume_name.clear()
                for object_id, name in names.items():
                    self._index_name(object_id, name)
                raise

    def delete_volume(self, volume: Volume) -> None:
        with self._lock:
            if self.volumes.pop(volume.id, None) is not None:
                self._index_name(volume.id, None)
        super().delete_volume(volume)

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        with self._lock:
            self.snapshots.pop(snapshot.id, None)
        super().delete_snapshot(snapshot)

    def delete_connection(self, connection: Connection) -> None:
        with self._lock:
            self.connections.pop(connection.id, None)
        super().delete_connection(connection)

    def delete_key_value(self, key_value: KeyValue) -> None:
        if isinstance(key_value.key, str):  # no other key is stored
            with self._lock:
                self.key_values.pop(key_value.key, None)
        super().delete_key_value(key_value)
