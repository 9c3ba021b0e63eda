"""Per-resource locks that serialize operations on one volume or snapshot."""

from __future__ import annotations

import threading
import weakref
from typing import Iterator
from contextlib import contextmanager

_registry_lock = threading.Lock()
_locks: 'weakref.WeakValueDictionary[str, threading.RLock]' = (
    weakref.WeakValueDictionary())


def resource_lock(resource_id: str) -> 'threading.RLock':
    """The reentrant lock of ``resource_id``, shared by the whole process."""
    with _registry_lock:
        lock = _locks.get(resource_id)
        if lock is None:
            lock = threading.RLock()
            _locks[resource_id] = lock
        return lock


@contextmanager
def locked(*resource_ids: str) -> Iterator[None]:
    """Hold the locks of several resources, taken in a fixed order."""
    locks = [resource_lock(rid) for rid in sorted(set(resource_ids))]
    for lock in locks:
        lock.acquire()
    try:
        yield
    finally:
        for lock in reversed(locks):
            lock.release()
