"""cinderlib: OpenStack Cinder's volume drivers as a Python library.

This module is the public API map.  Importing it does not import Cinder:
that happens when the first backend is built.
"""

from __future__ import annotations

from importlib import metadata as _metadata
from typing import Any, Callable, Optional

from cinderlib import connectors as _connectors
from cinderlib import exception
from cinderlib import jsontext as _jsontext
from cinderlib import serialization as _serialization
from cinderlib._runtime import DEFAULT_PROJECT_ID, DEFAULT_USER_ID
from cinderlib.backend import Backend
from cinderlib.objects import Connection, KeyValue, Snapshot, Volume

try:
    __version__ = _metadata.version('cinderlib')
except _metadata.PackageNotFoundError:  # running from a source tree
    __version__ = '0+unknown'


setup = Backend.global_setup
load = _serialization.load
list_supported_drivers = Backend.list_supported_drivers

__all__ = [
    'Backend', 'Connection', 'DEFAULT_PROJECT_ID', 'DEFAULT_USER_ID',
    'KeyValue', 'Snapshot', 'Volume', '__version__', 'dump', 'dumps',
    'exception', 'get_connector_properties', 'json', 'jsons',
    'list_supported_drivers', 'load', 'setup',
]


def json() -> list[dict[str, Any]]:
    """Every loaded backend, serialized as dicts."""
    return [backend.json for backend in Backend.backends.values()]


def jsons() -> str:
    """Every loaded backend, serialized as a JSON string."""
    return _jsontext.dumps(json())


def dump() -> list[dict[str, Any]]:
    """Like ``json()``, after loading snapshots and connections."""
    return [backend.dump for backend in Backend.backends.values()]


def dumps() -> str:
    """Like ``jsons()``, after loading snapshots and connections."""
    return _jsontext.dumps(dump())


def get_connector_properties(root_helper: str, my_ip: str, multipath: bool,
                             enforce_multipath: bool,
                             host: Optional[str] = None,
                             execute: Optional[Callable[..., Any]] = None
                             ) -> dict[str, Any]:
    """os-brick's connector dict describing this host."""
    return _connectors.get_connector_properties(
        root_helper, my_ip, multipath, enforce_multipath, host, execute)
