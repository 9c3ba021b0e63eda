"""A Cinder volume driver keeping each volume as a sparse file.

It needs no storage array and no root privileges, which makes it the
library's embedded backend for demos, docs and tests::

    Backend(volume_backend_name='files',
            volume_driver='cinderlib.drivers.file.FileVolumeDriver',
            file_volumes_dir='/var/lib/volumes')

Clones, snapshots and volumes from snapshots are copy-on-write reflinks on
filesystems that support them (XFS, btrfs...) and sparse-aware copies of the
data extents elsewhere.  A copy is written to a temporary file and renamed
to its final name only once complete and synced, so an interrupted copy
never leaves a partial file under a volume's or a snapshot's name.

The directory must belong to the process's user and be writable by no one
else, and volume files are opened without following symbolic links: no
other user can make an operation on one volume act on another file.  Any
id becomes a file name: ``volume-<id>`` when the id makes a plain file
name, else ``volume-..<sha256 of the id>``.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import math
import os
import stat
import threading
import uuid
from collections.abc import Iterator
from typing import Any, cast

from oslo_config import cfg
from oslo_log import log as logging

from cinder import exception
from cinder import interface
from cinder.volume import configuration
from cinder.volume import driver
from cinder.volume import volume_utils

LOG = logging.getLogger(__name__)

GiB = 1024 ** 3
FICLONE = 0x40049409  # Linux ioctl: make the target share the source's data
COPY_CHUNK = 8 * 1024 * 1024
TEMP_PREFIX = '.tmp-'
VOLUME_PREFIX = 'volume-'
SNAPSHOT_PREFIX = 'snapshot-'
# Marks a file named after the hash of its id; no plain name holds it.
HASHED_MARK = '..'
NAME_MAX = 255  # bytes in a file name (Linux filesystems)

# Errors meaning "this filesystem cannot do it", not "the copy failed".
_REFLINK_UNSUPPORTED = frozenset((
    errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EINVAL,
    errno.ENOTTY, errno.ENOSYS, errno.EBADF))
_COPY_RANGE_UNSUPPORTED = frozenset((
    errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EINVAL,
    errno.ENOSYS, errno.EBADF))

file_opts = [
    cfg.StrOpt('file_volumes_dir',
               default='$state_path/cinderlib-volumes',
               help='Directory holding the volume and snapshot files.'),
    cfg.BoolOpt('file_use_reflink',
                default=True,
                help='Try copy-on-write clones (reflinks) for clones and '
                     'snapshots, falling back to sparse copies where the '
                     'filesystem does not support them.'),
]

cfg.CONF.register_opts(file_opts, group=configuration.SHARED_CONF_GROUP)


# Cinder has no type information: to mypy, VolumeDriver is Any.
@interface.volumedriver
class FileVolumeDriver(driver.VolumeDriver):  # type: ignore[misc]
    """Volumes as sparse files in one directory, attached as ``LOCAL``."""

    VERSION = '1.0.0'
    CI_WIKI_NAME = 'cinderlib'
    SUPPORTED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.configuration is not None:
            self.configuration.append_config_values(file_opts)
        self.last_copy_bytes = 0
        self.last_copy_reflinked = False
        self._copy_stats_lock = threading.Lock()

    @staticmethod
    def get_driver_options() -> list[cfg.Opt]:
        return file_opts

    @property
    def directory(self) -> str:
        """The volumes directory, symbolic links resolved."""
        return cast(str,
                    os.path.realpath(self.configuration.file_volumes_dir))

    # -- set-up --------------------------------------------------------------

    def do_setup(self, context: Any) -> None:
        directory = self.directory
        try:
            _make_private_directory(directory)
        except OSError as exc:
            raise exception.VolumeBackendAPIException(
                data=f'cannot create file_volumes_dir {directory}: '
                     f'{exc}') from exc
        _check_private_directory(directory)
        self._remove_stale_temp_files()

    def check_for_setup_error(self) -> None:
        directory = self.directory
        if not os.path.isdir(directory):
            raise exception.VolumeBackendAPIException(
                data=f'file_volumes_dir {directory} is not a directory')
        _check_private_directory(directory)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise exception.VolumeBackendAPIException(
                data=f'file_volumes_dir {directory} is not writable')

    def _remove_stale_temp_files(self) -> None:
        """Remove temporary files of copies whose process has died."""
        for entry in os.scandir(self.directory):
            if entry.name.startswith(TEMP_PREFIX) and not _owner_alive(
                    entry.name):
                LOG.info('Removing interrupted copy %s', entry.path)
                _remove(entry.path)

    # -- paths ---------------------------------------------------------------

    def volume_path(self, volume: Any) -> str:
        """The file of a volume: ``volume-<name_id>`` in the directory
        (Cinder's ``name_id``: the id, or after a migration the id of the
        volume whose storage it took)."""
        # Not volume.name_id: that raises when _name_id was never set.
        name_id = volume.get('_name_id', None) or volume.id
        return self._object_path(VOLUME_PREFIX, name_id)

    def snapshot_path(self, snapshot: Any) -> str:
        """The file of a snapshot: ``snapshot-<id>`` in the directory."""
        return self._object_path(SNAPSHOT_PREFIX, snapshot.id)

    def _object_path(self, prefix: str, object_id: Any) -> str:
        return os.path.join(self.directory, file_name(prefix, object_id))

    # -- volumes -------------------------------------------------------------

    def create_volume(self, volume: Any) -> dict[str, str]:
        path = self.volume_path(volume)
        _refuse_existing(path)
        with _TempFile(self.directory) as temp:
            os.ftruncate(temp.fd, volume.size * GiB)
            temp.commit(path)
        return {'provider_location': path}

    def delete_volume(self, volume: Any) -> None:
        _remove(self.volume_path(volume))

    def extend_volume(self, volume: Any, new_size: int) -> None:
        path = self.volume_path(volume)
        fd = _open_file(path, os.O_WRONLY)
        try:
            current = os.fstat(fd).st_size
            if new_size * GiB < current:
                raise exception.InvalidInput(
                    reason=f'volume {volume.id} cannot shrink from '
                           f'{current / GiB:g} GiB to {new_size} GiB')
            os.ftruncate(fd, new_size * GiB)
        finally:
            os.close(fd)

    def create_cloned_volume(self, volume: Any,
                             src_vref: Any) -> dict[str, str]:
        return self._copy_to_volume(self.volume_path(src_vref), volume)

    def create_volume_from_snapshot(self, volume: Any,
                                    snapshot: Any) -> dict[str, str]:
        return self._copy_to_volume(self.snapshot_path(snapshot), volume)

    def _copy_to_volume(self, source: str, volume: Any) -> dict[str, str]:
        path = self.volume_path(volume)
        self._copy(source, path, min_size=volume.size * GiB)
        return {'provider_location': path}

    # -- snapshots -----------------------------------------------------------

    def create_snapshot(self, snapshot: Any) -> None:
        # snapshot.volume only if set: else it would lazy-load from the
        # DB.  A migrated volume's file is named after its name_id.
        if snapshot.obj_attr_is_set('volume'):
            source = self.volume_path(snapshot.volume)
        else:
            source = self._object_path(VOLUME_PREFIX, snapshot.volume_id)
        self._copy(source, self.snapshot_path(snapshot))

    def delete_snapshot(self, snapshot: Any) -> None:
        _remove(self.snapshot_path(snapshot))

    def revert_to_snapshot(self, context: Any, volume: Any,
                           snapshot: Any) -> None:
        """Replace the volume's file by a copy of the snapshot's, renamed
        over it once complete: an interrupted revert changes nothing."""
        path = self.volume_path(volume)
        _check_regular(path, _lstat(path))
        source = self.snapshot_path(snapshot)
        src = _open_file(source, os.O_RDONLY)
        try:
            self._copy_fd(src, path, volume.size * GiB)
        except OSError as exc:
            raise exception.VolumeBackendAPIException(
                data=f'revert of {path} to {source} failed: {exc}') from exc
        finally:
            os.close(src)

    def snapshot_revert_use_temp_snapshot(self) -> bool:
        # The volume's file is replaced only once the copy is complete.
        return False

    # -- adopting existing files (manage / unmanage) --------------------------

    def manage_existing_get_size(self, volume: Any,
                                 existing_ref: Any) -> int:
        return _size_gib(self._existing_file(existing_ref)[1])

    def manage_existing(self, volume: Any,
                        existing_ref: Any) -> dict[str, str]:
        path = self.volume_path(volume)
        self._adopt(existing_ref, path, grow_to=volume.size * GiB)
        return {'provider_location': path}

    def unmanage(self, volume: Any) -> None:
        """The file stays, under the volume's file name."""

    def manage_existing_snapshot_get_size(self, snapshot: Any,
                                          existing_ref: Any) -> int:
        return _size_gib(self._existing_file(existing_ref)[1])

    def manage_existing_snapshot(self, snapshot: Any,
                                 existing_ref: Any) -> None:
        self._adopt(existing_ref, self.snapshot_path(snapshot), grow_to=0)

    def unmanage_snapshot(self, snapshot: Any) -> None:
        """The file stays, under the snapshot's file name."""

    def get_manageable_volumes(self, cinder_volumes: list[Any], marker: Any,
                               limit: int, offset: int, sort_keys: list[str],
                               sort_dirs: list[str]) -> list[dict[str, Any]]:
        """Every file of the directory but temporary ones and
        subdirectories; those the library manages, and those it would
        refuse, not safe to manage."""
        managed = self._managed_files(cinder_volumes)
        entries = [self._manageable_entry(entry, info, managed)
                   for entry, info in self._candidate_files()]
        return cast('list[dict[str, Any]]', volume_utils.paginate_entries_list(
            entries, marker, limit, offset, sort_keys, sort_dirs))

    def get_manageable_snapshots(self, cinder_snapshots: list[Any],
                                 marker: Any, limit: int, offset: int,
                                 sort_keys: list[str],
                                 sort_dirs: list[str]) -> list[dict[str, Any]]:
        """The ``snapshot-*`` files of the directory (any unmanaged file
        can be adopted as a snapshot, but those are the likely ones); the
        volume a file was a snapshot of is not known."""
        managed = {os.path.basename(self.snapshot_path(snapshot)): snapshot.id
                   for snapshot in cinder_snapshots}
        entries = []
        for entry, info in self._candidate_files():
            if entry.name.startswith(SNAPSHOT_PREFIX):
                entries.append(dict(
                    self._manageable_entry(entry, info, managed),
                    source_reference=None))
        return cast('list[dict[str, Any]]', volume_utils.paginate_entries_list(
            entries, marker, limit, offset, sort_keys, sort_dirs))

    def _existing_file(self, existing_ref: Any) -> tuple[str, os.stat_result]:
        """The path and status of the file ``existing_ref`` names, refused
        unless it can be adopted safely."""
        if not isinstance(existing_ref, dict) or (
                set(existing_ref) != {'source-name'}):
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason="it must be {'source-name': <file name in "
                       "file_volumes_dir>}")
        name = existing_ref['source-name']
        reason = _unsafe_name(name)
        if reason is None:
            path = os.path.join(self.directory, name)
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                reason = f'there is no file {name} in {self.directory}'
            else:
                reason = _unsafe_file(info)
        if reason is not None:
            raise exception.ManageExistingInvalidReference(
                existing_ref=existing_ref, reason=reason)
        return path, info

    def _adopt(self, existing_ref: Any, path: str, grow_to: int) -> None:
        """Rename the file ``existing_ref`` names to ``path``, at least
        ``grow_to`` bytes long."""
        source, _ = self._existing_file(existing_ref)
        try:
            self._rename_and_grow(existing_ref, source, path, grow_to)
        except OSError as exc:
            raise exception.VolumeBackendAPIException(
                data=f'cannot adopt {source} as {path}: {exc}') from exc
        _fsync_directory(self.directory)

    @staticmethod
    def _rename_and_grow(existing_ref: Any, source: str, path: str,
                         grow_to: int) -> None:
        fd = _open_file(source, os.O_WRONLY if grow_to else os.O_RDONLY)
        try:
            opened = os.fstat(fd)
            reason = _unsafe_file(opened)
            if reason is not None:
                raise exception.ManageExistingInvalidReference(
                    existing_ref=existing_ref, reason=reason)
            if source != path:
                _refuse_existing(path)
                os.rename(source, path)
            renamed = os.lstat(path)
            if (renamed.st_dev, renamed.st_ino) != (opened.st_dev,
                                                    opened.st_ino):
                raise exception.VolumeBackendAPIException(
                    data=f'{source} was replaced while being adopted')
            if opened.st_size < grow_to:
                os.ftruncate(fd, grow_to)
                os.fsync(fd)
        finally:
            os.close(fd)

    def _managed_files(self, cinder_volumes: list[Any]) -> dict[str, str]:
        """The file names of the volumes and their snapshots, with ids."""
        managed = {}
        for volume in cinder_volumes:
            managed[os.path.basename(self.volume_path(volume))] = volume.id
            for snapshot in self.db.snapshot_get_all_for_volume(
                    volume._context, volume.id):
                managed[os.path.basename(
                    self.snapshot_path(snapshot))] = snapshot.id
        return managed

    def _candidate_files(self) -> Iterator[tuple[os.DirEntry[str],
                                                 os.stat_result]]:
        """The directory's entries but temporary files and directories,
        with their status."""
        for entry in os.scandir(self.directory):
            if entry.name.startswith(TEMP_PREFIX):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed while we were listing
            if not stat.S_ISDIR(info.st_mode):
                yield entry, info

    @staticmethod
    def _manageable_entry(entry: os.DirEntry[str], info: os.stat_result,
                          managed: dict[str, str]) -> dict[str, Any]:
        cinder_id = managed.get(entry.name)
        reason = ('already managed' if cinder_id is not None else
                  _unsafe_name(entry.name) or _unsafe_file(info))
        return {'reference': {'source-name': entry.name},
                'size': _size_gib(info),
                'safe_to_manage': reason is None,
                'reason_not_safe': reason,
                'cinder_id': cinder_id,
                'extra_info': None}

    # -- copying -------------------------------------------------------------

    def _copy(self, source: str, destination: str, min_size: int = 0) -> None:
        """Copy ``source`` to the new file ``destination``, at least
        ``min_size`` bytes long."""
        _refuse_existing(destination)
        src = _open_file(source, os.O_RDONLY)
        try:
            copied, reflinked = self._copy_fd(src, destination, min_size)
        except OSError as exc:
            raise exception.VolumeBackendAPIException(
                data=f'copy of {source} to {destination} failed: '
                     f'{exc}') from exc
        finally:
            os.close(src)
        with self._copy_stats_lock:
            self.last_copy_bytes = copied
            self.last_copy_reflinked = reflinked

    def _copy_fd(self, src: int, destination: str,
                 min_size: int) -> tuple[int, bool]:
        size = os.fstat(src).st_size
        with _TempFile(self.directory) as temp:
            reflinked = bool(self.configuration.file_use_reflink and
                             _reflink(src, temp.fd))
            copied = 0 if reflinked else _sparse_copy(src, temp.fd, size)
            # Setting the size last keeps the source's trailing hole a hole.
            os.ftruncate(temp.fd, max(size, min_size))
            temp.commit(destination)
        return copied, reflinked

    # -- stats ---------------------------------------------------------------

    def _update_volume_stats(self) -> None:
        fs = os.statvfs(self.directory)
        provisioned = self._volume_bytes() / GiB
        name = (self.configuration.safe_get('volume_backend_name') or
                type(self).__name__)
        capacity = {
            'total_capacity_gb': round(fs.f_frsize * fs.f_blocks / GiB, 2),
            'free_capacity_gb': round(fs.f_frsize * fs.f_bavail / GiB, 2),
            'provisioned_capacity_gb': round(provisioned, 2),
            # Cinder's meaning: the size of the volumes it has allocated.
            'allocated_capacity_gb': round(provisioned, 2),
            'thin_provisioning_support': True,
            'thick_provisioning_support': False,
            'max_over_subscription_ratio':
                self.configuration.safe_get('max_over_subscription_ratio'),
            'reserved_percentage':
                self.configuration.safe_get('reserved_percentage') or 0,
            'multiattach': True,
        }
        self._stats = {
            'volume_backend_name': name,
            'vendor_name': 'cinderlib',
            'driver_version': self.VERSION,
            'storage_protocol': 'LOCAL',
            **capacity,
            'pools': [{'pool_name': name, **capacity}],
        }

    def _volume_bytes(self) -> int:
        """Apparent size of all volume files (snapshots excluded)."""
        total = 0
        for entry in os.scandir(self.directory):
            if entry.name.startswith(VOLUME_PREFIX):
                try:
                    if entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except FileNotFoundError:
                    pass  # deleted while we were counting
        return total

    # -- exports and connections ---------------------------------------------

    def create_export(self, context: Any, volume: Any,
                      connector: Any) -> None:
        return None

    def ensure_export(self, context: Any, volume: Any) -> None:
        return None

    def remove_export(self, context: Any, volume: Any) -> None:
        return None

    def validate_connector(self, connector: dict[str, Any]) -> None:
        return None

    def initialize_connection(self, volume: Any,
                              connector: dict[str, Any]) -> dict[str, Any]:
        """Connection info for os-brick's LOCAL connector: the file path."""
        path = self.volume_path(volume)
        _check_regular(path, _lstat(path))
        return {'driver_volume_type': 'local',
                'data': {'device_path': path}}

    def terminate_connection(self, volume: Any, connector: Any,
                             **kwargs: Any) -> None:
        return None


