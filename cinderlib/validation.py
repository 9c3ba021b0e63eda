"""Checks of caller input, each raising an error that names the field."""

from __future__ import annotations

import uuid
from typing import Any, Mapping

from cinderlib.exception import InvalidArgument, InvalidArgumentType

MAX_NAME_LENGTH = 255
# How deeply a free-form JSON value the library keeps (a connection's
# connection_info and connector, a backend's configuration) may nest: a
# dict or list is one level more than the deepest value it holds.  Drivers
# return well under 8; Python and JSON recurse past a few hundred.
MAX_NESTING = 32
# Volume fields, besides ids, that drivers turn into names or paths on the
# storage (Cinder's ``volume_name_template % _name_id``).
STORAGE_NAME_FIELDS = ('_name_id',)


def size(value: Any, field: str = 'size') -> int:
    """Return ``value`` as a size in GiB: a positive int (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentType(
            field, f'must be a positive integer (GiB), got {value!r}')
    if value < 1:
        raise InvalidArgument(field, f'must be at least 1 GiB, got {value}')
    return value


def resource_id(value: Any, non_uuid_ids: bool, field: str = 'id') -> str:
    """Return ``value`` as an id: a UUID unless ``non_uuid_ids`` is set."""
    if not isinstance(value, str):
        raise InvalidArgumentType(field, f'must be a string, got {value!r}')
    if non_uuid_ids:
        text(value, field)
        if not value or '/' in value or value in ('.', '..'):
            raise InvalidArgument(field, f'{value!r} is not a usable id')
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidArgument(
            field, f'{value!r} is not a UUID (set non_uuid_ids=True in '
                   f'setup() to allow other ids)') from None


def storage_name_field(value: Any, field: str) -> str:
    """Return ``value`` if it can be part of a name or a path on the
    storage (the fields in ``STORAGE_NAME_FIELDS``): a non-empty string of
    at most 255 characters, not ``.`` or ``..``, without ``/``, ``\\`` or
    control characters."""
    text(value, field)
    if not isinstance(value, str) or value in ('', '.', '..'):
        raise InvalidArgument(field, f'{value!r} cannot be part of a '
                                     f'storage name')
    bad = next((c for c in value if c in '/\\' or ord(c) < 32 or
                ord(c) == 127), None)
    if bad is not None:
        raise InvalidArgument(field, f'{value!r:.60} cannot be part of a '
                                     f'storage name (it holds {bad!r})')
    return value


def nesting(value: Any, field: str, limit: int = MAX_NESTING) -> Any:
    """Return ``value`` (JSON-like data) if it nests at most ``limit``
    levels of dicts and lists (``MAX_NESTING``).  It is walked depth
    first without recursion, so any depth is measured safely; a value
    holding itself is found too deep within ``limit`` steps."""
    stack = [(value, 1)] if isinstance(value, _CONTAINERS) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise InvalidArgument(field, f'nests more than {limit} levels '
                                         f'of dicts and lists')
        for item in node.values() if isinstance(node, dict) else node:
            if isinstance(item, _CONTAINERS):
                stack.append((item, depth + 1))
    return value


_CONTAINERS = (dict, list, tuple)


def text(value: Any, field: str, max_length: int = MAX_NAME_LENGTH) -> str:
    """Return ``value`` if it is a printable string of bounded length."""
    if value is None:
        return ''
    if not isinstance(value, str):
        raise InvalidArgumentType(field, f'must be a string, got {value!r}')
    if len(value) > max_length:
        raise InvalidArgument(
            field, f'longer than {max_length} characters ({len(value)})')
    if '\x00' in value:
        raise InvalidArgument(field, 'contains a NUL character')
    if not value.isascii():
        try:
            value.encode('utf-8')
        except UnicodeEncodeError:  # databases refuse it
            raise InvalidArgument(
                field, 'is not valid Unicode (it holds a lone surrogate '
                       'character)') from None
    return value


def string_dict(value: Any, field: str) -> dict[str, str]:
    """Return a copy of a mapping of strings (None gives ``{}``)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentType(field, f'must be a dict, got {value!r}')
    result = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidArgumentType(field, f'key {key!r} is not a string')
        if not isinstance(item, (str, int, float, bool)):
            raise InvalidArgumentType(
                field, f'value of {key!r} must be a string, got {item!r}')
        result[key] = str(item)
    return result


def connector(value: Any, field: str = 'connector') -> dict[str, Any]:
    """Return ``value`` if it looks like an os-brick connector dict."""
    if not isinstance(value, Mapping):
        raise InvalidArgumentType(
            field, f'must be a dict of connector properties (see '
                   f'cinderlib.get_connector_properties), got {value!r}')
    for key in value:
        if not isinstance(key, str):
            raise InvalidArgumentType(field, f'key {key!r} is not a string')
    return dict(value)
