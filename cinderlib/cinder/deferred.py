"""Cinder's import, trimmed: modules that the driver path imports but that
no driver uses while it runs are executed on first use instead.

A driver module imports ``cinder.volume.driver``, whose imports reach
Cinder's SQL database API (``cinder.db.api``: oslo.db's engine facade,
Cinder's SQLAlchemy models, the REST API's helpers) and, through the
volume manager, the task flows of the volume service.  cinderlib serves
the database API from its persistence plugin (``db_shim``) and runs no
volume service, so those modules cost most of a cold start and serve
nothing.  ``install()`` puts a finder on ``sys.meta_path`` that, for the
modules of ``DEFERRED`` only, hands out an empty module; the real module
runs, in that same module object, the first time an attribute it lacks is
read (``from module import name`` too); a compiled module is made by
its own loader then, and its names copied in (``_run_extension``).
Nothing is stubbed: a driver that does use one of these modules gets the
real one, merely later.

Attributes set on a deferred module before it runs (``db_shim`` routes
``cinder.db.api``'s functions to the plugin) are set again after it runs,
so they win as they would have.  A module's import-time side effects are
deferred with it, so a module belongs in ``DEFERRED`` only if no driver
needs them; the one exception, the ``[DEFAULT]`` options that
``cinder.db.api`` registers (``volume_name_template``, which every volume
name is made with, and its siblings), are registered now from the
module's own definitions (``_register_db_api_options``).

``tests/unit/test_deferred.py`` checks that real drivers (LVM, NFS, RBD,
the file driver) still import and build after the trimmed import, on
every supported Cinder release, and that a deferred module runs when used.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import threading
import types
from typing import Any, Callable, Optional, Sequence

#: Module -> what must happen when it is handed out unexecuted (None:
#: nothing).  Each is imported by the driver path and used by no driver
#: at run time (see doc/source/architecture.rst, "Cinder's import").
DEFERRED: dict[str, Optional[Callable[[types.ModuleType], None]]] = {}

# Held while a deferred module runs: one thread executes it, the others
# wait for the whole module rather than seeing half of it.
_lock = threading.RLock()
_installed = False


class DeferredModule(types.ModuleType):
    """A module whose code has not run yet; it runs on the first read of
    an attribute the module does not have."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith('__') and name.endswith('__') and (
                name != '__all__'):
            # The import machinery probes for these while setting the
            # module up: the module's code does not define them.
            raise AttributeError(name)
        path = vars(self).get('__path__')
        if path is not None and importlib.machinery.PathFinder.find_spec(
                f'{self.__name__}.{name}', path) is not None:
            # A submodule of a package (``from package import submodule``
            # asks first): it imports without the package's own code.
            return importlib.import_module(f'{self.__name__}.{name}')
        with _lock:
            if type(self) is DeferredModule:
                if getattr(self.__spec__, '_cinderlib_running', False):
                    # Read from within its own code (an import cycle): as
                    # for any module being initialized, not there yet.
                    raise AttributeError(
                        f'partially initialized module {self.__name__!r} '
                        f'has no attribute {name!r}')
                run(self)
        return getattr(self, name)


class _Loader(importlib.abc.Loader):
    """Creates the module as a ``DeferredModule`` and runs nothing."""

    def __init__(self, real: importlib.abc.Loader) -> None:
        self.real = real

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        return DeferredModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        prepare = DEFERRED.get(module.__name__)
        if prepare is not None:
            prepare(module)
        # What is there now is not the module's own: set again after it runs.
        module.__spec__._cinderlib_before = dict(  # type: ignore[union-attr]
            vars(module))


def run(module: types.ModuleType) -> None:
    """Execute a deferred module's code now (idempotent)."""
    with _lock:
        if type(module) is not DeferredModule:
            return
        spec = module.__spec__
        assert spec is not None and isinstance(spec.loader, _Loader)
        before: dict[str, Any] = getattr(spec, '_cinderlib_before', {})
        set_since = {name: value for name, value in vars(module).items()
                     if before.get(name, _MISSING) is not value}
        deferring = spec.loader
        real = deferring.real
        spec._cinderlib_running = True  # type: ignore[attr-defined]
        try:
            spec.loader = real
            module.__loader__ = real
            if isinstance(real, importlib.machinery.ExtensionFileLoader):
                _run_extension(module, spec, real)
            else:
                real.exec_module(module)
        except BaseException:
            # Still deferred: the next use runs it again (and fails again,
            # as an import that failed fails again).
            spec.loader = deferring
            module.__loader__ = deferring
            raise
        finally:
            spec._cinderlib_running = False  # type: ignore[attr-defined]
        vars(module).update(set_since)
        module.__class__ = types.ModuleType  # type: ignore[assignment]