# -- helpers -----------------------------------------------------------------

def file_name(prefix: str, object_id: Any) -> str:
    """The name of an object's file: ``prefix`` and its id when the id makes
    a plain file name (printable, no ``/``, short enough), else ``prefix``,
    ``..`` and the SHA-256 of the id.  Plain names never hold ``..``, so
    two ids never share a name."""
    if not isinstance(object_id, str) or not object_id:
        raise exception.InvalidInput(
            reason=f'{object_id!r} is not a volume or snapshot id')
    name = prefix + object_id
    if (object_id.isprintable() and '/' not in object_id and
            HASHED_MARK not in object_id and
            len(name.encode('utf-8')) <= NAME_MAX):
        return name
    digest = hashlib.sha256(object_id.encode('utf-8', 'surrogatepass'))
    return f'{prefix}{HASHED_MARK}{digest.hexdigest()}'


def _size_gib(info: os.stat_result) -> int:
    """A file's size in whole GiB, rounded up; at least 1."""
    return max(1, math.ceil(info.st_size / GiB))


def _unsafe_name(name: Any) -> str | None:
    """Why a file may not be adopted by this name, or None."""
    if not isinstance(name, str) or not name:
        return f'{name!r:.60} is not a file name'
    if ('/' in name or name in ('.', '..') or not name.isprintable() or
            len(name.encode('utf-8', 'surrogateescape')) > NAME_MAX):
        return f'{name!r:.60} is not a plain file name'
    if name.startswith(TEMP_PREFIX):
        return f'{name} is a temporary file of a copy'
    if name.startswith((VOLUME_PREFIX + HASHED_MARK,
                        SNAPSHOT_PREFIX + HASHED_MARK)):
        return (f'{name} is named after a hashed id by this driver; '
                f'rename it first')
    return None


