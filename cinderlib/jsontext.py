"""JSON text as cinderlib writes it, and built from pieces of such text.

Serialized objects (``jsons``, ``dumps``) and the ``db`` plugin's rows are
compact JSON (``dumps``: no spaces).  Serializing an object that was not
changed since a plugin read it reuses the stored text rather than decoding
and encoding it again, so text is also put together from the texts of its
parts, here and nowhere else.  The rule that makes that possible: the text
of a primitive (``cinder.ovo.to_primitive``) is that of a dict whose last
key is ``versioned_object.data``, so it ends with ``}}``, the ends of its
data and of its envelope (``PRIMITIVE_END``); fields are added to it just
before those two characters (``add_fields``), and a list's primitive ends
with ``]}}`` (``fill_list``).
"""

from __future__ import annotations

import datetime
import importlib
import json
import math
from typing import Any, Iterable, Optional

# The fast codecs, optional (``cinderlib[fast]``): orjson encodes (see
# dumps_acyclic()), msgspec decodes (see loads()).  Each is imported on
# first use, None when it is not installed.
_UNLOADED: Any = object()
_orjson: Any = _UNLOADED
_decode: Any = _UNLOADED


def _load_orjson() -> Any:
    global _orjson
    # Its import takes 10 ms or more, which import cinderlib (a CLI, a
    # process per operation) should not pay unless it serializes.
    _orjson = _installed('orjson')
    return _orjson


def _load_decoder() -> Any:
    global _decode
    # Its import takes 15 ms (2 ms once Cinder is imported): on first use.
    module = _installed('msgspec.json')
    _decode = None if module is None else module.decode
    return _decode


def _installed(name: str) -> Any:
    """The module ``name``, or None if it is not installed (the tests run
    both ways)."""
    try:
        # lazy: see _load_orjson and _load_decoder
        return importlib.import_module(name)
    except ImportError:
        return None


#: How the text of every primitive ends (see the module docstring).
PRIMITIVE_END = '}}'
_LIST_END = ']}}'
# What json.dumps(value, separators=(',', ':')) does, without building an
# encoder on every call (the same output).
_encode = json.JSONEncoder(separators=(',', ':')).encode


def _iso_date(value: Any) -> str:
    """A date in the value ``dumps_acyclic`` encodes, as orjson writes
    it (for the dates it is given: see there)."""
    if type(value) is not datetime.datetime:
        raise TypeError(f'Object of type {type(value).__name__} is not '
                        f'JSON serializable')
    return value.isoformat()


# The same without the encoder's check for cycles (a fifth of its time),
# dates written as text.
_encode_acyclic = json.JSONEncoder(separators=(',', ':'),
                                   check_circular=False,
                                   default=_iso_date).encode


class NonFinite(float):
    """A float that is NaN or infinite, as this library holds one in a
    value ``dumps_acyclic`` may encode: orjson would write it as
    ``null``, and refuses this type, so that ``json`` writes it instead
    (``NaN``, ``Infinity``), as it always did.  It is a float in all else.
    """

    __slots__ = ()


def finite_or_marked(value: float) -> float:
    """``value``, or ``NonFinite(value)`` if it is NaN or infinite."""
    return value if math.isfinite(value) else NonFinite(value)


def dumps(value: Any) -> str:
    """``value`` as compact JSON text."""
    return _encode(value)


def dumps_acyclic(value: Any) -> str:
    """``dumps`` for a value built to hold no cycle: a primitive
    ``cinder.ovo`` made, whose dicts and lists were checked to nest at most
    ``validation.MAX_NESTING`` levels (a dict holding itself would not
    pass), and whose floats that are not finite are ``NonFinite`` (that
    check does it, and ``loads`` reads them so).  It may hold dates
    (``datetime.datetime`` in ``datetime.timezone.utc``, the zone
    Cinder's fields give them), written as ``isoformat()`` writes them:
    orjson writes such dates the same, at C speed (not those of an
    offset with seconds, which it cuts).

    The same text as ``dumps``, but for how a float is written (``1e-7``
    for ``1e-07``: the same number).  With orjson installed it writes
    the text, ten times as fast, when the text is printable ASCII
    (``dumps`` escapes other characters), holds no integer beyond 64 bits
    and no key that is not a string (orjson refuses them, and
    ``NonFinite``).
    """
    text = _orjson_text(value, None)
    return _encode_acyclic(value) if text is None else text


