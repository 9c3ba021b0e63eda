"""Loading Cinder, and its configuration (oslo.config).

- ``load``: imports Cinder (lazily: ``import cinderlib`` and ``setup()``
  never do) and registers its versioned objects; once loaded, Cinder's
  privileged functions run as ``setup()`` decided (``configure_privsep``:
  applied here, when Cinder is imported; ``brick_privsep_contexts``:
  os-brick's, which differ between its releases) and its option
  definitions tell which options are secret;
- the ``[DEFAULT]`` options and the group of options of each backend
  (``DriverConfiguration``: the driver's ``configuration``), typed and
  checked by their definitions, secrets taken literally and never shown;
- the request context drivers receive.
"""

from __future__ import annotations

import difflib
import gc
import importlib
import re
import threading
import warnings
from typing import Any, Callable, Iterable, Optional, cast

from cinderlib import _runtime
from cinderlib import exception
from cinderlib import validation
from cinderlib.cinder import deferred

#: Held while Cinder is loaded, or its process-wide state (privsep,
#: coordination) changes.
lock = threading.RLock()
_loaded = False

#: Cinder's ``cinder.context.RequestContext`` (Cinder has no types).
RequestContext = Any

# Options some drivers read with getattr/safe_get but Cinder does not register.
_UNREGISTERED_DRIVER_OPTIONS = (
    ('rbd_keyring_conf', 'Path to the keyring file of the RBD user.'),
)

# Option groups that belong to Cinder or oslo, not to a backend.
_RESERVED_GROUP_NAMES = {'DEFAULT', 'backend_defaults'}


def load() -> None:
    """Import Cinder and prepare it for in-process use; idempotent."""
    global _loaded
    with lock:
        if _loaded:
            return
        with warnings.catch_warnings():
            # Cinder imports eventlet, which warns that it is deprecated; we
            # never monkey-patch, so the warning says nothing to our callers.
            warnings.simplefilter('ignore')
            deferred.install()
            importlib.import_module('cinder')
            # lazy: Cinder loads on first use, never with import cinderlib
            from cinder import objects
            deferred.trim_db_api()
            # Driver modules use the object classes at import time.
            objects.register_all()
            importlib.import_module('cinder.common.config')
            importlib.import_module('cinder.volume.driver')
            # Registers the per-backend options of the volume service
            # (volume_driver, extra_capabilities...).
            importlib.import_module('cinder.volume.manager')
        _register_missing_options()
        _parse_config()
        _configure_cinder_privsep()
        freeze_long_lived()
        _loaded = True
        _runtime.set_secret_option_test(
            lambda name: is_secret(name, default_option(name)))


def freeze_long_lived() -> None:
    """Leave the objects alive now (Cinder's modules, classes, option
    definitions: about a million, kept for the life of the process) out of
    every later garbage collection (``gc.freeze``).  Python's own exit
    collects several times over them: most of a short process's exit (on
    the development machine 2.7-3.5 s of exit under load, 0.2-0.4 s
    frozen), and a full collection during operations scans them too.
    Cycles already garbage now are never collected: import leaves few."""
    gc.freeze()


def is_loaded() -> bool:
    """Whether ``load()`` ran."""
    return _loaded


def _register_missing_options() -> None:
    # lazy: Cinder and oslo.config load on first use, not with cinderlib
    from cinder.volume import configuration
    from oslo_config import cfg
    for name, help_text in _UNREGISTERED_DRIVER_OPTIONS:
        try:
            cfg.CONF.register_opt(cfg.StrOpt(name, help=help_text),
                                  group=configuration.SHARED_CONF_GROUP)
        except cfg.DuplicateOptError:
            pass


def _parse_config() -> None:
    """Make oslo.config usable without reading sys.argv or /etc/cinder."""
    # lazy: oslo.config comes with Cinder, not with import cinderlib
    from oslo_config import cfg
    if getattr(cfg.CONF, '_namespace', None) is None:
        cfg.CONF([], project='cinder', default_config_files=[],
                 default_config_dirs=[])


def conf() -> Any:
    """Cinder's global oslo.config object."""
    # lazy: oslo.config comes with Cinder, not with import cinderlib
    from oslo_config import cfg
    return cfg.CONF


def set_default_options(options: dict[str, Any]) -> None:
    """Set Cinder ``[DEFAULT]`` options, checked against their definitions."""
    load()
    cfg_conf = conf()
    known = {opt_info['opt'].name: opt_info['opt']
             for opt_info in cfg_conf._opts.values()}
    if not set(options) <= set(known):
        # Some may be registered by a module whose import was deferred.
        deferred.run_all()
        known = {opt_info['opt'].name: opt_info['opt']
                 for opt_info in cfg_conf._opts.values()}
    for name, value in options.items():
        if name not in known:
            raise exception.InvalidArgument(
                name, f'not a Cinder [DEFAULT] option{_suggest(name, known)}')
        _set_option(name, value, known[name], group=None)


