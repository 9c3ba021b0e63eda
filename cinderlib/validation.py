"""Checks of caller input, each raising an error that names the field.

The limits are those of the storage: the ``db`` persistence plugin's
columns (255 characters for names, hosts and ids), JSON for everything
stored inside an object's data, and a 64-bit byte count for sizes.
Everything a caller gives is checked here before any record is written
or any driver called, so nothing is stored that cannot be read back.
"""

from __future__ import annotations

import datetime
import math
import numbers
import uuid
from collections.abc import Mapping
from typing import Any, Optional

from cinderlib.exception import InvalidArgument, InvalidArgumentType

MAX_NAME_LENGTH = 255
# The db plugin's status columns (schema.py), and Cinder's description
# columns (a TEXT column).
MAX_STATUS_LENGTH = 36
MAX_DESCRIPTION_LENGTH = 65535
#: The longest value of each Cinder field longer or shorter than
#: ``MAX_NAME_LENGTH``, the default of every other string field.
FIELD_LENGTHS = {'display_description': MAX_DESCRIPTION_LENGTH,
                 'status': MAX_STATUS_LENGTH,
                 'previous_status': MAX_STATUS_LENGTH,
                 'migration_status': MAX_STATUS_LENGTH,
                 'replication_status': MAX_STATUS_LENGTH}
# How deeply a free-form JSON value the library keeps (a connection's
# connection_info and connector, a backend's configuration) may nest: a
# dict or list is one level more than the deepest value it holds.  Drivers
# return well under 8; Python and JSON recurse past a few hundred.
MAX_NESTING = 32
# Volume fields, besides ids, that drivers turn into names or paths on the
# storage (Cinder's ``volume_name_template % _name_id``).
STORAGE_NAME_FIELDS = ('_name_id',)
# The db plugin's attached_host column (schema.connections).
MAX_HOST_LENGTH = 255
GiB = 1024 ** 3
# The largest size whose byte count fits a signed 64-bit integer (off_t,
# SQL BIGINT): 8 EiB less 1 GiB.
MAX_SIZE_GIB = (2 ** 63 - 1) // GiB
ATTACH_MODES = ('rw', 'ro')


def size(value: Any, field: str = 'size') -> int:
    """Return ``value`` as a stored size in GiB: an int from 1 to
    ``MAX_SIZE_GIB`` (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentType(
            field, f'must be a positive integer (GiB), got {value!r:.60}')
    return _size_in_range(value, field)


def requested_size(value: Any, field: str = 'size') -> int:
    """Return a size a caller asked for, in whole GiB: an int, or a float
    rounded up to the next GiB (``1.0`` is 1, ``1.2`` is 2), never down.

    Bools, strings, NaN and infinities are refused, and so are sizes of
    0 or less, or above ``MAX_SIZE_GIB``.
    """
    if type(value) is int:  # most calls: no isinstance() of an ABC
        return _size_in_range(value, field)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidArgumentType(
            field, f'must be a number of GiB, got {value!r:.60}')
    if isinstance(value, numbers.Integral):
        return _size_in_range(int(value), field)
    try:
        number = float(value)
    except OverflowError:  # a huge fraction
        raise _too_large(field, value) from None
    if not math.isfinite(number):
        raise InvalidArgument(field, f'must be a finite number of GiB, '
                                     f'got {value!r}')
    if number <= 0:
        raise InvalidArgument(field, f'must be more than 0 GiB, got '
                                     f'{value!r}')
    # Compared before rounding: ceil() of a huge float is a huge int.
    if number > MAX_SIZE_GIB:
        raise _too_large(field, value)
    return _size_in_range(math.ceil(number), field)


def _size_in_range(gib: int, field: str) -> int:
    if gib < 1:
        raise InvalidArgument(field, f'must be at least 1 GiB, got {gib}')
    if gib > MAX_SIZE_GIB:
        raise _too_large(field, gib)
    return gib


def _too_large(field: str, value: Any) -> InvalidArgument:
    return InvalidArgument(
        field, f'must be at most {MAX_SIZE_GIB} GiB (a byte count that '
               f'fits 64 bits), got {value!r:.60}')


def resource_id(value: Any, non_uuid_ids: bool, field: str = 'id') -> str:
    """Return ``value`` as an id: a UUID unless ``non_uuid_ids`` is set.

    Ids become storage names and file names (``volume-<id>``): with
    ``non_uuid_ids`` any string of at most 255 characters without ``/``
    or NUL, other than ``.`` and ``..``.
    """
    if not isinstance(value, str):
        raise InvalidArgumentType(field, f'must be a string, got '
                                         f'{value!r:.60}')
    if non_uuid_ids:
        text(value, field)
        if not value or '/' in value or value in ('.', '..'):
            raise InvalidArgument(field, f'{value!r:.60} is not a usable id')
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidArgument(
            field, f'{value!r:.60} is not a UUID (set non_uuid_ids=True in '
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
    first, at most ``limit`` calls deep whatever its depth; a value
    holding itself is found too deep within ``limit`` steps."""
    if isinstance(value, _CONTAINERS) and not _nests_within(value, limit):
        raise InvalidArgument(field, f'nests more than {limit} levels '
                                     f'of dicts and lists')
    return value


