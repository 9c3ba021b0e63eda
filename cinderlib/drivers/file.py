"""A Cinder volume driver that keeps each volume as a sparse file.

It is the embedded default backend: it runs on any machine, without root
and without a storage array, so the library's demo, docs and tests work
everywhere.  It is loaded like any Cinder driver::

    Backend(volume_backend_name='files',
            volume_driver='cinderlib.drivers.file.FileVolumeDriver',
            file_volumes_dir='/some/dir')

Copies (clones, snapshots, volumes from snapshots) are copy-on-write
reflinks where the filesystem supports them, and sparse-aware copies of the
data extents otherwise.  Every copy is written to a temporary file and
renamed into place only once complete, so a crash never leaves a partial
file under a volume's name.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import uuid
from typing import Any, Optional

from oslo_config import cfg

from cinder import exception
from cinder import interface
from cinder.volume import configuration
from cinder.volume import driver

GiB = 1024 ** 3
FICLONE = 0x40049409  # ioctl of Linux's copy-on-write file clone
COPY_CHUNK = 8 * 1024 * 1024
TEMP_PREFIX = '.tmp-'

file_opts = [
    cfg.StrOpt('file_volumes_dir', default='$state_path/cinderlib-volumes',
               help='Directory holding the volume and snapshot files.'),
    cfg.BoolOpt('file_use_reflink', default=True,
                help='Make copies copy-on-write (reflink) where the '
                     'filesystem supports it.'),
]
cfg.CONF.register_opts(file_opts, group=configuration.SHARED_CONF_GROUP)


@interface.volumedriver
class FileVolumeDriver(driver.VolumeDriver):
    """Volumes as sparse files in a directory (protocol ``LOCAL``)."""

    VERSION = '1.0.0'
    CI_WIKI_NAME = 'cinderlib'
    SUPPORTED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(file_opts)
        self.last_copy_bytes = 0
        self.last_copy_reflinked = False
        self._stats_lock = threading.Lock()

    @staticmethod
    def get_driver_options() -> list:
        return file_opts

    @property
    def directory(self) -> str:
        return os.path.realpath(self.configuration.file_volumes_dir)

    # -- set-up ---------------------------------------------------------------
    def do_setup(self, context: Any) -> None:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        self._remove_stale_temp_files()

    def check_for_setup_error(self) -> None:
        if not os.path.isdir(self.directory) or not os.access(
                self.directory, os.W_OK | os.X_OK):
            raise exception.VolumeBackendAPIException(
                data=f'file_volumes_dir {self.directory} is not a writable '
                     f'directory')

    def _remove_stale_temp_files(self) -> None:
        """Copies interrupted by a crash leave only temporary files."""
        for name in os.listdir(self.directory):
            if name.startswith(TEMP_PREFIX):
                os.unlink(os.path.join(self.directory, name))

    # -- paths ----------------------------------------------------------------
    def _path(self, kind: str, object_id: Any) -> str:
        """The file of a volume or snapshot: named from its id only."""
        name = f'{kind}-{object_id}'
        if (not isinstance(object_id, str) or not object_id or
                '/' in object_id or '\0' in object_id or
                object_id in ('.', '..')):
            raise exception.InvalidInput(
                reason=f'unusable {kind} id {object_id!r}')
        path = os.path.join(self.directory, name)
        if os.path.dirname(os.path.realpath(path)) != self.directory:
            raise exception.InvalidInput(
                reason=f'{kind} file {path} is outside {self.directory}')
        return path

    def volume_path(self, volume: Any) -> str:
        return self._path('volume', volume.id)

    def snapshot_path(self, snapshot: Any) -> str:
        return self._path('snapshot', snapshot.id)

    # -- volumes --------------------------------------------------------------
    def create_volume(self, volume: Any) -> dict:
        path = self.volume_path(volume)
        with _temporary_file(self.directory) as (temp_path, handle):
            handle.truncate(volume.size * GiB)
            _finish(handle, temp_path, path)
        return {'provider_location': path}

    def delete_volume(self, volume: Any) -> None:
        _remove(self.volume_path(volume))

    def extend_volume(self, volume: Any, new_size: int) -> None:
        path = self.volume_path(volume)
        if new_size * GiB < os.path.getsize(path):
            raise exception.InvalidInput(
                reason=f'volume {volume.id} cannot shrink to {new_size} GiB')
        os.truncate(path, new_size * GiB)

    def create_cloned_volume(self, volume: Any, src_vref: Any) -> dict:
        return self._copy_to_volume(self.volume_path(src_vref), volume)

    def create_volume_from_snapshot(self, volume: Any,
                                    snapshot: Any) -> dict:
        return self._copy_to_volume(self.snapshot_path(snapshot), volume)

    def _copy_to_volume(self, source: str, volume: Any) -> dict:
        path = self.volume_path(volume)
        self._copy(source, path, size=volume.size * GiB)
        return {'provider_location': path}

    # -- snapshots ------------------------------------------------------------
    def create_snapshot(self, snapshot: Any) -> None:
        source = self._path('volume', snapshot.volume_id)
        self._copy(source, self.snapshot_path(snapshot))

    def delete_snapshot(self, snapshot: Any) -> None:
        _remove(self.snapshot_path(snapshot))

    # -- copying --------------------------------------------------------------
    def _copy(self, source: str, destination: str,
              size: Optional[int] = None) -> None:
        """Copy ``source`` to ``destination`` (atomically), then grow the
        copy to ``size`` bytes if given."""
        if not os.path.isfile(source):
            raise exception.VolumeBackendAPIException(
                data=f'{source} does not exist')
        with open(source, 'rb') as src, _temporary_file(
                self.directory) as (temp_path, handle):
            source_size = os.fstat(src.fileno()).st_size
            reflinked = (self.configuration.file_use_reflink and
                         _reflink(src, handle))
            copied = 0 if reflinked else _sparse_copy(src, handle)
            handle.truncate(max(source_size, size or 0))
            _finish(handle, temp_path, destination)
        self.last_copy_bytes = copied
        self.last_copy_reflinked = reflinked

    # -- stats ----------------------------------------------------------------
    def _update_volume_stats(self) -> None:
        fs = os.statvfs(self.directory)
        total = fs.f_frsize * fs.f_blocks / GiB
        free = fs.f_frsize * fs.f_bavail / GiB
        provisioned = allocated = 0.0
        for entry in os.scandir(self.directory):
            if entry.name.startswith('volume-') and entry.is_file():
                info = entry.stat()
                provisioned += info.st_size / GiB
                allocated += info.st_blocks * 512 / GiB
        name = (self.configuration.safe_get('volume_backend_name') or
                type(self).__name__)
        capacity = {
            'total_capacity_gb': round(total, 2),
            'free_capacity_gb': round(free, 2),
            'provisioned_capacity_gb': round(provisioned, 2),
            'allocated_capacity_gb': round(allocated, 2),
            'thin_provisioning_support': True,
            'thick_provisioning_support': False,
            'max_over_subscription_ratio':
                self.configuration.max_over_subscription_ratio,
            'reserved_percentage': self.configuration.reserved_percentage,
            'multiattach': True,
        }
        with self._stats_lock:
            self._stats = {
                'volume_backend_name': name,
                'vendor_name': 'cinderlib',
                'driver_version': self.VERSION,
                'storage_protocol': 'LOCAL',
                'pools': [dict(capacity, pool_name=name)],
                **capacity,
            }

    # -- exports and connections ----------------------------------------------
    def create_export(self, context: Any, volume: Any,
                      connector: Any) -> None:
        return None

    def ensure_export(self, context: Any, volume: Any) -> None:
        return None

    def remove_export(self, context: Any, volume: Any) -> None:
        return None

    def validate_connector(self, connector: dict) -> None:
        return None

    def initialize_connection(self, volume: Any, connector: dict) -> dict:
        """os-brick's LOCAL connector attaches the file itself."""
        path = self.volume_path(volume)
        if not os.path.isfile(path):
            raise exception.VolumeBackendAPIException(
                data=f'volume {volume.id} has no file')
        return {'driver_volume_type': 'local',
                'data': {'device_path': path}}

    def terminate_connection(self, volume: Any, connector: Any,
                             **kwargs: Any) -> None:
        return None


