"""What Cinder's drivers need to adopt and release storage objects
(``manage_existing*``, ``unmanage*``, ``get_manageable_*``): whether a
driver implements them, and the listing arguments Cinder's API checks."""

from __future__ import annotations

from typing import Any, Optional

from cinderlib import exception
from cinderlib.cinder.config import load

# The listing sort keys and directions Cinder's API accepts, and its
# defaults (cinder/api/contrib/resource_common_manage.py).
SORT_KEYS = ('reference', 'size')
SORT_DIRS = ('asc', 'desc')
DEFAULT_SORT_KEY = 'reference'
DEFAULT_SORT_DIR = 'desc'


def require(driver: Any, operation: str, *methods: str) -> None:
    """Raise ``NotSupported`` naming the driver and ``operation`` unless
    its class implements every one of ``methods``: Cinder's base classes
    define them all, raising ``NotImplementedError`` or doing nothing."""
    load()
    # lazy: Cinder loads on first use, never with import cinderlib
    from cinder.volume import driver as cinder_driver
    bases = (cinder_driver.BaseVD, cinder_driver.VolumeDriver,
             cinder_driver.ManageableVD, cinder_driver.ManageableSnapshotsVD)
    for method in methods:
        implementation = getattr(type(driver), method, None)
        if implementation is None or any(
                getattr(base, method, None) is implementation
                for base in bases):
            raise exception.NotSupported(type(driver).__name__, operation)


def sort_arguments(sort_keys: Optional[list[str]],
                   sort_dirs: Optional[list[str]]
                   ) -> tuple[list[str], list[str]]:
    """Checked sort keys and directions, defaults as Cinder's API has them
    (directions missing at the end are the default one)."""
    for field, values, valid in (('sort_keys', sort_keys, SORT_KEYS),
                                 ('sort_dirs', sort_dirs, SORT_DIRS)):
        if values is not None and (
                not isinstance(values, (list, tuple)) or
                any(value not in valid for value in values)):
            raise exception.InvalidArgument(
                field, f'must be a list of {", ".join(valid)}, got '
                       f'{values!r:.100}')
    keys = list(sort_keys or [DEFAULT_SORT_KEY])
    dirs = list(sort_dirs or [])
    if len(dirs) > len(keys):
        raise exception.InvalidArgument(
            'sort_dirs', 'more directions than sort keys')
    dirs += [DEFAULT_SORT_DIR] * (len(keys) - len(dirs))
    return keys, dirs