_MISSING = object()


def _run_extension(module: types.ModuleType,
                   spec: importlib.machinery.ModuleSpec,
                   real: importlib.machinery.ExtensionFileLoader) -> None:
    """A compiled module makes its own module object (it cannot run in
    another one): made now; its names are copied into the module handed
    out (the same classes, functions and constants, for the modules that
    imported it already) and it takes its place in ``sys.modules`` (for
    the imports to come)."""
    made = real.create_module(spec)
    real.exec_module(made)
    for name, value in vars(made).items():
        if name not in ('__name__', '__spec__', '__loader__'):
            setattr(module, name, value)
    sys.modules[spec.name] = made


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the modules of ``DEFERRED`` as the other finders would, and
    defers their execution."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]],
                  target: Optional[types.ModuleType] = None,
                  ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname not in DEFERRED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is None or not hasattr(spec.loader,
                                                      'exec_module'):
                    return spec
                spec.loader = _Loader(spec.loader)
                return spec
        return None


_finder = _Finder()


def install() -> None:
    """Defer the modules of ``DEFERRED`` from now on; idempotent.  Modules
    already imported stay as they are."""
    global _installed
    with _lock:
        if not _installed:
            skip_green_dns()
            sys.meta_path.insert(0, _finder)
            _installed = True


def uninstall() -> None:
    """Stop deferring (modules handed out deferred stay so until used)."""
    global _installed
    with _lock:
        if _installed:
            sys.meta_path.remove(_finder)
            _installed = False


def is_deferred(name: str) -> bool:
    """Whether module ``name`` was handed out and has not run yet."""
    return type(sys.modules.get(name)) is DeferredModule


def run_all() -> None:
    """Run every deferred module handed out so far (for a caller that needs
    their side effects, e.g. options they register)."""
    for name in list(DEFERRED):
        module = sys.modules.get(name)
        if isinstance(module, DeferredModule):
            run(module)


def skip_green_dns() -> None:
    """Have eventlet, if it is first imported from now on, skip its green
    DNS resolver (dnspython: most of eventlet's import).  Cinder and
    oslo.privsep import eventlet, cinderlib never monkey-patches, and only
    monkey-patched (green) sockets use that resolver.  Done through
    eventlet's own switch, ``EVENTLET_NO_GREENDNS``, unless the process set
    it or imported eventlet already (an embedder that monkey-patches after
    importing cinderlib and wants green DNS sets it to ``no``)."""
    if 'eventlet' not in sys.modules:
        os.environ.setdefault('EVENTLET_NO_GREENDNS', 'yes')


# -- cinder.db.api ----------------------------------------------------------

# The statements of cinder/db/api.py that define and register its
# [DEFAULT] options: from the first list of options to the registration
# of the last.
_DB_API_OPTIONS = re.compile(
    r'^db_opts = \[.*?^CONF\.register_opts\(backup_opts\)$',
    re.DOTALL | re.MULTILINE)


def _loaded_models() -> Any:
    """The module whose ``get_model_for_versioned_object`` gives Cinder's
    real SQLAlchemy models, if it has run; None otherwise.  Cinder 29:
    ``cinder.db.api``; Cinder 27 and 28: ``cinder.db.sqlalchemy.api``,
    behind ``cinder.db.api``'s lazy ``IMPL``."""
    api = sys.modules.get('cinder.db.api')
    if api is None or type(api) is DeferredModule:
        return None
    if 'IMPL' in vars(api):
        return sys.modules.get('cinder.db.sqlalchemy.api')
    return api


def _load_models() -> Any:
    api = importlib.import_module('cinder.db.api')
    if isinstance(api, DeferredModule):
        run(api)
    if 'IMPL' in vars(api):
        importlib.import_module('cinder.db.sqlalchemy.api')
    return _loaded_models()


class _ModelAttribute:
    """The ``model`` attribute of Cinder's object classes (the SQLAlchemy
    model of each, set when the class is registered).  Until Cinder's
    models are loaded, reading it gives a ``_ModelName``: the plugin
    (``db_shim``) only reads the model's name; afterwards, the model."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        models = _loaded_models()
        if models is None:
            return _ModelName(self.name)
        return models.get_model_for_versioned_object(self.name)


class _ModelName:
    """A model known by name; any other attribute is the real model's (which
    loads Cinder's database API)."""

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def __getattr__(self, attribute: str) -> Any:
        model = _load_models().get_model_for_versioned_object(self.__name__)
        return getattr(model, attribute)

    def __repr__(self) -> str:
        return f'<model {self.__name__}, not loaded>'


