"""Everything that touches os-brick: privileges, connector properties,
attach, detach.

os-brick's privileged functions run through oslo.privsep.  ``setup()``
decides how (``configure_privsep``): when this process is root they run
in-process (no helper daemon); otherwise the helper daemon is started with
the configured ``root_helper`` and the helper's absolute path, because sudo
resets ``PATH`` and would not find a virtualenv's ``privsep-helper``.  The
same applies to Cinder's own privileged functions once Cinder is loaded.
Callers that use os-brick directly after ``setup()`` (as Ember-CSI does
for its node's connector) get the same configuration.
"""

from __future__ import annotations

import functools
import logging
import os
import platform
import shlex
import shutil
import socket
import sys
import threading
import warnings
from typing import Any, Callable, Optional, cast

from cinderlib import exception
from cinderlib._runtime import GlobalOptions
from cinderlib.cinder import config as cinder_config
from cinderlib.cinder import deferred

LOG = logging.getLogger(__name__)

_privsep_lock = threading.Lock()
_privsep_configured = False
_brick_ready = False


def configure_privsep(root_helper: str) -> None:
    """Decide how os-brick's and Cinder's privileged functions run.

    Called by ``setup()``; Cinder is not imported here: its privsep context
    is configured when Cinder is loaded.
    """
    global _privsep_configured
    in_process = os.geteuid() == 0
    helper_command = privsep_helper_command(root_helper)  # checked always
    command = None if in_process else helper_command
    with warnings.catch_warnings():
        # oslo.privsep imports eventlet, which warns that it is deprecated;
        # we never monkey-patch, so the warning says nothing to callers.
        warnings.simplefilter('ignore')
        deferred.skip_green_dns()
        # lazy: os-brick loads on first use, never with import cinderlib
        from os_brick import privileged
    configure = functools.partial(_configure_context, in_process=in_process,
                                  helper_command=command)
    with _privsep_lock:
        configure(privileged.default)
        configure(privileged.brick_privsep_hide_output)
        cinder_config.configure_privsep(configure)
        _privsep_configured = True


def privsep_helper_command(root_helper: str) -> str:
    """``root_helper`` followed by the absolute path of ``privsep-helper``:
    the one beside this Python (a virtualenv's), else the one on ``PATH``."""
    try:
        prefix = shlex.split(root_helper)
    except ValueError as exc:
        raise exception.InvalidArgument(
            'root_helper', f'is not a valid command ({exc})') from None
    helper = os.path.join(os.path.dirname(sys.executable), 'privsep-helper')
    if not os.access(helper, os.X_OK):
        helper = shutil.which('privsep-helper') or 'privsep-helper'
    if os.sep in helper:
        helper = os.path.abspath(helper)
    return shlex.join(prefix + [helper])


def _configure_context(context: Any, in_process: bool,
                       helper_command: Optional[str]) -> None:
    # lazy: oslo.config comes with Cinder, not with import cinderlib
    from oslo_config import cfg
    context.set_client_mode(not in_process)
    if helper_command is not None:
        cfg.CONF.set_override('helper_command', helper_command,
                              group=context.cfg_section)


def _ensure_privsep(root_helper: str) -> None:
    """For os-brick calls made before any ``setup()``."""
    if not _privsep_configured:
        configure_privsep(root_helper)


def _prepare_brick(root_helper: str) -> None:
    """os-brick's own settings (its lock path follows oslo.concurrency's,
    known once Cinder is loaded); once per process."""
    global _brick_ready
    _ensure_privsep(root_helper)
    with _privsep_lock:
        if _brick_ready:
            return
        # lazy: os-brick loads on first use, never with import cinderlib
        import os_brick
        cinder_config.load()
        os_brick.setup(cinder_config.conf())
        _brick_ready = True


def get_connector_properties(root_helper: str, my_ip: str, multipath: bool,
                             enforce_multipath: bool,
                             host: Optional[str] = None,
                             execute: Optional[Callable[..., Any]] = None
                             ) -> dict[str, Any]:
    """os-brick's connector dict describing this host."""
    _ensure_privsep(root_helper)
    # lazy: os-brick loads on first use, never with import cinderlib
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
    return cinder_config.get_option('my_ip') or socket.gethostbyname(
        socket.gethostname())


