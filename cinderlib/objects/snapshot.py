"""Snapshots of volumes, and volumes created from them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, cast

from cinderlib import cinder_glue
from cinderlib import exception
from cinderlib import locks
from cinderlib.objects import base

if TYPE_CHECKING:
    from cinderlib.backend import Backend
    from cinderlib.objects.volume import Volume
    from cinderlib.serialization import UnloadedBackend


class Snapshot(base.VolumeChild):
    """A snapshot of a volume, wrapping Cinder's ``objects.Snapshot``."""

    _SKIP_IN_JSON = ('volume',)

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
        snapshot_id = self._new_id(kwargs.pop('id', None))
        fields = base.check_fields(cinder_glue.objects_module().Snapshot,
                                   kwargs, 'snapshot')
        context = volume.backend.context
        values = {
            'display_name': '', 'display_description': '', 'metadata': {},
            'status': 'creating', 'user_id': context.user_id,
            'project_id': context.project_id,
            'created_at': cinder_glue.utcnow(), 'deleted': False, **fields}
        ovo = cinder_glue.new_snapshot(
            context, vol_ovo, id=snapshot_id, volume_id=volume.id,
            volume_size=vol_ovo.size, volume_type_id=vol_ovo.volume_type_id,
            **values)
        super().__init__(volume.backend, ovo)
        self._volume: Optional[Volume] = volume
        self._mark_unstored()

    @classmethod
    def _from_ovo(cls, backend: Backend | UnloadedBackend, ovo: Any,
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
        with locks.locked(volume.id, self.id):
            self._refuse_existing()
            volume._require_existing()
            if volume.status not in ('available', 'in-use'):
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
                self._ovo.status = 'available'
                self._ovo.progress = '100%'
            except Exception as exc:
                self._fail(exc, 'error')
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
            self._save_status('status', 'deleting')
            try:
                self.backend.driver.delete_snapshot(self._ovo)
            except Exception as exc:
                self._fail(exc, 'error_deleting')
                raise
            self.persistence.delete_snapshot(self)
            volume._remove_snapshot(self)

    def create_volume(self, **new_vol_params: Any) -> Volume:
        """A new volume with this snapshot's data.

        ``size`` defaults to the snapshot's volume size and may be larger
        (a float is rounded up to a whole GiB); ``pool_name`` picks the
        pool; other arguments are as for ``Volume``.
        """
        from cinderlib.objects.volume import Volume
        volume = self.volume
        new_vol_params = dict(new_vol_params)
        base.same_value(new_vol_params, 'snapshot_id', self.id)
        new_vol_params.setdefault('size', self._ovo.volume_size)
        new_volume = Volume(volume, **new_vol_params)
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

    def _not_found(self) -> Exception:
        error: Exception = exception.SnapshotNotFound(snapshot_id=self.id)
        return error

    def refresh(self) -> None:
        self._forget_local_state()
        found = self.persistence.get_snapshots(snapshot_id=self.id)
        if not found:
            raise exception.SnapshotNotFound(snapshot_id=self.id)
        if found[0] is not self:
            self._ovo = found[0]._ovo
            self._take_plugin_attributes(found[0])
            if self._volume is not None:
                self._ovo.volume = self._volume._ovo

    def save(self) -> None:
        self.persistence.set_snapshot(self)

    def _load_lazy(self) -> None:
        self.volume

    @classmethod
    def get_by_id(cls, snapshot_id: str) -> 'Snapshot':
        found = base.persistence().get_snapshots(snapshot_id=snapshot_id)
        if not found:
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        return found[0]

    @classmethod
    def get_by_name(cls, snapshot_name: str) -> list[Snapshot]:
        return base.persistence().get_snapshots(snapshot_name=snapshot_name)