def default_option(name: str) -> Any:
    """The definition of a ``[DEFAULT]`` option; None for an unknown one, or
    before Cinder is loaded (this never loads it)."""
    if not _loaded:
        return None
    info = conf()._opts.get(name)
    return info['opt'] if info else None


def set_group_option(group: str, name: str, value: Any) -> None:
    """Set one option of a registered group (e.g. ``oslo_concurrency``),
    literally: the values cinderlib sets there (a lock directory, a
    coordination URL and its password) are not templates."""
    _override(name, _literal(value), group)


def get_option(name: str, group: Optional[str] = None) -> Any:
    cfg_conf = conf()
    return getattr(cfg_conf, name) if group is None else getattr(
        getattr(cfg_conf, group), name)


def availability_zone() -> str:
    """The ``storage_availability_zone`` option, which every new volume
    records: read through oslo.config once per value set, not per volume
    (a microsecond of each create)."""
    zone = _default_values.get('storage_availability_zone')
    if zone is None:
        zone = _default_values['storage_availability_zone'] = get_option(
            'storage_availability_zone')
    return cast(str, zone)


# [DEFAULT] values read per operation, forgotten whenever cinderlib sets or
# clears an option (it is the only writer of Cinder's options here).
_default_values: dict[str, Any] = {}


def _override(name: str, value: Any, group: Optional[str]) -> None:
    _default_values.clear()
    conf().set_override(name, value, group=group)


def _clear_override(name: str, group: Optional[str]) -> None:
    _default_values.clear()
    conf().clear_override(name, group=group)


def is_secret(name: str, opt: Any) -> bool:
    """Whether an option holds a secret: marked so, or named like one (some
    drivers forget the flag on their API tokens)."""
    return bool(getattr(opt, 'secret', False)) or (
        _runtime.named_like_secret(name))


def _set_option(name: str, value: Any, opt: Any,
                group: Optional[str]) -> None:
    """Set an option, typed by its definition.  A secret is taken
    literally and never shown in errors; in other options, oslo.config's
    ``$name`` and ``${group.name}`` templates expand, checked now."""
    secret = is_secret(name, opt)
    try:
        _override(name, _literal(value) if secret else value, group)
    except (ValueError, TypeError) as exc:
        type_name = type(opt.type).__name__ if opt.type else 'string'
        if secret:  # the error's text may quote the value
            raise exception.InvalidDriverOption(
                name, f'the value given is not a valid {type_name} value '
                      f'(not shown: the option is secret)') from None
        raise exception.InvalidDriverOption(
            name, f'{value!r} is not a valid {type_name} value ({exc})'
        ) from None
    if not secret:
        _check_templates(name, value, group)


def _literal(value: Any) -> Any:
    """``value`` escaped so that oslo.config's template expansion, which
    applies to every value read, gives it back unchanged."""
    if isinstance(value, str):
        return _DOLLAR.sub(_escape_dollar, value)
    if isinstance(value, (list, tuple)):
        return [_literal(item) for item in value]
    if isinstance(value, dict):
        return {_literal(key): _literal(item) for key, item in value.items()}
    return value


_DOLLAR = re.compile(r'\\?\$')


def _escape_dollar(match: re.Match[str]) -> str:
    # oslo.config first turns a backslash-dollar into "$$", then "$$" into
    # "$" and "$name" into a value.  So "$" is written "$$", and a
    # backslash-dollar as two backslashes and a dollar: the first step makes
    # that a backslash and "$$", which the second makes a backslash-dollar.
    return '$$' if match.group() == '$' else '\\\\$'


def _check_templates(name: str, value: Any, group: Optional[str]) -> None:
    """Expand an option's templates now, so that a wrong one fails here,
    naming the option, rather than in the driver."""
    # lazy: oslo.config comes with Cinder, not with import cinderlib
    from oslo_config import cfg
    try:
        get_option(name, group)
    except (cfg.Error, RecursionError) as exc:
        _clear_override(name, group)
        reason = ('refers to itself' if isinstance(exc, RecursionError)
                  else str(exc))
        raise exception.InvalidDriverOption(
            name, f'{value!r} has a $ template that cannot be expanded '
                  f'({reason}); write $$ for a literal $') from None


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3)
    return f' (did you mean {", ".join(close)}?)' if close else ''


def make_context(user_id: str, project_id: str) -> RequestContext:
    """An admin request context that is not stored in thread-local state."""
    load()
    # lazy: Cinder loads on first use, never with import cinderlib
    from cinder import context
    return context.RequestContext(user_id=user_id, project_id=project_id,
                                  is_admin=True, overwrite=False)


_runtime.set_context_maker(make_context)