def _unsafe_file(info: os.stat_result) -> str | None:
    """Why a file may not be adopted, or None: only regular files of this
    process's user with no other hard link are, as a link elsewhere would
    make writes to the volume change another file."""
    if stat.S_ISLNK(info.st_mode):
        return 'it is a symbolic link'
    if not stat.S_ISREG(info.st_mode):
        return 'it is not a regular file'
    if info.st_uid != os.geteuid():
        return f'it belongs to uid {info.st_uid}, not to this process\'s user'
    if info.st_nlink != 1:
        return 'it has other hard links'
    return None


def _make_private_directory(path: str) -> None:
    """Create ``path`` and its missing parents, mode 0700."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent != path:
        _make_private_directory(parent)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass  # created meanwhile, or not a directory: checked next


def _check_private_directory(directory: str) -> None:
    """Refuse a directory that another user owns or may write to: they
    could rename, replace or plant volume files."""
    info = os.stat(directory)
    if not stat.S_ISDIR(info.st_mode):
        raise exception.VolumeBackendAPIException(
            data=f'file_volumes_dir {directory} is not a directory')
    if info.st_uid != os.geteuid():
        raise exception.VolumeBackendAPIException(
            data=f'file_volumes_dir {directory} belongs to uid '
                 f'{info.st_uid}, not to this process\'s user (uid '
                 f'{os.geteuid()}): give a directory of its own')
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise exception.VolumeBackendAPIException(
            data=f'file_volumes_dir {directory} is writable by other users '
                 f'(mode {stat.S_IMODE(info.st_mode):04o}); make it private '
                 f'(chmod 700 {directory})')


def _lstat(path: str) -> os.stat_result:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        raise exception.VolumeBackendAPIException(
            data=f'{path} does not exist') from None


def _check_regular(path: str, info: os.stat_result) -> None:
    """Refuse what is not a regular file: a symbolic link planted there
    would make the operation act on another file."""
    if stat.S_ISLNK(info.st_mode):
        raise exception.VolumeBackendAPIException(
            data=f'{path} is a symbolic link, not a volume file; refusing '
                 f'to follow it')
    if not stat.S_ISREG(info.st_mode):
        raise exception.VolumeBackendAPIException(
            data=f'{path} is not a regular file')


def _open_file(path: str, flags: int) -> int:
    """Open the regular file ``path``, never through a symbolic link nor a
    device or FIFO (checked before opening, which may have effects on
    those, and again on what was opened)."""
    expected = _lstat(path)
    _check_regular(path, expected)
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK |
                     os.O_CLOEXEC)
    except FileNotFoundError:
        raise exception.VolumeBackendAPIException(
            data=f'{path} does not exist') from None
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise exception.VolumeBackendAPIException(
            data=f'{path} is a symbolic link, not a volume file; refusing '
                 f'to follow it') from None
    opened = os.fstat(fd)
    if (opened.st_dev, opened.st_ino) != (expected.st_dev, expected.st_ino):
        os.close(fd)
        raise exception.VolumeBackendAPIException(
            data=f'{path} was replaced while being opened')
    return fd


def _refuse_existing(path: str) -> None:
    if os.path.lexists(path):
        raise exception.VolumeBackendAPIException(
            data=f'{path} already exists')


def _remove(path: str) -> None:
    """Remove a file; a symbolic link is removed, not what it points to."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        raise exception.VolumeBackendAPIException(
            data=f'{path} is a directory, not a volume file') from None