def _nests_within(node: Any, levels: int) -> bool:
    if levels <= 0:
        return False
    for item in node.values() if isinstance(node, dict) else node:
        if isinstance(item, _CONTAINERS) and not _nests_within(item,
                                                               levels - 1):
            return False
    return True


_CONTAINERS = (dict, list, tuple)


def text(value: Any, field: str, max_length: int = MAX_NAME_LENGTH) -> str:
    """Return ``value`` if it is a printable string of bounded length."""
    if value is None:
        return ''
    if not isinstance(value, str):
        raise InvalidArgumentType(field, f'must be a string, got '
                                         f'{value!r:.60}')
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


def boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentType(
            field, f'must be True or False, got {value!r:.60}')
    return value


def date_time(value: Any, field: str) -> datetime.datetime:
    if not isinstance(value, datetime.datetime):
        raise InvalidArgumentType(
            field, f'must be a datetime, got {value!r:.60}')
    return value


def string_dict(value: Any, field: str) -> dict[str, str]:
    """Return a copy of a mapping of strings (None gives ``{}``)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidArgumentType(field, f'must be a dict, got '
                                         f'{value!r:.60}')
    result = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidArgumentType(field, f'key {key!r:.60} is not a '
                                             f'string')
        text(key, f'{field} key', MAX_NAME_LENGTH)
        if isinstance(item, float) and not math.isfinite(item):
            raise InvalidArgument(field, f'value of {key!r:.60} is {item}')
        if not isinstance(item, (str, int, float, bool)):
            raise InvalidArgumentType(
                field, f'value of {key!r:.60} must be a string, got '
                       f'{item!r:.60}')
        result[key] = text(str(item), f'{field}[{key!r:.60}]', 65535)
    return result


def json_value(value: Any, field: str,
               max_depth: int = MAX_NESTING) -> Any:
    """Return a plain copy of ``value`` if it can be stored as JSON and
    read back as it was: dicts with string keys, lists (tuples become
    lists), strings, ints, finite floats, bools and None, nested at most
    ``max_depth`` levels."""
    return _json_copy(value, field, max_depth, max_depth)


# Where a value sits in the one checked: a field name, or (where its
# container sits, its key, whether the key is a list index).  Made into
# text only for an error message: checking builds no text.
_Where = Any


def _where_text(where: _Where) -> str:
    if isinstance(where, str):
        return where
    parent, key, is_index = where
    if is_index:
        return f'{_where_text(parent)}[{key}]'
    return f'{_where_text(parent)}[{key!r:.40}]'


def _json_copy(value: Any, where: _Where, depth: int, limit: int) -> Any:
    is_dict = type(value) is dict  # most values given: no other check
    if is_dict:
        pass
    elif value is None or isinstance(value, (bool, int)):
        return value
    elif isinstance(value, str):
        return _json_string(value, where)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgument(_where_text(where),
                                  f'{value} cannot be stored as JSON')
        return value
    if depth <= 0:
        path = _where_text(where)
        if len(path) > 80:  # a path as deep as the limit
            path = f'{path[:60]}...{path[-17:]}'
        raise InvalidArgument(path, f'nests too deeply (at most {limit} '
                                    f'levels)')
    if is_dict or isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if type(key) is not str:
                if not isinstance(key, str):
                    raise InvalidArgumentType(
                        _where_text(where),
                        f'key {key!r:.60} is not a string')
                key = _json_string(key, where)
            elif not key.isascii():
                _json_string(key, where)
            kind = type(item)
            # Plain strings, ints, bools and None, most of a connector,
            # without a call each (what the first lines above do).
            if kind is str:
                if not item.isascii():
                    _json_string(item, (where, key, False))
                result[key] = item
            elif item is None or kind is int or kind is bool:
                result[key] = item
            else:
                result[key] = _json_copy(item, (where, key, False),
                                         depth - 1, limit)
        return result
    if isinstance(value, (list, tuple)):
        return [_json_copy(item, (where, index, True), depth - 1, limit)
                for index, item in enumerate(value)]
    raise InvalidArgumentType(
        _where_text(where),
        f'{type(value).__name__} values cannot be stored as JSON, got '
        f'{value!r:.60}')


def _json_string(value: str, where: _Where) -> str:
    if not value.isascii():
        try:
            value.encode('utf-8')
        except UnicodeEncodeError:
            raise InvalidArgument(
                _where_text(where), 'is not valid Unicode (it holds a lone '
                                    'surrogate character)') from None
    return value


def connector(value: Any, field: str = 'connector') -> dict[str, Any]:
    """Return a plain copy of an os-brick connector dict (see
    ``cinderlib.get_connector_properties``) that can be stored: JSON
    values of bounded nesting, and a ``host`` (stored as the connection's
    ``attached_host``) of at most 255 characters without NUL."""
    if type(value) is not dict and not isinstance(value, Mapping):
        raise InvalidArgumentType(
            field, f'must be a dict of connector properties (see '
                   f'cinderlib.get_connector_properties), got '
                   f'{value!r:.60}')
    result: dict[str, Any] = json_value(value, field, MAX_NESTING - 2)
    if result.get('host') is not None:
        text(result['host'], f'{field}[\'host\']', MAX_HOST_LENGTH)
    return result


def attach_mode(value: Any, field: str = 'attach_mode') -> str:
    if value not in ATTACH_MODES:
        raise InvalidArgument(
            field, f"must be 'rw' or 'ro', got {value!r:.60}")
    return str(value)


def device(value: Any, field: str = 'device') -> Optional[dict[str, Any]]:
    """Return a plain copy of an attached device's description (os-brick's
    ``connect_volume`` result: ``{'path': ..., 'type': ...}``), or None."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidArgumentType(
            field, f'must be a dict describing the device (os-brick\'s '
                   f'connect_volume result) or None, got {value!r:.60}')
    copy: dict[str, Any] = json_value(value, field, MAX_NESTING - 2)
    return copy


