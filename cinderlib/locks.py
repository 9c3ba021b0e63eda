"""Per-resource locks that serialize operations on one volume or snapshot.

Three levels, taken together for every operation:

- threads of this process: a reentrant lock per resource id;
- processes of this host: ``flock`` on one of ``STRIPES`` files in the
  lock directory (``<file_locks_path>/cinderlib-locks``).  A resource id
  always maps to the same file, so the number of files stays bounded and
  none has to be removed; two resources that share a file only wait for
  each other across processes, never within one.  A file is open only
  while this process holds its lock;
- hosts: a lock of the coordination backend (tooz: Redis, etcd...) when
  ``setup(coordination_backend_url=...)`` names one.

An object being made with a new random id that no other process can
know yet (the ``memory`` plugin keeps it in this process) is locked
among the threads only (``locked(..., in_process=...)``).

The kernel drops ``flock`` locks of a process that dies, and tooz backends
expire the locks of a host that stops heart-beating, so a crash never
leaves a resource locked for good.

An operation takes every lock it needs in one ``locked()`` call, which
orders them; a thread holding locks may re-enter them but not take others
(two processes taking two lock files in opposite orders would wait for
each other forever: ``flock`` has no timeout).  With the environment
variable ``CINDERLIB_CHECK_LOCK_ORDER=1`` (the test suite sets it) such a
nested acquisition raises ``LockOrderError`` instead of risking it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import zlib
from contextlib import contextmanager
from typing import (Any, Callable, Collection, ContextManager, Iterator,
                    Optional)

from cinderlib import directories
from cinderlib import exception

STRIPES = 1024
# Created private, never through a symbolic link, not inherited by the
# programs drivers and os-brick run.
_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
CHECK_ORDER = os.environ.get('CINDERLIB_CHECK_LOCK_ORDER', '') not in (
    '', '0')

# Makes the lock of a resource id on the coordination backend, or None.
DistributedLocks = Optional[Callable[[str], Any]]

_registry_lock = threading.Lock()
# The locks of the resource ids in use (see _hold).
_locks: dict[str, '_ResourceLock'] = {}
# The resource ids each thread holds, with their depths (CHECK_ORDER).
_held = threading.local()


class LockOrderError(AssertionError):
    """A thread holding locks asked for another one (``CHECK_ORDER``)."""


class _Settings:
    directory: Optional[str] = None
    field = 'file_locks_path'
    distributed: DistributedLocks = None
    distributed_url = ''
    stripes: dict[int, '_Stripe'] = {}


def configure(directory: Optional[str],
              distributed: DistributedLocks = None,
              field: str = 'file_locks_path',
              distributed_url: str = '') -> None:
    """Where the host-wide lock files live, and how to make cross-host
    locks (None: this host only; ``distributed_url`` names their backend
    in errors).  The directory is made private if missing, and refused if
    another user could write in it (``field`` names the setting it comes
    from, for that error).  Held locks keep working; new ones use the new
    settings."""
    if directory is not None:
        directories.private_directory(directory, field,
                                      follow_symlinks=False)
    with _registry_lock:
        if directory != _Settings.directory:
            _Settings.stripes = {}
        _Settings.directory = directory
        _Settings.field = field
        _Settings.distributed = distributed
        _Settings.distributed_url = distributed_url


def _open(path: str, field: str) -> int:
    try:
        try:
            return os.open(path, _OPEN_FLAGS, 0o600)
        except FileNotFoundError:
            # The directory was removed (a clean-up of old files) since
            # configure(): made again, private, as configure() does.
            directories.private_directory(os.path.dirname(path), field,
                                          follow_symlinks=False)
            return os.open(path, _OPEN_FLAGS, 0o600)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise exception.InvalidArgument(
            field, f'lock file {path} is a symbolic link; cinderlib never '
                   f'creates a file through one: remove it') from None


class _Stripe:
    """One lock file, held by this process while any of its threads needs
    it (so threads of one process never wait for each other here), and
    open only while held."""

    def __init__(self, path: str, field: str) -> None:
        self.path = path
        self.field = field
        # Taken directly where no thread waits (cheaper than entering the
        # condition, which takes it).
        self.mutex = threading.Lock()
        self.changed = threading.Condition(self.mutex)
        self.users = 0
        # Threads waiting on ``changed``.
        self.waiting = 0
        self.fd: Optional[int] = None
        # A thread is taking the file lock: True if it may wait for it.
        self.taking: Optional[bool] = None

    def acquire(self, blocking: bool) -> bool:
        with self.mutex:
            while self.taking is not None:
                if self.taking and not blocking:
                    # It waits for another process: the file is busy.
                    return False
                self.waiting += 1
                try:
                    self.changed.wait()
                finally:
                    self.waiting -= 1
            if self.users:
                self.users += 1
                return True
            self.taking = blocking
        # flock() may wait for another process: never with the condition
        # held, so that the other threads can still ask (and be told
        # "busy" at once) or share the file once it is taken.
        fd: Optional[int] = None
        try:
            fd = _open(self.path, self.field)
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else
                                             fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)  # type: ignore[arg-type]  # opened above
            fd = None
        except BaseException:
            if fd is not None:
                os.close(fd)
            with self.mutex:
                self.taking = None
                self._wake()
            raise
        with self.mutex:
            self.taking = None
            if fd is not None:
                self.fd, self.users = fd, 1
            self._wake()
        return fd is not None

    def _wake(self) -> None:
        # notify_all() costs a few microseconds even with nobody to wake:
        # most acquisitions have no other thread waiting.
        if self.waiting:
            self.changed.notify_all()

    def release(self) -> None:
        with self.mutex:
            if self.users == 0:  # inherited from a parent across fork()
                return
            self.users -= 1
            if self.users == 0 and self.fd is not None:
                fd, self.fd = self.fd, None
                os.close(fd)  # releases the lock


def _file(directory: str, number: int) -> str:
    return os.path.join(directory, f'cinderlib-lock-{number:04d}')


def _stripe(resource_id: str) -> Optional[_Stripe]:
    directory = _Settings.directory
    if directory is None:
        return None
    number = zlib.crc32(resource_id.encode()) % STRIPES
    # Made once per file: later uses find it without the registry lock
    # (a dict lookup is atomic).
    stripe = _Settings.stripes.get(number)
    if stripe is not None:
        return stripe
    with _registry_lock:
        stripe = _Settings.stripes.get(number)
        if stripe is None:
            stripe = _Stripe(_file(directory, number), _Settings.field)
            _Settings.stripes[number] = stripe
        return stripe


def make_lock_files() -> int:
    """Make the lock files of the configured directory that are missing,
    so that no operation pays for making one (each is made once per host,
    by the first operation on a resource that maps to it: 20 to 300 us on
    an ext4 disk, against 3 us to open one).  Returns how many were made.
    """
    made = 0
    directory = _Settings.directory
    if directory is None:
        return made
    for number in range(STRIPES):
        path = _file(directory, number)
        if not os.path.exists(path):
            os.close(_open(path, _Settings.field))
            made += 1
    return made


class _ResourceLock:
    """The lock of one resource id: reentrant in a thread; the file and
    distributed locks are taken by the outermost hold only."""

    __slots__ = ('id', 'mutex', 'depth', 'stripe', 'remote', 'users')

    def __init__(self, resource_id: str) -> None:
        self.id = resource_id
        self.mutex = threading.RLock()
        # Holds of the threads, counted by the holding thread (under
        # ``mutex``).
        self.depth = 0
        self.stripe: Optional[_Stripe] = None
        self.remote: Any = None
        # Callers holding or waiting for it (under ``_registry_lock``):
        # the registry forgets it when the last one is done.
        self.users = 0


def _hold(resource_ids: list[str]) -> list[_ResourceLock]:
    """The locks of ``resource_ids``, shared by the whole process, kept
    in the registry until ``_drop`` (a lock with no user left is
    forgotten: the registry holds the ids in use only)."""
    held = []
    with _registry_lock:
        for resource_id in resource_ids:
            lock = _locks.get(resource_id)
            if lock is None:
                lock = _locks[resource_id] = _ResourceLock(resource_id)
            lock.users += 1
            held.append(lock)
    return held


def _drop(locks: list[_ResourceLock]) -> None:
    with _registry_lock:
        for lock in locks:
            lock.users -= 1
            if not lock.users:
                del _locks[lock.id]


def _acquire(locks: list[_ResourceLock], blocking: bool,
             in_process: Collection[str] = ()) -> bool:
    """Take every lock, or none (returns False when ``blocking`` is False
    and one is held elsewhere).  Thread locks in id order, then lock files
    in file order, then distributed locks in id order: one global order at
    each level, so callers never deadlock each other.  The ids in
    ``in_process`` get their thread lock only (see ``locked``)."""
    if len(locks) == 1:
        return _acquire_one(locks[0], blocking, in_process)
    taken: list[Callable[[], None]] = []
    first: list[_ResourceLock] = []
    try:
        for lock in locks:
            if not lock.mutex.acquire(blocking):
                return False
            taken.append(lock.mutex.release)
        first = [lock for lock in locks
                 if lock.depth == 0 and lock.id not in in_process]
        stripes = {}
        for lock in first:
            lock.stripe = _stripe(lock.id)
            if lock.stripe is not None:
                stripes[id(lock.stripe)] = lock.stripe
        ordered = list(stripes.values())
        if len(ordered) > 1:
            ordered.sort(key=_path)
        for stripe in ordered:
            if not stripe.acquire(blocking):
                return False
            taken.append(stripe.release)
        distributed = _Settings.distributed
        if distributed is not None:
            for lock in first:
                remote = distributed(lock.id)
                if not remote.acquire(blocking=blocking):
                    return False
                lock.remote = remote
                taken.append(remote.release)
        for lock in locks:
            lock.depth += 1
        taken = []
        return True
    finally:
        for release in reversed(taken):
            release()
        if taken:  # failed part-way
            for lock in first:
                lock.stripe = lock.remote = None


def _acquire_one(lock: _ResourceLock, blocking: bool,
                 in_process: Collection[str]) -> bool:
    """``_acquire`` of one lock, what most operations take: the same
    steps, without the lists that order several."""
    if not lock.mutex.acquire(blocking):
        return False
    if lock.depth:  # re-entered: the file and remote locks are held
        lock.depth += 1
        return True
    stripe = remote = None
    try:
        if lock.id not in in_process:
            stripe = _stripe(lock.id)
            if stripe is not None and not stripe.acquire(blocking):
                stripe = None
                return False
            distributed = _Settings.distributed
            if distributed is not None:
                candidate = distributed(lock.id)
                if not candidate.acquire(blocking=blocking):
                    return False
                remote = candidate
        lock.stripe, lock.remote, lock.depth = stripe, remote, 1
        return True
    finally:
        if lock.depth == 0:  # failed part-way
            if remote is not None:
                remote.release()
            if stripe is not None:
                stripe.release()
            lock.mutex.release()


def _path(stripe: _Stripe) -> str:
    return stripe.path


def _release(locks: list[_ResourceLock]) -> None:
    if len(locks) == 1:
        _release_one(locks[0])
        return
    for lock in reversed(locks):
        lock.depth -= 1
    last = [lock for lock in locks if lock.depth == 0]
    for lock in reversed(last):
        if lock.remote is not None:
            remote, lock.remote = lock.remote, None
            remote.release()
    released = set()
    for lock in last:
        stripe, lock.stripe = lock.stripe, None
        if stripe is not None and id(stripe) not in released:
            released.add(id(stripe))
            stripe.release()
    for lock in reversed(locks):
        lock.mutex.release()


def _release_one(lock: _ResourceLock) -> None:
    lock.depth -= 1
    if lock.depth:
        lock.mutex.release()
        return
    remote, stripe = lock.remote, lock.stripe
    lock.remote = lock.stripe = None
    try:
        if remote is not None:
            remote.release()
    finally:
        try:
            if stripe is not None:
                stripe.release()
        finally:
            lock.mutex.release()


def _thread_holds() -> dict[str, int]:
    holds: Optional[dict[str, int]] = getattr(_held, 'ids', None)
    if holds is None:
        holds = _held.ids = {}
    return holds


def _note(resource_ids: list[str], change: int) -> None:
    holds = _thread_holds()
    for rid in resource_ids:
        depth = holds.get(rid, 0) + change
        if depth:
            holds[rid] = depth
        else:
            del holds[rid]


class _Locked:
    """``locked()``'s context manager (a class: cheaper to enter and exit
    than a generator, and taken by every operation)."""

    __slots__ = ('ids', 'in_process', 'locks', 'noted')

    def __init__(self, ids: list[str], in_process: Collection[str]) -> None:
        self.ids = ids
        self.in_process = in_process
        self.locks: list[_ResourceLock] = []
        # Whether the thread's holds were noted for CHECK_ORDER (only
        # then: the check is their only use).
        self.noted = False

    def __enter__(self) -> None:
        ids = self.ids
        if CHECK_ORDER:
            holds = _thread_holds()
            more = [rid for rid in ids if rid not in holds] if holds else []
            if more:
                raise LockOrderError(
                    f'locking {", ".join(more)} while holding '
                    f'{", ".join(sorted(holds))}: an operation must take '
                    f'all its locks in one locked() call')
        locks = self.locks = _hold(ids)
        try:
            taken = _acquire(locks, True, self.in_process)
        except BaseException:
            _drop(locks)
            raise
        if not taken:
            # Only a coordination backend may answer a request that waits
            # with no (a timeout of its own): never run the block unlocked.
            _drop(locks)
            raise exception.CoordinationUnavailable(
                _Settings.distributed_url, RuntimeError(
                    f'it did not grant the lock of {", ".join(ids)}'))
        if CHECK_ORDER:
            _note(ids, 1)
            self.noted = True

    def __exit__(self, *exc_info: Any) -> None:
        if self.noted:
            _note(self.ids, -1)
        try:
            _release(self.locks)
        finally:
            _drop(self.locks)


def locked(*resource_ids: str,
           in_process: Collection[str] = ()) -> ContextManager[None]:
    """Hold the locks of several resources for the duration of a block.

    Give every resource the operation needs at once: a thread that holds
    locks may only take them again (see ``CHECK_ORDER``).

    ``in_process``: ids among them that no other process or host can know
    (an object this process is making, with a new random id, that its
    persistence keeps in this process only): they are locked among this
    process's threads only, without a lock file or distributed lock."""
    return _Locked(sorted(set(resource_ids)) if len(resource_ids) > 1
                   else list(resource_ids), in_process)