def brick_connector(protocol: Optional[str], connector_info: dict[str, Any],
                    use_multipath: Optional[bool], device_scan_attempts: int,
                    options: GlobalOptions) -> Any:
    """The os-brick connector object for a connection's protocol."""
    _prepare_brick(options.root_helper)
    # lazy: os-brick loads on first use, never with import cinderlib
    from os_brick.initiator import connector
    if use_multipath is None:
        use_multipath = bool(connector_info.get('multipath', False))
    extra = {}
    if (protocol or '').upper() == 'RBD':
        extra['do_local_attach'] = kernel_rbd_available()
    return connector.InitiatorConnector.factory(
        protocol, options.root_helper, use_multipath=use_multipath,
        device_scan_attempts=device_scan_attempts,
        conn=connector_info, **extra)


# Present while the kernel's RBD client is loaded.
KERNEL_RBD_SYSFS = '/sys/bus/rbd'


def kernel_rbd_available() -> bool:
    """Whether RBD volumes attach through the kernel (``rbd map``, a
    ``/dev/rbdN`` device), as the retired library always did; otherwise
    os-brick attaches them through librbd, as a file-like object.  The
    kernel needs its RBD client and the ``rbd`` command."""
    return (os.path.isdir(KERNEL_RBD_SYSFS) and
            shutil.which('rbd') is not None)


def device_usable(brick_connector_obj: Any,
                  device: Optional[dict[str, Any]]) -> bool:
    """Whether an attached device can be used for I/O."""
    if not device:
        return False
    path = device.get('path')
    if isinstance(path, str):
        if os.path.isfile(path):
            return os.access(path, os.R_OK)
        # Some connectors' checks raise on a missing path (e.g. a kernel
        # RBD map that udev has not linked).
        if not os.path.exists(path):
            return False
        return cast(bool, brick_connector_obj.check_valid_device(path))
    # os-brick returns a file-like object for some protocols (e.g. librbd).
    return path is not None


def extend_device(brick_connector_obj: Any, conn_info: dict[str, Any],
                  device: Optional[dict[str, Any]],
                  new_size: Optional[int] = None) -> Optional[int]:
    """Make this host see a grown volume (``new_size`` bytes, if known);
    returns its size in bytes as seen here (None if os-brick cannot
    tell)."""
    path = device.get('path') if device else None
    if isinstance(path, str) and os.path.isfile(path):
        return os.path.getsize(path)
    if _is_librbd_handle(path):
        return _refresh_librbd_handle(path, new_size)
    return cast(Optional[int],
                brick_connector_obj.extend_volume(conn_info['data']))


def _is_librbd_handle(path: Any) -> bool:
    """Whether ``path`` is os-brick's file-like over an open librbd image
    (``RBDVolumeIOWrapper``: RBD attached without the kernel)."""
    volume = getattr(getattr(path, '_rbd_volume', None), 'image', None)
    return all(hasattr(volume, name) for name in ('image', 'client', 'name'))


def _refresh_librbd_handle(handle: Any, new_size: Optional[int]) -> int:
    """The size the open image sees; if it still sees less than
    ``new_size`` (librbd refreshes an image on the notice of a resize,
    which a missed notice leaves stale), the image is opened again in
    place, so that the caller's handle writes in the new space."""
    volume = handle._rbd_volume.image  # os-brick's RBDVolume
    size = int(volume.image.size())
    if new_size is None or size >= new_size:
        return size
    LOG.info('Reopening RBD image %s: it still sees %s bytes, not %s',
             volume.name, size, new_size)
    client = volume.client
    reopened = client.rbd.Image(client.ioctx, volume.name)
    stale, volume.image = volume.image, reopened
    try:
        stale.close()
    except Exception:
        LOG.warning('Could not close the stale handle of RBD image %s',
                    volume.name, exc_info=True)
    return int(reopened.size())


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
