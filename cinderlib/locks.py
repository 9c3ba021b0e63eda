"""Per-resource locks that serialize operations on one volume or snapshot.

Three levels, taken together for every operation:

- threads of this process: a reentrant lock per resource id;
- processes of this host: ``flock`` on one of ``STRIPES`` files in the
  lock directory (``file_locks_path``, by default ``state_path``).  A
  resource id always maps to the same file, so the number of files stays
  bounded and none has to be removed; two resources that share a file only
  wait for each other across processes, never within one;
- hosts: a lock of the coordination backend (tooz: Redis, etcd...) when
  ``setup(coordination_backend_url=...)`` names one.

The kernel drops ``flock`` locks of a process that dies, and tooz backends
expire the locks of a host that stops heart-beating, so a crash never
leaves a resource locked for good.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
import zlib
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

STRIPES = 1024

# Makes the lock of a resource id on the coordination backend, or None.
DistributedLocks = Optional[Callable[[str], Any]]

_registry_lock = threading.Lock()
_locks: 'weakref.WeakValueDictionary[str, _ResourceLock]' = (
    weakref.WeakValueDictionary())


class _Settings:
    directory: Optional[str] = None
    distributed: DistributedLocks = None
    stripes: dict[int, '_Stripe'] = {}


def configure(directory: Optional[str],
              distributed: DistributedLocks = None) -> None:
    """Where the host-wide lock files live, and how to make cross-host
    locks (None: this host only).  Held locks keep working; new ones use
    the new settings."""
    if directory is not None:
        os.makedirs(directory, exist_ok=True)
    with _registry_lock:
        if directory != _Settings.directory:
            _Settings.stripes = {}
        _Settings.directory = directory
        _Settings.distributed = distributed


class _Stripe:
    """One lock file, held by this process while any of its threads needs
    it (so threads of one process never wait for each other here)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.mutex = threading.Lock()
        self.users = 0
        self.fd: Optional[int] = None

    def acquire(self, blocking: bool) -> bool:
        with self.mutex:
            if self.users == 0:
                if self.fd is None:
                    self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT,
                                      0o644)
                flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
                try:
                    fcntl.flock(self.fd, flags)
                except BlockingIOError:
                    return False
            self.users += 1
            return True

    def release(self) -> None:
        with self.mutex:
            self.users -= 1
            if self.users == 0 and self.fd is not None:
                fcntl.flock(self.fd, fcntl.LOCK_UN)


def _stripe(resource_id: str) -> Optional[_Stripe]:
    directory = _Settings.directory
    if directory is None:
        return None
    number = zlib.crc32(resource_id.encode()) % STRIPES
    with _registry_lock:
        stripe = _Settings.stripes.get(number)
        if stripe is None:
            stripe = _Stripe(os.path.join(
                directory, f'cinderlib-lock-{number:04d}'))
            _Settings.stripes[number] = stripe
        return stripe


class _ResourceLock:
    """The lock of one resource id: reentrant in a thread; the file and
    distributed locks are taken by the outermost hold only."""

    def __init__(self, resource_id: str) -> None:
        self.id = resource_id
        self.mutex = threading.RLock()
        self.depth = 0
        self.stripe: Optional[_Stripe] = None
        self.remote: Any = None


def resource_lock(resource_id: str) -> _ResourceLock:
    """The lock of ``resource_id``, shared by the whole process."""
    with _registry_lock:
        lock = _locks.get(resource_id)
        if lock is None:
            lock = _ResourceLock(resource_id)
            _locks[resource_id] = lock
        return lock


def _acquire(locks: list[_ResourceLock], blocking: bool) -> bool:
    """Take every lock, or none (returns False when ``blocking`` is False
    and one is held elsewhere).  Thread locks in id order, then lock files
    in file order, then distributed locks in id order: one global order at
    each level, so callers never deadlock each other."""
    taken: list[Callable[[], None]] = []
    first: list[_ResourceLock] = []
    try:
        for lock in locks:
            if not lock.mutex.acquire(blocking):
                return False
            taken.append(lock.mutex.release)
        first = [lock for lock in locks if lock.depth == 0]
        stripes = {}
        for lock in first:
            lock.stripe = _stripe(lock.id)
            if lock.stripe is not None:
                stripes[id(lock.stripe)] = lock.stripe
        for stripe in sorted(stripes.values(), key=lambda s: s.path):
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


def _release(locks: list[_ResourceLock]) -> None:
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


@contextmanager
def locked(*resource_ids: str) -> Iterator[None]:
    """Hold the locks of several resources for the duration of a block."""
    locks = [resource_lock(rid) for rid in sorted(set(resource_ids))]
    _acquire(locks, blocking=True)
    try:
        yield
    finally:
        _release(locks)


@contextmanager
def locked_if_free(*resource_ids: str) -> Iterator[bool]:
    """Like ``locked`` without waiting: yields False (holding nothing) when
    another thread, process or host holds one of the resources."""
    locks = [resource_lock(rid) for rid in sorted(set(resource_ids))]
    if not _acquire(locks, blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        _release(locks)


def _forget_after_fork() -> None:
    # A forked child shares its parent's open lock files, and with them
    # the parent's locks: it starts with files of its own.
    _Settings.stripes = {}


os.register_at_fork(after_in_child=_forget_after_fork)
