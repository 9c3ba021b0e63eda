"""One RADOS connection per RBD backend, kept open across operations.

Cinder's RBD driver connects to the cluster (``rados.Rados.connect``: a
monitor session, authentication, the maps; ~20 ms) at the start of every
operation and shuts the connection down at its end, through its
``_connect_to_rados`` and ``_disconnect_from_rados`` (which ``RADOSClient``
and ``RBDVolumeProxy`` use).  A volume service amortizes nothing of it
either, but a library running many operations in one process pays it each
time: most of a create, extend or delete.

``keep_open(driver)`` replaces those two methods on one driver instance:
the driver's first connection (made by its own ``_connect_to_rados``, so
with its options, retries and timeouts) stays open, and each later call
opens only an I/O context (a local step) on it; disconnecting closes the
I/O context and keeps the connection.  Connections to a replication
target (``remote``) are the driver's own, as before.

- Threads: librados' cluster handle serves threads concurrently; each
  call gets an I/O context of its own (their settings are per context).
- Recovery: librados finds another monitor, or the same one restarted, by
  itself.  A connection that is no longer usable (shut down, or failing to
  open an I/O context) is dropped and a new one made, once per call.
- ``close(driver)`` shuts the connection down (``Backend.unload()``), and
  every connection still open is shut down when the process exits.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from typing import Any, Optional

# Drivers whose connection is kept, for the exit handler.
_drivers: weakref.WeakSet[Any] = weakref.WeakSet()


class _Connection:
    """The kept connection of one driver instance."""

    def __init__(self, driver: Any) -> None:
        self.connect = driver._connect_to_rados
        self.disconnect = driver._disconnect_from_rados
        self.rados = driver.rados
        self.configuration = driver.configuration
        self.lock = threading.Lock()
        self.client: Any = None

    def get(self, pool: Optional[str] = None,
            remote: Optional[dict[str, Any]] = None,
            timeout: Optional[int] = None) -> tuple[Any, Any]:
        """What the driver's ``_connect_to_rados`` returns."""
        if remote is not None or timeout is not None:
            # A replication target, or timeouts of its own (options of the
            # connection itself): a connection for this call, as before.
            made: tuple[Any, Any] = self.connect(pool, remote, timeout)
            return made
        with self.lock:
            client = self.client
            if client is not None and getattr(
                    client, 'state', 'connected') != 'connected':
                self._drop()
                client = None
        if client is not None:
            try:
                return client, client.open_ioctx(
                    self.configuration.rbd_pool if pool is None else pool)
            except self.rados.Error:
                # Not usable any more (e.g. evicted): a new connection.
                with self.lock:
                    if self.client is client:
                        self._drop()
        new_client, ioctx = self.connect(pool, None, None)
        with self.lock:
            if self.client is None:
                self.client = new_client
        # If another thread kept its connection meanwhile, this one is
        # shut down by ``put``, as the driver would.
        return new_client, ioctx

    def put(self, client: Any, ioctx: Any) -> None:
        """What the driver's ``_disconnect_from_rados`` does."""
        if client is not None and client is self.client:
            ioctx.close()
        else:
            self.disconnect(client, ioctx)

    def _drop(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.shutdown()
            except Exception:  # noqa: S110 - already unusable
                pass

    def close(self) -> None:
        with self.lock:
            self._drop()


def keep_open(driver: Any) -> None:
    """Keep ``driver``'s RADOS connection open across its operations;
    idempotent."""
    if isinstance(driver.__dict__.get('_cinderlib_rados'), _Connection):
        return
    connection = _Connection(driver)
    driver._cinderlib_rados = connection
    driver._connect_to_rados = connection.get
    driver._disconnect_from_rados = connection.put
    _drivers.add(driver)


def close(driver: Any) -> None:
    """Shut ``driver``'s kept connection down (a later operation makes a
    new one)."""
    connection = driver.__dict__.get('_cinderlib_rados')
    if isinstance(connection, _Connection):
        connection.close()


def is_kept(driver: Any) -> bool:
    """Whether ``driver`` holds a kept connection now."""
    connection = driver.__dict__.get('_cinderlib_rados')
    return isinstance(connection, _Connection) and (
        connection.client is not None)


@atexit.register
def _close_all() -> None:
    for driver in list(_drivers):
        close(driver)
