"""Exceptions raised by cinderlib.

``NotFound``, ``VolumeNotFound``, ``SnapshotNotFound``, ``ConnectionNotFound``,
``InvalidVolume`` and ``InvalidSnapshot`` are Cinder's own classes (callers
may catch either name); they are resolved on first access so that importing
this module does not import Cinder.  Everything else is defined here.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

# Names served from ``cinder.exception`` on first access.
_CINDER_ALIASES = {
    'NotFound': 'NotFound',
    'VolumeNotFound': 'VolumeNotFound',
    'SnapshotNotFound': 'SnapshotNotFound',
    'ConnectionNotFound': 'VolumeAttachmentNotFound',
    'InvalidVolume': 'InvalidVolume',
    'InvalidSnapshot': 'InvalidSnapshot',
    'InvalidInput': 'InvalidInput',
    'VolumeDriverException': 'VolumeDriverException',
}


def __getattr__(name: str) -> Any:
    try:
        cinder_name = _CINDER_ALIASES[name]
    except KeyError:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module('cinder.exception'), cinder_name)
    globals()[name] = value
    return value


class CinderlibError(Exception):
    """Base class of the exceptions defined by cinderlib itself.

    Its message is one line (callers such as oVirt's client pass
    ``str(exception)`` on as one line): line breaks in the text it is
    built from, such as a database driver's reason, become spaces.
    """

    def __str__(self) -> str:
        return ' '.join(line.strip() for line in super().__str__().splitlines()
                        if line.strip())


class InvalidArgument(CinderlibError, ValueError):
    """An argument has a wrong value; ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f'Invalid {field}: {reason}')


class InvalidArgumentType(CinderlibError, TypeError):
    """An argument has a wrong type; ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f'Invalid {field}: {reason}')


class AlreadyExists(InvalidArgument):
    """Creating an object with the id of one that exists was refused before
    anything was changed: the existing object and its record are as they
    were.  ``kind`` (``'volume'``, ``'snapshot'``, ``'connection'``) and
    ``object_id`` name it."""

    def __init__(self, kind: str, object_id: str) -> None:
        self.kind = kind
        self.object_id = object_id
        super().__init__('id', f'a {kind} with id {object_id} already '
                               f'exists; it was left unchanged')


class InvalidDriverOption(InvalidArgument):
    """A driver option is unknown to the driver or has a bad value."""


class InvalidPersistence(CinderlibError, ValueError):
    """The persistence configuration cannot be used."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f'Invalid persistence configuration: {reason}')


class CoordinationUnavailable(CinderlibError):
    """The coordination backend (``coordination_backend_url``) for locks
    across hosts cannot be reached."""

    def __init__(self, backend_url: str, error: BaseException) -> None:
        self.backend_url = _without_password(backend_url)
        super().__init__(f'Coordination backend {self.backend_url} is '
                         f'unavailable: {type(error).__name__}: {error}')


def _without_password(url: str) -> str:
    """``url`` with its secrets masked: the password of its
    ``user:password@`` part and the values of query parameters named like
    secrets (``?password=...``, ``&sentinel_password=...``, ``token``...)."""
    url = _SECRET_QUERY_VALUE.sub(r'\1***', url)
    scheme, sep, rest = url.partition('://')
    credentials, at, location = rest.rpartition('@')
    if not sep or not at or ':' not in credentials:
        return url
    user = credentials.partition(':')[0]
    return f'{scheme}://{user}:***@{location}'


# A query parameter whose name says it holds a secret, up to its value.
_SECRET_QUERY_VALUE = re.compile(
    r'([?&;][^=&;#]*(?:password|passwd|pwd|secret|token|credential)'
    r'[^=&;#]*=)[^&;#]*', re.IGNORECASE)


class PersistenceConflict(CinderlibError):
    """An object was written from an outdated copy: another writer changed
    it since it was read.  ``refresh()`` it and retry."""

    def __init__(self, kind: str, object_id: str) -> None:
        self.object_id = object_id
        super().__init__(f'{kind} {object_id} was changed by another writer '
                         f'since it was read; refresh it and retry')


class PersistenceUnavailable(CinderlibError):
    """The persistence database cannot be used right now: its server is
    down, restarting or unreachable, the connection dropped, or an SQLite
    file is read-only or its disk full.

    ``url`` is the database URL with the password masked, ``operation``
    what was being done (``'saving volume <id>'``, ``'listing
    volumes'``...) and ``reason`` the database driver's error.  The failed
    write was rolled back.  ``resource`` is the object being saved or
    deleted (None for reads): it keeps its state in memory, including what
    the storage driver already did, and saving it again (or repeating the
    deletion) once the database is back completes the record.
    """

    def __init__(self, url: str, operation: str, reason: str,
                 resource: Any = None) -> None:
        self.url = url
        self.operation = operation
        self.reason = reason
        self.resource = resource
        super().__init__(f'Persistence database {url} is unavailable '
                         f'while {operation}: {reason}')


class InvalidSerializedData(CinderlibError, ValueError):
    """``load()`` was given data that is not a serialized cinderlib object."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f'Cannot load serialized data: {reason}')


class InvalidStoredData(InvalidSerializedData):
    """A persistence plugin holds a row it cannot read back (edited by
    hand, or damaged): ``kind`` (``'volume'``, ``'snapshot'``,
    ``'connection'`` or ``'key_value'``) and ``object_id`` name it."""

    def __init__(self, kind: str, object_id: Any, reason: str) -> None:
        self.kind = kind
        self.object_id = object_id
        super().__init__(f'stored {kind} {object_id!r} is invalid: {reason}')


class BackendNotLoaded(CinderlibError, LookupError):
    """An object refers to a backend that is not loaded in this process."""

    def __init__(self, name: str) -> None:
        self.backend_name = name
        super().__init__(
            f'Backend {name!r} is not loaded in this process; create it with '
            f'cinderlib.Backend(volume_backend_name={name!r}, ...) first, or '
            f'call setup(fail_on_missing_backend=False)')


class NotSupported(CinderlibError, NotImplementedError):
    """The backend's driver cannot do an operation: ``driver`` (its class
    name) and ``operation`` name them.  Raised before anything changed."""

    def __init__(self, driver: str, operation: str) -> None:
        self.driver = driver
        self.operation = operation
        super().__init__(f'Driver {driver} does not support {operation}')


class AlreadyManaged(InvalidArgument):
    """Adopting a storage object that this library already manages was
    refused before anything changed: ``kind`` (``'volume'`` or
    ``'snapshot'``) and ``object_id`` name the object that has it."""

    def __init__(self, existing_ref: Any, kind: str, object_id: str) -> None:
        self.kind = kind
        self.object_id = object_id
        super().__init__('existing_ref',
                         f'{existing_ref!r:.200} is already managed as '
                         f'{kind} {object_id}')


class NotLocal(CinderlibError):
    """The volume is not attached to this host."""

    def __init__(self, volume_id: str) -> None:
        self.volume_id = volume_id
        super().__init__(f'Volume {volume_id} is not locally attached')
