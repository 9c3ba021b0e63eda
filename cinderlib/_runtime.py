"""Process state: what every layer reads, and ``backend.py`` sets up.

The state of a cinderlib process is the loaded backends (by name), the
active persistence plugin, the options of the last ``setup()`` and the
request context objects carry.  It lives here, at the bottom of the
layers (this module imports nothing of cinderlib above ``exception``,
``validation`` and ``directories``), so that objects, serialization and
persistence plugins read it without importing ``Backend``; the class
attributes ``Backend.backends``, ``Backend.persistence`` and
``Backend._options`` are aliases of it, for existing callers.

What only the layers above know is handed down when they are imported
(the ``set_*`` functions and ``on_first_use``): how to run ``setup()``
with its defaults (``options()`` runs it when no ``setup()`` ran, as the
first ``Backend`` does), how to load serialized objects (the classes'
``load``), how to make Cinder's request context and, once Cinder is
loaded, which Cinder options are secret.  The types of the backends and
of the plugin are the small protocols below: what the lower layers use
of them.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from typing import Any, Callable, Optional, Protocol, cast

from cinderlib import directories
from cinderlib import exception
from cinderlib import jsontext

DEFAULT_PROJECT_ID = 'cinderlib'
DEFAULT_USER_ID = 'cinderlib'
SECRET_PLACEHOLDER = '***'
# Option names that say they hold a secret (some drivers forget the flag
# on their API tokens).
SECRET_SUFFIXES = ('password', '_token', '_secret', '_passwd')


def named_like_secret(name: str) -> bool:
    return name.endswith(SECRET_SUFFIXES)


# What the upper layers hand down (see the module docstring): how to run
# setup() with its defaults (set by backend.py), how to load serialized
# objects (set by serialization.py), how to make Cinder's request context
# (set by cinder.config), and whether a Cinder [DEFAULT] option is secret
# (by its name until Cinder's definitions are loaded; then set by
# cinder.config).
_first_setup: Optional[Callable[[], None]] = None
_loader: Optional[Callable[[Any, bool], Any]] = None
_context_maker: Optional[Callable[[str, str], Any]] = None
_secret_option_test: Callable[[str], bool] = named_like_secret


def on_first_use(setup: Callable[[], None]) -> None:
    """Have ``options()`` call ``setup()`` when no ``setup()`` ran yet."""
    global _first_setup
    _first_setup = setup


def set_loader(load: Callable[[Any, bool], Any]) -> None:
    """Load serialized objects with ``load(json_src, save)``."""
    global _loader
    _loader = load


def load(json_src: Any, save: bool = False) -> Any:
    """``cinderlib.load()``, for the classes' ``load`` (objects cannot
    import serialization, which builds them)."""
    return cast(Callable[[Any, bool], Any], _loader)(json_src, save)


def set_context_maker(make: Callable[[str, str], Any]) -> None:
    """Make request contexts with ``make(user_id, project_id)``."""
    global _context_maker
    _context_maker = make


def set_secret_option_test(test: Callable[[str], bool]) -> None:
    """Tell secret Cinder options by ``test(name)`` from now on."""
    global _secret_option_test
    _secret_option_test = test


def option_is_secret(name: str) -> bool:
    return _secret_option_test(name)


@dataclasses.dataclass
class GlobalOptions:
    """The settings of ``setup()`` that cinderlib itself uses."""

    root_helper: str = 'sudo'
    disable_logs: bool = True
    non_uuid_ids: bool = False
    output_all_backend_info: bool = False
    serialize_secrets: bool = False
    project_id: str = DEFAULT_PROJECT_ID
    user_id: str = DEFAULT_USER_ID
    fail_on_missing_backend: bool = True
    host: str = dataclasses.field(default_factory=socket.gethostname)
    state_path: str = dataclasses.field(
        default_factory=directories.default_state_path)
    file_locks_path: Optional[str] = None
    coordination_backend_url: Optional[str] = None
    cinder_options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        """The settings, with the coordination URL's password and secret
        Cinder options masked."""
        shown = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == 'coordination_backend_url' and value:
                value = exception._without_password(value)
            elif field.name == 'cinder_options':
                value = {name: SECRET_PLACEHOLDER if option_is_secret(name)
                         else option for name, option in value.items()}
            shown.append(f'{field.name}={value!r}')
        return f'{type(self).__name__}({", ".join(shown)})'


class LoadedBackend(Protocol):
    """What the layers below ``backend.py`` use of a ``Backend``."""

    @property
    def id(self) -> str: ...

    @property
    def context(self) -> Any: ...      # Cinder's RequestContext

    @property
    def driver(self) -> Any: ...       # a Cinder volume driver

    @property
    def host_name(self) -> str: ...

    @property
    def config(self) -> dict[str, Any]: ...

    @property
    def config_text(self) -> str: ...  # config as JSON text

    @property
    def availability_zone(self) -> str: ...

    def check_pool_name(self, pool_name: Optional[str]) -> str: ...

    def stats(self, refresh: bool = False) -> dict[str, Any]: ...


class Persistence(Protocol):
    """What the layers below ``persistence`` use of the active plugin (a
    ``cinderlib.persistence.base.PersistenceDriverBase``); objects are
    cinderlib's ``Volume``, ``Snapshot`` and ``Connection``."""

    shared: bool

    @property
    def db(self) -> Any: ...

    def get_volumes(self, volume_id: Optional[str] = None,
                    volume_name: Optional[str] = None,
                    backend_name: Optional[str] = None) -> list[Any]: ...

    def get_snapshots(self, snapshot_id: Optional[str] = None,
                      snapshot_name: Optional[str] = None,
                      volume_id: Optional[str] = None) -> list[Any]: ...

    def get_connections(self, connection_id: Optional[str] = None,
                        volume_id: Optional[str] = None) -> list[Any]: ...

    def set_objects(self, objects: list[Any]) -> None: ...

    def refresh_stale(self, obj: Any) -> bool: ...

    def working_copy(self, kind: str, found: Any) -> Any: ...


