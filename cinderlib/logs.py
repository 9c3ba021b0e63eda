"""Quietening the libraries cinderlib runs, never the host application."""

from __future__ import annotations

import logging

# Top-level loggers of Cinder, os-brick and the oslo/OpenStack libraries
# they use.  Only these are touched: the host's own loggers and the root
# logger keep whatever configuration the host gave them.
LIBRARY_LOGGERS = (
    'cinder', 'os_brick', 'brick_privsep_hide_output', 'oslo', 'oslo_config',
    'oslo_concurrency', 'oslo_db', 'oslo_log', 'oslo_messaging',
    'oslo_policy', 'oslo_privsep', 'oslo.privsep', 'oslo_service',
    'oslo_utils', 'oslo_versionedobjects', 'keystoneauth', 'stevedore',
    'taskflow', 'tooz', 'castellan', 'privsep',
)

SILENT = logging.CRITICAL + 1


def set_library_logs(enabled: bool) -> None:
    """Silence (or restore) the library loggers."""
    level = logging.NOTSET if enabled else SILENT
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(level)
