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
    REVERTING = 'reverting'     # a volume reverting to a snapshot
    RESTORING = 'restoring'     # the snapshot it reverts to
    DELETING = 'deleting'
    ERROR = 'error'
    ERROR_DELETING = 'error_deleting'
    DELETED = 'deleted'         # what a plugin's delete_* leaves
    MAINTENANCE = 'maintenance'  # a volume being migrated
    # Adopting and releasing (manage_existing, unmanage), as Cinder names
    # them; a snapshot being adopted is CREATING, as in Cinder.
    MANAGING = 'managing'                  # volumes only
    ERROR_MANAGING = 'error_managing'      # volumes only
    UNMANAGING = 'unmanaging'
    ERROR_UNMANAGING = 'error_unmanaging'  # volumes only


class AttachStatus:
    """Values of ``attach_status``: a connection's, and a volume's (
    ``ATTACHED`` while it has connections, else ``DETACHED``)."""

    ATTACHING = 'attaching'
    ATTACHED = 'attached'
    # Cinder has no "detaching": a stored connection is DETACHED only while
    # disconnect() removes its export; its record goes once that is done.
    DETACHED = 'detached'
    ERROR_DETACHING = 'error_detaching'


class MigrationStatus:
    """Values of a volume's ``migration_status`` (Cinder's).

    While a volume moves to another backend (``Volume.migrate``), its
    record says ``migrating:<target id>`` and the target's record
    ``target:<source id>`` (Cinder's own form for the target), so that
    ``recover()`` finds one from the other.
    """

    MIGRATING = 'migrating'
    SUCCESS = 'success'
    ERROR = 'error'
    DELETING = 'deleting'       # the record of the source's old storage
    MIGRATING_PREFIX = 'migrating:'
    TARGET_PREFIX = 'target:'


#: ``status`` values of an operation that started and has not ended.
IN_PROGRESS = frozenset((Status.CREATING, Status.DELETING, Status.EXTENDING,
                         Status.REVERTING, Status.RESTORING,
                         Status.MANAGING, Status.UNMANAGING))
#: ``attach_status`` values of a connection being made or removed.
ATTACH_IN_PROGRESS = frozenset((AttachStatus.ATTACHING,
                                AttachStatus.DETACHED))
#: Volume statuses a snapshot may be taken in.
SNAPSHOTTABLE = frozenset((Status.AVAILABLE, Status.IN_USE))
#: Volume statuses a revert to a snapshot may start from: Cinder's
#: ``available`` (not connected), and ``error``, which a failed revert
#: leaves and reverting again puts right.
REVERTIBLE = frozenset((Status.AVAILABLE, Status.ERROR))
#: Volume statuses of operations that attach the volume themselves (the
#: generic revert copies onto it, a migration copies from it): connecting
#: and disconnecting it leave the status to the operation, instead of
#: ``in-use``/``available``.
OWN_ATTACHMENTS = frozenset((Status.REVERTING, Status.MAINTENANCE))
#: What recovery reports for a resource whose record is gone.
GONE = 'deleted'
#: What recovery reports for a resource whose lock another holds.
BUSY = 'busy'
