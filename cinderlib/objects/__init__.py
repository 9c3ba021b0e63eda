"""The objects callers work with: volumes, snapshots and connections."""

from cinderlib.objects.connection import Connection
from cinderlib.objects.key_value import KeyValue
from cinderlib.objects.snapshot import Snapshot
from cinderlib.objects.volume import Volume

__all__ = ['Connection', 'KeyValue', 'Snapshot', 'Volume']
