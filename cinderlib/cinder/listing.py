"""Listing the installed Cinder's drivers, as the retired library did (the
child process of :mod:`cinderlib.drivers_listing` runs it)."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import warnings
from typing import Any

from cinderlib.cinder.config import _UNREGISTERED_DRIVER_OPTIONS, load

LOG = logging.getLogger(__name__)


def list_supported_drivers_in_this_process(
        output_version: int) -> dict[str, dict[str, Any]]:
    """Every driver class of the installed Cinder, described as the retired
    library did; imports every driver module (run it in a throw-away
    process).

    Each entry holds the attributes of Cinder's ``DriverInfo`` but the class
    itself; each option holds the option's public attributes, as strings
    with ``output_version`` 1.  With 2 they keep their types, and ``type``
    is the attributes of the option's type plus ``type_class``, the type
    itself.
    """

    load()
    # lazy: Cinder loads on first use, never with import cinderlib
    from cinder import interface
    from cinder.interface import util
    drivers_pkg = importlib.import_module('cinder.volume.drivers')
    for module_info in pkgutil.walk_packages(drivers_pkg.__path__,
                                             drivers_pkg.__name__ + '.',
                                             onerror=lambda name: None):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                importlib.import_module(module_info.name)
        except Exception as exc:  # a driver's optional dependency missing
            LOG.debug('Skipping %s: %s', module_info.name, exc)
    result = {}
    for driver_class in interface._volume_register:
        info = vars(util.DriverInfo(driver_class))
        info.pop('cls', None)
        options = list(info.get('driver_options') or [])
        for name, help_text in _listed_missing_options(driver_class):
            ours = _string_option(name, help_text)
            # In place of a declaration Cinder may keep (deprecated).
            dests = [opt.dest for opt in options]
            if name in dests:
                options[dests.index(name)] = ours
            else:
                options.append(ours)
        info['driver_options'] = [_describe_option(opt, output_version)
                                  for opt in options]
        result[info['class_name']] = info
    return result


def _listed_missing_options(driver_class: type) -> list[tuple[str, str]]:
    """The options of ``_UNREGISTERED_DRIVER_OPTIONS`` this driver reads:
    the listing shows them because the library accepts them."""
    rbd = importlib.import_module('cinder.volume.drivers.rbd')
    if issubclass(driver_class, rbd.RBDDriver):
        return [option for option in _UNREGISTERED_DRIVER_OPTIONS
                if option[0] == 'rbd_keyring_conf']
    return []


def _string_option(name: str, help_text: str) -> Any:
    # lazy: oslo.config comes with Cinder, not with import cinderlib
    from oslo_config import cfg
    return cfg.StrOpt(name, help=help_text)


def _public_attributes(obj: Any) -> dict[str, Any]:
    return {key: value for key, value in vars(obj).items()
            if not key.startswith('_')}


def _describe_option(opt: Any, output_version: int) -> dict[str, Any]:
    described = _public_attributes(opt)
    if output_version == 1:
        return {key: str(value) for key, value in described.items()}
    option_type = described.get('type')
    if option_type is not None:
        described['type'] = {**_public_attributes(option_type),
                             'type_class': option_type}
    return described