def _owner_alive(temp_name: str) -> bool:
    """Temporary names carry their process id: ``.tmp-<pid>-<random>``."""
    try:
        pid = int(temp_name[len(TEMP_PREFIX):].split('-', 1)[0])
    except ValueError:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, run by another user
    return True


def _fsync_directory(directory: str) -> None:
    """Persist a rename; best effort, as the rename itself is done."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        LOG.warning('Cannot sync directory %s: %s', directory, exc)


class _TempFile:
    """A new file in ``directory``, removed on exit unless committed."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(
            directory, f'{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}')
        self.fd = -1
        self.committed = False

    def __enter__(self) -> _TempFile:
        self.fd = os.open(
            self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW |
            os.O_CLOEXEC, 0o600)
        return self

    def commit(self, path: str) -> None:
        """Make the data durable, then give the file its final name."""
        os.fsync(self.fd)
        os.replace(self.path, path)
        self.committed = True
        _fsync_directory(self.directory)

    def __exit__(self, *exc_info: Any) -> None:
        os.close(self.fd)
        if not self.committed:
            _remove(self.path)


def _reflink(src: int, dst: int) -> bool:
    """Make ``dst`` share ``src``'s data; False if the filesystem can't."""
    try:
        fcntl.ioctl(dst, FICLONE, src)
    except OSError as exc:
        if exc.errno in _REFLINK_UNSUPPORTED:
            return False
        raise
    return True


