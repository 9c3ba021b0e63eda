"""Everything that touches os-brick: connector properties, attach, detach.

os-brick's privileged functions run through oslo.privsep.  When this process
is root they run in-process (no helper daemon); otherwise the helper is
started with the configured ``root_helper`` and an absolute path, because
sudo resets ``PATH`` and would not find a virtualenv's ``privsep-helper``.
"""

from __future__ import annotations

import logging
import os
import platform
import socket
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, Optional, cast

if TYPE_CHECKING:
    from cinderlib.backend import GlobalOptions

LOG = logging.getLogger(__name__)

_privsep_lock = threading.Lock()
_privsep_ready = False


def prepare_privsep(root_helper: str) -> None:
    """Configure how os-brick and Cinder run privileged code; idempotent."""
    global _privsep_ready
    with _privsep_lock:
        if _privsep_ready:
            return
        from cinderlib import cinder_glue
        import os_brick
        from os_brick import privileged
        cinder_glue.load()
        os_brick.setup(cinder_glue.conf())
        if os.geteuid() == 0:
            privileged.default.set_client_mode(False)
            privileged.brick_privsep_hide_output.set_client_mode(False)
            cinder_glue.use_local_privsep()
        else:
            helper = os.path.join(os.path.dirname(sys.executable),
                                  'privsep-helper')
            command = f'{root_helper} {helper}' if root_helper else helper
            for group in ('privsep_osbrick', 'cinder_sys_admin'):
                cinder_glue.set_group_option(group, 'helper_command', command)
        _privsep_ready = True


def get_connector_properties(root_helper: str, my_ip: str, multipath: bool,
                             enforce_multipath: bool,
                             host: Optional[str] = None,
                             execute: Optional[Callable[..., Any]] = None
                             ) -> dict[str, Any]:
    """os-brick's connector dict describing this host."""
    prepare_privsep(root_helper)
    from os_brick.initiator import connector
    return cast('dict[str, Any]', connector.get_connector_properties(
        root_helper, my_ip, multipath, enforce_multipath, host=host,
        execute=execute))


_local_properties: dict[tuple[str, str], dict[str, Any]] = {}


def local_connector_properties(options: GlobalOptions) -> dict[str, Any]:
    """This host's connector dict, computed once per set of options.

    Without root, os-brick needs ``root_helper`` to read some properties
    (e.g. the NVMe host NQN).  If that fails, the basic properties are used:
    enough for protocols that need no privileges (``LOCAL``, RBD through
    librbd), so the file backend attaches without root.
    """
    key = (options.root_helper, options.host)
    if key not in _local_properties:
        try:
            properties = get_connector_properties(
                options.root_helper, _my_ip(), multipath=False,
                enforce_multipath=False, host=options.host)
        except Exception as exc:
            if os.geteuid() == 0:
                raise
            LOG.warning('Privileged connector properties unavailable '
                        '(%s: %s); only protocols needing no privileges '
                        'can attach', type(exc).__name__, exc)
            properties = _basic_properties(options.host)
        _local_properties[key] = properties
    return dict(_local_properties[key])


def _basic_properties(host: Optional[str]) -> dict[str, Any]:
    return {'platform': platform.machine(), 'os_type': sys.platform,
            'ip': _my_ip(), 'host': host or socket.gethostname(),
            'multipath': False, 'enforce_multipath': False}


def _my_ip() -> str:
    from cinderlib import cinder_glue
    return cinder_glue.get_option('my_ip') or socket.gethostbyname(
        socket.gethostname())


def brick_connector(protocol: Optional[str], connector_info: dict[str, Any],
                    use_multipath: Optional[bool], device_scan_attempts: int,
                    options: GlobalOptions) -> Any:
    """The os-brick connector object for a connection's protocol."""
    prepare_privsep(options.root_helper)
    from os_brick.initiator import connector
    if use_multipath is None:
        use_multipath = bool(connector_info.get('multipath', False))
    return connector.InitiatorConnector.factory(
        protocol, options.root_helper, use_multipath=use_multipath,
        device_scan_attempts=device_scan_attempts,
        conn=connector_info)


def device_usable(brick_connector_obj: Any,
                  device: Optional[dict[str, Any]]) -> bool:
    """Whether an attached device can be used for I/O."""
    if not device:
        return False
    path = device.get('path')
    if isinstance(path, str):
        if os.path.isfile(path):
            return os.access(path, os.R_OK)
        return cast(bool, brick_connector_obj.check_valid_device(path))
    # os-brick returns a file-like object for some protocols (e.g. librbd).
    return path is not None


def extend_device(brick_connector_obj: Any, conn_info: dict[str, Any],
                  device: Optional[dict[str, Any]]) -> Optional[int]:
    """Make this host see a grown volume; returns its size in bytes (None
    if os-brick cannot tell)."""
    path = device.get('path') if device else None
    if isinstance(path, str) and os.path.isfile(path):
        return os.path.getsize(path)
    return cast(Optional[int],
                brick_connector_obj.extend_volume(conn_info['data']))


def storable_device(
        device: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """What of os-brick's device info can be stored as JSON.

    Some protocols give a live object instead of a path (RBD through
    librbd gives a file-like object): it is kept by the connection in this
    process only, and stored as the name of its type.
    """
    if device is None:
        return None
    return {key: value if isinstance(value, _STORABLE) else
            f'<{type(value).__name__}>' for key, value in device.items()}


_STORABLE = (str, int, float, bool, type(None), list, dict)