def _orjson_text(value: Any,
                 texts: Optional[tuple[tuple[str, str], ...]]) -> Any:
    """orjson's text of ``value`` (a dict if ``texts`` are given: (key,
    JSON text) pairs, written as its first members), if that is
    ``dumps_acyclic``'s (see there); None if not, or without orjson."""
    codec = _load_orjson() if _orjson is _UNLOADED else _orjson
    if codec is None:
        return None
    if texts is not None:
        fragment = codec.Fragment
        value = {**{key: fragment(text) for key, text in texts}, **value}
    try:
        text = codec.dumps(value)
    except TypeError:  # JSONEncodeError is one
        return None
    if text.isascii() and b'\x7f' not in text:  # dumps escapes it
        return text.decode('ascii')
    return None


def loads(text: str | bytes | bytearray) -> Any:
    """``json.loads(text)``: the same values, or the same error; floats
    that are not finite (``NaN``, ``1e999``) are ``NonFinite``.

    With msgspec installed it decodes the text, twice as fast, giving
    what ``json`` gives for what it reads (integers beyond 64 bits
    included).  What it refuses and ``json`` may read (``NaN``, numbers
    beyond the floats' range, lone surrogates, other encodings than
    UTF-8 in bytes) goes to ``json``, as does a deeper nesting than it
    reads.
    """
    decode = _load_decoder() if _decode is _UNLOADED else _decode
    if decode is not None:
        try:
            return decode(text)
        except Exception:
            # What msgspec refuses, json answers (msgspec's errors are
            # not ValueErrors in every version).
            pass
    return json.loads(text, parse_constant=_constant,
                      parse_float=_parse_float)


def _constant(name: str) -> float:
    return NonFinite(name)  # NaN, Infinity, -Infinity


def _parse_float(text: str) -> float:
    return finite_or_marked(float(text))


def compose(members: Iterable[tuple[str, str]]) -> str:
    """The text of a JSON object of ``members``: (key, JSON text of its
    value) pairs, in order.  Keys are cinderlib's own names, which JSON
    needs no escapes for."""
    return '{' + ','.join([f'"{key}":{text}' for key, text in members]) + '}'


def compose_acyclic(members: tuple[tuple[str, str], ...], key: str,
                    value: Any) -> str:
    """``compose(members + ((key, dumps_acyclic(value)),))``, in one pass
    with orjson."""
    text = _orjson_text({key: value}, members)
    return compose(members + ((key, _encode_acyclic(value)),)) if (
        text is None) else text


def array(item_texts: Iterable[str]) -> str:
    """The text of a JSON array of items given as JSON texts."""
    return '[' + ','.join(item_texts) + ']'


def add_fields(primitive_text: str, fields: Iterable[tuple[str, str]]) -> str:
    """A primitive's text with ``fields`` ((name, JSON text) pairs) added
    to its data (cinderlib's field names need no escapes).  Text that does
    not end as a primitive does (``PRIMITIVE_END``) gets them where they
    do not belong, and the checks of the data then report it."""
    added = ''.join([f',"{name}":{text}' for name, text in fields])
    return primitive_text[:-len(PRIMITIVE_END)] + added + PRIMITIVE_END


def fill_list(empty_list_text: str, item_texts: Iterable[str]) -> str:
    """The text of a list's primitive, from that of the same list empty
    (its ``objects`` the last member of its data) and its items' texts."""
    return (empty_list_text[:-len(_LIST_END)] + ','.join(item_texts) +
            _LIST_END)
