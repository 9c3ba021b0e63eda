"""Building drivers: importing a driver class, instantiating it as Cinder's
volume manager would (with our DB shim as its ``db``), running its set-up
steps, and Cinder's coordinator (the locks drivers take)."""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable
from urllib.parse import urlsplit

from cinderlib import directories
from cinderlib import exception
from cinderlib.cinder import config
from cinderlib.cinder import rbd_connections
from cinderlib.cinder.config import conf, load, set_group_option


def start_coordination(backend_url: str) -> Callable[[str], Any]:
    """Run Cinder's coordinator (what drivers' ``coordination.synchronized``
    locks use) on ``backend_url``, a tooz URL; restarted when the URL
    changes.  Returns a maker of cinderlib's own locks on the same backend.
    A ``file://`` backend's directory must be private (see
    :mod:`cinderlib.directories`): its lock files are created there.
    """
    if backend_url.startswith('file://'):

        try:
            directories.private_directory(urlsplit(backend_url).path,
                                          'coordination_backend_url')
        except exception.InvalidArgument as exc:
            raise exception.CoordinationUnavailable(backend_url,
                                                    exc) from None
    # lazy: Cinder loads on first use, never with import cinderlib
    from cinder import coordination
    coordinator = coordination.COORDINATOR
    with config.lock:
        if coordinator.started and (
                conf().coordination.backend_url != backend_url):
            coordinator.stop()
        if not coordinator.started:
            set_group_option('coordination', 'backend_url', backend_url)
            try:
                coordinator.start()
            except Exception as exc:
                coordinator.coordinator = None
                raise exception.CoordinationUnavailable(
                    backend_url, exc) from exc
    return lambda name: coordinator.get_lock(f'cinderlib-{name}')


def import_driver_class(path: Any) -> type:
    """Import a volume driver class from its dotted path."""
    if not isinstance(path, str) or '.' not in path:
        raise exception.InvalidDriverOption(
            'volume_driver', f'must be a dotted class path, got {path!r}')
    load()
    module_name, _, class_name = path.rpartition('.')
    try:
        module = importlib.import_module(module_name)
        driver_class = getattr(module, class_name)
    except (ImportError, AttributeError) as exc:
        raise exception.InvalidDriverOption(
            'volume_driver', f'cannot import {path!r}: {exc}') from None
    # lazy: Cinder loads on first use, never with import cinderlib
    from cinder.volume import driver as cinder_driver
    if not (isinstance(driver_class, type) and
            issubclass(driver_class, cinder_driver.BaseVD)):
        raise exception.InvalidDriverOption(
            'volume_driver', f'{path!r} is not a Cinder volume driver class')
    config.freeze_long_lived()  # the driver's modules, as Cinder's
    return driver_class


def build_driver(driver_class: type, configuration: Any, host: str,
                 db_shim: Any) -> Any:
    """Instantiate a driver as Cinder's volume manager would, with our db."""
    driver = driver_class(configuration=configuration, host=host,
                          cluster_name=None, is_vol_db_empty=False,
                          active_backend_id=None, db=db_shim)
    use_db(driver, db_shim)
    rbd = sys.modules.get('cinder.volume.drivers.rbd')
    if rbd is not None and isinstance(driver, rbd.RBDDriver):
        rbd_connections.keep_open(driver)
    return driver


def release_driver(driver: Any) -> None:
    """Free what a driver built by ``build_driver`` holds open for the
    library (the RBD driver's kept cluster connection)."""
    rbd_connections.close(driver)


def use_db(driver: Any, db_shim: Any) -> None:
    """Give a driver our DB shim (its base class ignores the db argument)."""
    driver.db = db_shim
    if getattr(driver, 'driver_utils', None) is not None:
        driver.driver_utils.db = db_shim


def setup_driver(driver: Any, context: Any) -> None:
    """Run the driver's set-up steps and mark it initialized."""
    if hasattr(driver, 'do_setup'):
        driver.do_setup(context)
    else:
        driver.setup(context)
    driver.check_for_setup_error()
    driver.set_initialized()
    driver.init_capabilities()