class UnloadedBackend:
    """Stands for a backend that is not loaded (``fail_on_missing_backend``
    is False): it knows its name, configuration and the request context,
    and nothing else."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.id: str = config['volume_backend_name']
        self.config = config

    @property
    def config_text(self) -> str:
        return jsontext.dumps(self.config)

    def __getattr__(self, name: str) -> Any:
        if name.startswith('_'):
            raise AttributeError(name)
        raise exception.BackendNotLoaded(self.id)

    @property
    def context(self) -> Any:
        """The request context of the global settings: connections of an
        unloaded backend's volumes can still be recorded and attached on
        a host that has no driver for it (a CSI node)."""
        return context()

    def __repr__(self) -> str:
        return f'<UnloadedBackend {self.id}>'


#: What a resource is bound to: a loaded backend, or its placeholder.
AnyBackend = LoadedBackend | UnloadedBackend


class _State:
    # None until the first setup(), which runs before any backend or
    # object exists.
    persistence: Optional[Persistence] = None
    options: Optional[GlobalOptions] = None


state = _State()
#: Held while the process state changes (setup, loading and unloading).
lock = threading.RLock()
#: The loaded backends by name (``Backend.backends``).
backends: dict[str, LoadedBackend] = {}


def persistence() -> Persistence:
    """The active persistence plugin (``Backend.persistence``)."""
    # Set by the first setup(), before any object exists (no cast():
    # a call on every lookup and save).
    return state.persistence  # type: ignore[return-value]


def options() -> GlobalOptions:
    """The options of the last ``setup()``; runs it with its defaults
    first if it never ran."""
    if state.options is None and _first_setup is not None:
        _first_setup()
    return state.options  # type: ignore[return-value]  # set: see above


def context() -> Any:
    """A request context (Cinder's) of the global settings' user and
    project, as drivers receive it."""
    settings = options()
    return cast(Callable[[str, str], Any], _context_maker)(
        settings.user_id, settings.project_id)


def backend_named(name: str) -> LoadedBackend:
    """The loaded backend of this name, or ``BackendNotLoaded``."""
    backend = backends.get(name)
    if backend is None:
        raise exception.BackendNotLoaded(name)
    return backend


def backend_or_placeholder(name: str) -> AnyBackend:
    """The loaded backend called ``name``, or an ``UnloadedBackend`` (for
    persistence plugins rebuilding stored objects: never raises)."""
    backend = backends.get(name)
    return backend if backend is not None else UnloadedBackend(
        {'volume_backend_name': name})


def current(backend: AnyBackend) -> AnyBackend:
    """The backend now loaded under ``backend``'s name if it was unloaded
    and another loaded since, else ``backend``."""
    loaded = backends.get(backend.id)
    return loaded if loaded is not None else backend