def _sparse_copy(src: int, dst: int, size: int) -> int:
    """Copy the data extents of ``src`` only; returns the bytes copied."""
    return sum(_copy_range(src, dst, offset, length)
               for offset, length in _data_extents(src, size))


def _data_extents(fd: int, size: int) -> Iterator[tuple[int, int]]:
    """(offset, length) of each data region of the first ``size`` bytes."""
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # nothing but a hole is left
                return
            if exc.errno != errno.EINVAL:
                raise
            start = offset  # SEEK_DATA unsupported: all of it is data
            end = size
        else:
            end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        if start >= size:
            return
        yield start, end - start
        offset = end


def _copy_range(src: int, dst: int, offset: int, length: int) -> int:
    """Copy ``length`` bytes at ``offset``, to the same offset."""
    done = 0
    while done < length:
        count = _copy_chunk(src, dst, offset + done,
                            min(COPY_CHUNK, length - done))
        if count == 0:  # the source shrank under us
            break
        done += count
    return done


def _copy_chunk(src: int, dst: int, offset: int, length: int) -> int:
    """Copy up to ``length`` bytes in the kernel, else through memory."""
    try:
        return os.copy_file_range(src, dst, length, offset, offset)
    except OSError as exc:
        if exc.errno not in _COPY_RANGE_UNSUPPORTED:
            raise
    data = os.pread(src, length, offset)
    written = 0
    while written < len(data):
        written += os.pwrite(dst, data[written:], offset + written)
    return len(data)
