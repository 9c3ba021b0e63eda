"""Key-value records kept by the persistence plugin."""

from __future__ import annotations

from typing import Any, Optional


class KeyValue:
    """A small record (``key``, ``value``) stored by the persistence plugin.

    Used for instance to publish each node's connector dict.
    """

    def __init__(self, key: Optional[str] = None,
                 value: Optional[Any] = None) -> None:
        self.key = key
        self.value = value

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, KeyValue) and
                (self.key, self.value) == (other.key, other.value))

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f'KeyValue(key={self.key!r}, value={self.value!r})'
