"""Checks of caller input, each raising an error that names the field."""

from __future__ import annotations

import uuid
from typing import Any, Mapping

from cinderlib.exception import InvalidArgument, InvalidArgumentType

MAX_NAME_LENGTH = 255


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
