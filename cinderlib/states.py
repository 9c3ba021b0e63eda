"""Every status cinderlib records, and which ones mean "in progress".

Volumes and snapshots have Cinder's ``status`` field; connections (and
volumes) Cinder's ``attach_status``.  Every operation records its start
before it calls the driver (see :mod:`cinderlib.recovery`): a record left
in one of the ``IN_PROGRESS`` states with its lock free belongs to an
operation that will never finish.  The values are Cinder's own strings,
so they are plain ``str`` constants, compared with what Cinder's objects
hold.
"""

from __future__ import annotations


class Status:
    """Values of a volume's or a snapshot's ``status``."""

    CREATING = 'creating'
    AVAILABLE = 'available'
    IN_USE = 'in-use'           # a volume with connections
    EXTENDING = 'extending'     # volumes only
    DELETING = 'deleting'
    ERROR = 'error'
    ERROR_DELETING = 'error_deleting'
    DELETED = 'deleted'         # what a plugin's delete_* leaves


class AttachStatus:
    """Values of ``attach_status``: a connection's, and a volume's (
    ``ATTACHED`` while it has connections, else ``DETACHED``)."""

    ATTACHING = 'attaching'
    ATTACHED = 'attached'
    # Cinder has no "detaching": a stored connection is DETACHED only while
    # disconnect() removes its export; its record goes once that is done.
    DETACHED = 'detached'
    ERROR_DETACHING = 'error_detaching'


#: ``status`` values of an operation that started and has not ended.
IN_PROGRESS = frozenset((Status.CREATING, Status.DELETING, Status.EXTENDING))
#: ``attach_status`` values of a connection being made or removed.
ATTACH_IN_PROGRESS = frozenset((AttachStatus.ATTACHING,
                                AttachStatus.DETACHED))
#: Volume statuses a snapshot may be taken in.
SNAPSHOTTABLE = frozenset((Status.AVAILABLE, Status.IN_USE))
#: What recovery reports for a resource whose record is gone.
GONE = 'deleted'
#: What recovery reports for a resource whose lock another holds.
BUSY = 'busy'
