"""Snapshots of volumes, and volumes created from them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, cast

from cinderlib import exception
from cinderlib import locks
from cinderlib._runtime import AnyBackend
from cinderlib.cinder import ovo as cinder_ovo
from cinderlib.objects import adoption
from cinderlib.objects import base
from cinderlib.states import SNAPSHOTTABLE, Status

if TYPE_CHECKING:
    from cinderlib.objects.volume import Volume


class Snapshot(base.VolumeChild):
    """A snapshot of a volume, wrapping Cinder's ``objects.Snapshot``."""

    KIND = 'snapshot'
    OVO_NAME = 'Snapshot'
    _SKIP_IN_JSON = ('volume',)

    @staticmethod
    def _stored_by_id(plugin: Any, object_id: Any) -> list[Any]:
        found: list[Any] = plugin.get_snapshots(snapshot_id=object_id)
        return found

    def __init__(self, volume: Volume, **kwargs: Any) -> None:
        """A snapshot of ``volume`` not yet created: call ``create()``.

        ``kwargs`` are ``name``, ``description`` and Cinder's Snapshot
        fields (``id``, ``metadata``...), each checked; ``backend``,
        ``volume_id``, ``volume_size`` and ``volume_type_id`` may be given
        (the retired library took them) if they are the volume's.
        """
        kwargs = base.named_fields(kwargs)
        backend = kwargs.pop('backend', None)
        if isinstance(backend, str):
            backend = base.backend_named(backend)
        if backend is not None and backend is not volume.backend:
            raise exception.InvalidArgument(
                'backend', f'{backend!r} is not the backend of volume '
                           f'{volume.id}')
        vol_ovo = volume._ovo
        for field, value in (('volume_id', volume.id),
                             ('volume_type_id', vol_ovo.volume_type_id)):
            base.same_value(kwargs, field, value)
        # The volume's size: create() takes it again under the lock.
        size = kwargs.pop('volume_size', vol_ovo.size)
        if size != vol_ovo.size:
            raise exception.InvalidArgument(
                'volume_size', f'must be the size of volume {volume.id} '
                               f'({vol_ovo.size} GiB), got {size!r:.60}')
        made_id = kwargs.get('id') in (None, '')
        snapshot_id = self._new_id(kwargs.pop('id', None))
        fields = cinder_ovo.check_fields(
            cinder_ovo.objects_module().Snapshot, kwargs, 'snapshot')
        context = volume.backend.context
        values = {
            'display_name': '', 'display_description': '', 'metadata': {},
            'status': Status.CREATING, 'user_id': context.user_id,
            'project_id': context.project_id,
            'created_at': cinder_ovo.utcnow(), 'deleted': False, **fields}
        # Every value is valid as it is (made here, or checked above).
        ovo = cinder_ovo.new_snapshot_fast(context, vol_ovo, dict(
            values, id=snapshot_id, volume_id=volume.id,
            volume_size=vol_ovo.size,
            volume_type_id=vol_ovo.volume_type_id))
        super().__init__(volume.backend, ovo)
        self._volume: Optional[Volume] = volume
        self._mark_unstored()
        if made_id:
            self._id_made_here = True

    @classmethod
    def _from_ovo(cls, backend: AnyBackend, ovo: Any,
                  volume: Optional[Volume] = None) -> 'Snapshot':
        snapshot = cls.__new__(cls)
        base.Resource.__init__(snapshot, backend, ovo)
        snapshot._volume = None
        if volume is not None:
            snapshot._bind_volume(volume)
        return snapshot

    def _bind_volume(self, volume: Volume) -> None:
        """Drivers read ``snapshot.volume``: the Cinder object holds it."""
        self._volume = volume
        if '_ovo' in self.__dict__:
            self._ovo.volume = volume._ovo

    def _ovo_built(self) -> None:
        if self._volume is not None:
            self._ovo.volume = self._volume._ovo

    @property
    def name(self) -> str:
        return cast(str, self._ovo.display_name)

    @property
    def description(self) -> str:
        return cast(str, self._ovo.display_description)

    @property
    def name_in_storage(self) -> str:
        """The snapshot's name on the storage (Cinder's
        ``snapshot-<id>``)."""
        return cast(str, self._ovo.name)

    def create(self) -> 'Snapshot':
        """Create the snapshot; a failure never changes the volume.  If a
        stored snapshot has its id, ``AlreadyExists`` is raised before
        anything changes."""
        volume = self.volume
        with locks.locked(volume.id, self.id,
                          in_process=self._in_process_ids()):
            self._refuse_existing()
            volume._require_existing()
            if volume.status not in SNAPSHOTTABLE:
                raise exception.InvalidVolume(
                    reason=f'cannot snapshot volume {volume.id} in status '
                           f'{volume.status!r}')
            # The size now, under the lock: it may have grown since.
            self._ovo.volume_size = volume.size
            self.save()
            volume._add_snapshot(self)
            try:
                update = self.backend.driver.create_snapshot(self._ovo)
                for field, value in (update or {}).items():
                    if field in self._ovo.fields:
                        setattr(self._ovo, field, value)
                self._ovo.status = Status.AVAILABLE
                self._ovo.progress = '100%'
            except Exception as exc:
                self._fail(exc, Status.ERROR)
                raise
            self.save()
        return self

    def delete(self) -> None:
        """Delete the snapshot; deleting twice does nothing."""
        volume = self.volume
        with locks.locked(volume.id, self.id):
            if not self._catch_up() or self._ovo.deleted:
                volume._remove_snapshot(self)
                return
            self._delete(lambda driver: driver.delete_snapshot(self._ovo))
            volume._remove_snapshot(self)

    def unmanage(self) -> None:
        """Stop managing the snapshot: the driver's ``unmanage_snapshot``,
        then the record is removed; the snapshot stays on the storage."""
        adoption.unmanage_snapshot(self)

    def create_volume(self, **new_vol_params: Any) -> Volume:
        """A new volume with this snapshot's data.

        ``size`` defaults to the snapshot's volume size and may be larger
        (a float is rounded up to a whole GiB); ``pool_name`` picks the
        pool; other arguments are as for ``Volume``.
        """
        volume = self.volume
        new_vol_params = dict(new_vol_params)
        base.same_value(new_vol_params, 'snapshot_id', self.id)
        new_vol_params.setdefault('size', self._ovo.volume_size)
        new_volume = type(volume)(volume, **new_vol_params)  # a Volume
        if new_volume.size < self._ovo.volume_size:
            raise exception.InvalidArgument(
                'size', f'cannot be smaller than snapshot {self.id} '
                        f'({self._ovo.volume_size} GiB), got '
                        f'{new_volume.size}')
        new_volume._ovo.snapshot_id = self.id
        return new_volume._create(
            lambda driver: driver.create_volume_from_snapshot(
                new_volume._ovo, self._ovo),
            self)

    @classmethod
    def _not_found_error(cls, object_id: str) -> Exception:
        error: Exception = exception.SnapshotNotFound(snapshot_id=object_id)
        return error

    def _refreshed(self) -> None:
        if self._volume is not None:
            self._ovo.volume = self._volume._ovo

    def _load_lazy(self) -> None:
        self.volume

    @classmethod
    def get_by_name(cls, snapshot_name: str) -> list[Snapshot]:
        return cls._stored_copies(snapshot_name=snapshot_name)