@contextmanager
def locked_if_free(*resource_ids: str) -> Iterator[bool]:
    """Like ``locked`` without waiting: yields False (holding nothing) at
    once when another thread, process or host holds one of the resources.
    It never waits, so it may be used while holding other locks."""
    ids = sorted(set(resource_ids))
    locks = _hold(ids)
    try:
        if not _acquire(locks, blocking=False):
            yield False
            return
        noted = CHECK_ORDER
        if noted:
            _note(ids, 1)
        try:
            yield True
        finally:
            if noted:
                _note(ids, -1)
            _release(locks)
    finally:
        _drop(locks)


def _forget_after_fork() -> None:
    # Another thread of the parent may have held the registry's lock: it
    # would never be released in the child, where that thread is gone.
    global _registry_lock
    _registry_lock = threading.Lock()
    # So may the thread locks of resources, held or awaited by threads
    # that are gone: the child's operations take new ones.  The forking
    # thread's own stay held (its locked() blocks release them).
    for resource_id, lock in list(_locks.items()):
        if not lock.mutex._is_owned():  # type: ignore[attr-defined]
            del _locks[resource_id]
    # A forked child shares its parent's open lock files, and with them
    # the parent's locks.  Closing its copies leaves the parent's locks
    # alone (they go with the last descriptor, and an unlock is never
    # sent); the child then opens files of its own.
    for stripe in _Settings.stripes.values():
        fd, stripe.fd, stripe.users = stripe.fd, None, 0
        stripe.taking = None
        stripe.waiting = 0
        stripe.mutex = threading.Lock()
        stripe.changed = threading.Condition(stripe.mutex)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
    _Settings.stripes = {}


os.register_at_fork(after_in_child=_forget_after_fork)