def _model_for_versioned_object(versioned_object: Any) -> _ModelAttribute:
    name = (versioned_object if isinstance(versioned_object, str)
            else versioned_object.obj_name())
    return _ModelAttribute(name)


def trim_db_api() -> None:
    """Before Cinder's objects register: on Cinder 27 and 28, whose
    ``cinder.db`` runs ``cinder.db.api`` (a facade loading its backend on
    first use), answer the registration's model look-ups by name too, so
    that the backend (the models) loads only when used."""
    api = importlib.import_module('cinder.db.api')
    if (type(api) is not DeferredModule and 'IMPL' in vars(api) and
            'cinder.db.sqlalchemy.api' not in sys.modules):
        # Cinder's objects call it through ``cinder.db`` (which star-imports
        # the facade) or the facade itself.
        for module in (api, sys.modules['cinder.db']):
            setattr(module, 'get_model_for_versioned_object',
                    _model_for_versioned_object)


def _prepare_db_api(module: types.ModuleType) -> None:
    """Register the options ``cinder.db.api`` defines, from its own source
    (so that they equal the real module's when it runs), and answer object
    registration's model look-ups without Cinder's models; if the options
    cannot be found, run the whole module now."""
    # lazy: oslo.config comes with Cinder, not with import cinderlib
    from oslo_config import cfg
    spec = module.__spec__
    try:
        assert spec is not None and spec.origin is not None
        with open(spec.origin, encoding='utf-8') as source:
            found = _DB_API_OPTIONS.search(source.read())
        if found is None:
            raise LookupError('no option definitions')
        code = compile(found.group(), spec.origin, 'exec')
        exec(code, {'cfg': cfg, 'CONF': cfg.CONF})  # noqa: S102
        setattr(module, 'get_model_for_versioned_object',
                _model_for_versioned_object)
    except Exception:
        # Another Cinder: no trimming, the real module now.
        module.__spec__._cinderlib_before = {}  # type: ignore[union-attr]
        run(module)


DEFERRED.update({
    # Cinder's SQL database API: its models, oslo.db's engine set-up and
    # the REST API's helpers.  The functions drivers and Cinder's objects
    # call are the plugin's (``db_shim``); any other runs the real module.
    'cinder.db.api': _prepare_db_api,
    # The REST API's helpers (WebOb, the API's option group), imported by
    # the database API.
    'cinder.api.common': None,
    # The volume service's task flows (TaskFlow, NetworkX): the volume
    # manager imports them, cinderlib imports the manager for the backend
    # options it registers, and runs no flow.
    'cinder.flow_utils': None,
    'cinder.volume.flows.manager.create_volume': None,
    'cinder.volume.flows.manager.manage_existing': None,
    'cinder.volume.flows.manager.manage_existing_snapshot': None,
    # The volume service itself (oslo.service's WSGI server, osprofiler):
    # Cinder's cleanable objects import it for the methods the volume
    # manager calls.
    'cinder.service': None,
    # Quota helpers (Keystone's auth_token middleware), imported by the
    # backup API whose option the volume driver module imports.
    'cinder.quota_utils': None,
    # The API's policy enforcement (oslo.policy, Cinder's rules): request
    # contexts call it when their admin flag is not given; cinderlib gives
    # it.
    'cinder.policy': None,
    # The package of oslo.middleware (every middleware, the health check's
    # Jinja templates): Cinder's options module imports its CORS module
    # for the API service's defaults; a submodule imports without its
    # package's code.
    'oslo_middleware': None,
    # oslo.db's engine and session set-up (SQLAlchemy, ~7 MiB resident):
    # the request context's module imports oslo.db's engine facade for a
    # class decorator that does not touch them; they serve Cinder's SQL
    # database API only, which cinderlib does not run.
    'oslo_db.sqlalchemy.engines': None,
    'oslo_db.sqlalchemy.orm': None,
    # oslo.vmware's API session and image transfer (suds, lxml; ~6 MiB
    # resident): os-brick's connector module imports every connector
    # class, the VMware one with them; they run when a VMDK volume is
    # attached, or a VMware driver is loaded.
    'oslo_vmware.api': None,
    'oslo_vmware.image_transfer': None,
    'oslo_vmware.objects.datastore': None,
    'oslo_vmware.rw_handles': None,
    'oslo_vmware.vim_util': None,
    # Ceph's bindings (librados, librbd and Ceph's common library: ~17 MiB
    # resident), where installed: os-brick's RBD connector module imports
    # them for its RBD client; they load when a Ceph backend or an RBD
    # attachment uses them.  Compiled modules: see ``_run_extension``.
    'rados': None,
    'rbd': None,
})