def connection_info(value: Any,
                    field: str = 'connection_info') -> dict[str, Any]:
    """Return a plain copy of a connection's ``connection_info``:
    ``{'conn': dict, 'connector': dict, 'device': dict or None}``, each
    part checked (``conn['data']`` a dict)."""
    if not isinstance(value, Mapping):
        raise InvalidArgumentType(
            field, f'must be a dict with conn, connector and device, got '
                   f'{value!r:.60}')
    result: dict[str, Any] = json_value(value, field)
    for key in ('conn', 'connector', 'device'):
        if not isinstance(result.get(key), (dict, type(None))):
            raise InvalidArgumentType(
                field, f'its {key!r} must be a dict or None, got '
                       f'{result.get(key)!r:.60}')
    conn = result.get('conn') or {}
    if not isinstance(conn.get('data', {}), dict):
        raise InvalidArgumentType(field, "its conn['data'] must be a dict")
    if result.get('connector'):
        connector(result['connector'], f"{field}['connector']")
    return result


def existing_ref(value: Any, field: str = 'existing_ref') -> dict[str, Any]:
    """Return a copy of a driver's reference to a storage object
    (``{'source-name': NAME}``, ``{'source-id': ID}``...): a non-empty
    dict, storable as JSON."""
    if not isinstance(value, Mapping):
        raise InvalidArgumentType(
            field, f"must be a dict such as {{'source-name': NAME}}, got "
                   f'{value!r:.60}')
    if not value:
        raise InvalidArgument(field, 'is empty')
    result: dict[str, Any] = json_value(value, field, 3)
    return result
