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

import json
from typing import Any, Iterable

#: How the text of every primitive ends (see the module docstring).
PRIMITIVE_END = '}}'
_LIST_END = ']}}'
# What json.dumps(value, separators=(',', ':')) does, without building an
# encoder on every call (the same output).
_encode = json.JSONEncoder(separators=(',', ':')).encode
# The same without the encoder's check for cycles (a fifth of its time).
_encode_acyclic = json.JSONEncoder(separators=(',', ':'),
                                   check_circular=False).encode


def dumps(value: Any) -> str:
    """``value`` as compact JSON text."""
    return _encode(value)


def dumps_acyclic(value: Any) -> str:
    """``dumps`` for a value built to hold no cycle: a primitive
    ``cinder.ovo`` made, whose dicts and lists were checked to nest at most
    ``validation.MAX_NESTING`` levels (a dict holding itself would not
    pass).  Anything else goes through ``dumps``."""
    return _encode_acyclic(value)


def compose(members: Iterable[tuple[str, str]]) -> str:
    """The text of a JSON object of ``members``: (key, JSON text of its
    value) pairs, in order.  Keys are cinderlib's own names, which JSON
    needs no escapes for."""
    return '{' + ','.join([f'"{key}":{text}' for key, text in members]) + '}'


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