class _temporary_file:
    """An open temporary file in ``directory``, removed unless renamed."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, f'{TEMP_PREFIX}{uuid.uuid4()}')

    def __enter__(self):
        self.handle = open(self.path, 'xb')
        return self.path, self.handle

    def __exit__(self, *exc_info: Any) -> None:
        self.handle.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


def _finish(handle: Any, temp_path: str, path: str) -> None:
    """Make the temporary file durable, then give it its final name."""
    handle.flush()
    os.fsync(handle.fileno())
    if os.path.exists(path):
        raise exception.VolumeBackendAPIException(data=f'{path} exists')
    os.rename(temp_path, path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _reflink(source: Any, destination: Any) -> bool:
    """Try a copy-on-write clone of the whole file."""
    try:
        fcntl.ioctl(destination.fileno(), FICLONE, source.fileno())
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL,
                         errno.ENOTTY, errno.EBADF, errno.ENOSYS):
            return False
        raise
    return True


def _sparse_copy(source: Any, destination: Any) -> int:
    """Copy only the data extents; returns the bytes copied."""
    src, dst = source.fileno(), destination.fileno()
    end = os.fstat(src).st_size
    copied = offset = 0
    while offset < end:
        try:
            offset = os.lseek(src, offset, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # only a hole is left
                break
            raise
        hole = os.lseek(src, offset, os.SEEK_HOLE)
        copied += _copy_range(src, dst, offset, hole - offset)
        offset = hole
    return copied


def _copy_range(src: int, dst: int, offset: int, length: int) -> int:
    done = 0
    while done < length:
        chunk = min(COPY_CHUNK, length - done)
        written = os.copy_file_range(src, dst, chunk, offset + done,
                                     offset + done)
        if written == 0:
            break
        done += written
    return done