def driver_option_definitions(driver_class: type) -> dict[str, Any]:
    """Options a backend of this driver accepts, by name.

    Drivers register their options in Cinder's shared backend group when
    their module is imported; ``get_driver_options`` adds the rest.
    """
    # lazy: Cinder loads on first use, never with import cinderlib
    from cinder.volume import configuration
    from cinder.volume import driver as cinder_driver
    cfg_conf = conf()
    shared = cfg_conf._groups[configuration.SHARED_CONF_GROUP]
    known = {name: info['opt'] for name, info in shared._opts.items()}
    extra: list[Any] = getattr(driver_class, 'get_driver_options',
                               lambda: [])() or []
    for opt in list(extra) + list(cinder_driver.volume_opts):
        known.setdefault(opt.name, opt)
    return known


def check_backend_name(name: Any) -> str:
    """Validate a backend name, which is also its oslo.config group."""
    if not isinstance(name, str) or not name.strip():
        raise exception.InvalidArgument(
            'volume_backend_name', f'must be a non-empty string, got {name!r}')
    bad = [c for c in '@#/ \t\n' if c in name]
    if bad:
        raise exception.InvalidArgument(
            'volume_backend_name',
            f'{name!r} contains {bad[0]!r}, which Cinder host strings '
            f'(host@backend#pool) cannot hold')
    validation.text(name, 'volume_backend_name')  # storable
    load()
    if name in _RESERVED_GROUP_NAMES or (
            name in conf()._groups and not _is_backend_group(name)):
        raise exception.InvalidArgument(
            'volume_backend_name',
            f'{name!r} is the name of a Cinder or oslo option group')
    return name


# Option groups created for backends, loaded or unloaded since.
_backend_groups: set[str] = set()


def _is_backend_group(name: str) -> bool:
    return name in _backend_groups


class DriverConfiguration:
    """A backend's option group: the driver's ``configuration``."""

    def __init__(self, group: str, driver_class: type,
                 options: dict[str, Any]) -> None:
        # lazy: Cinder loads on first use, never with import cinderlib
        from cinder.volume import configuration
        self.group = group
        self.definitions = driver_option_definitions(driver_class)
        unknown = sorted(set(options) - set(self.definitions))
        if unknown:
            name = unknown[0]
            raise exception.InvalidDriverOption(
                name, f'{driver_class.__name__} has no option {name!r}'
                      f'{_suggest(name, self.definitions)}')
        _backend_groups.add(group)
        self.configuration = configuration.Configuration(
            list(self.definitions.values()), config_group=group)
        try:
            for name, value in options.items():
                _set_option(name, value, self.definitions[name], group)
        except Exception:
            self.clear()
            raise

    def secret_names(self) -> set[str]:
        """Options marked secret, and those whose names say they are (some
        drivers forget the flag on their API tokens)."""
        return {name for name, opt in self.definitions.items()
                if is_secret(name, opt)}

    def clear(self) -> None:
        """Forget every value set for this group."""
        cfg_conf = conf()
        group = cfg_conf._groups.get(self.group)
        if group is not None:
            for name in list(group._opts):
                _clear_override(name, self.group)


# Configures a privsep context as setup() decided (see connectors.py);
# applied to Cinder's context when Cinder is loaded.
_privsep_configurator: Optional[Callable[[Any], None]] = None


def configure_privsep(configure: Callable[[Any], None]) -> None:
    """Have ``configure(context)`` set up Cinder's privsep context: now if
    Cinder is loaded, otherwise when it is (``setup()`` does not load it)."""
    global _privsep_configurator
    with lock:
        _privsep_configurator = configure
        if _loaded:
            _configure_cinder_privsep()


# os-brick's privsep contexts: ``default``, and from os-brick 7 on
# ``brick_privsep_hide_output`` (commands whose output holds secrets).
_BRICK_PRIVSEP_CONTEXTS = ('default', 'brick_privsep_hide_output')


def brick_privsep_contexts() -> list[Any]:
    """The privsep contexts the installed os-brick has (6.13 has one, 7
    two); does not import Cinder."""
    with warnings.catch_warnings():
        # oslo.privsep imports eventlet, which warns that it is deprecated;
        # we never monkey-patch, so the warning says nothing to callers.
        warnings.simplefilter('ignore')
        deferred.skip_green_dns()
        # lazy: os-brick loads on first use, never with import cinderlib
        from os_brick import privileged
    return [getattr(privileged, name) for name in _BRICK_PRIVSEP_CONTEXTS
            if hasattr(privileged, name)]


def _configure_cinder_privsep() -> None:
    if _privsep_configurator is not None:
        # lazy: Cinder loads on first use, never with import cinderlib
        from cinder import privsep
        _privsep_configurator(privsep.sys_admin_pctxt)
