"""Loading persistence plugins by name, class or instance."""

from __future__ import annotations

from importlib import metadata
from typing import Any, Optional

from cinderlib import exception
from cinderlib.persistence.base import PersistenceDriverBase

NAMESPACE = 'cinderlib.persistence.storage'
DEFAULT_STORAGE = 'memory'

__all__ = ['NAMESPACE', 'PersistenceDriverBase', 'setup']


def setup(config: Optional[dict[str, Any]] = None) -> PersistenceDriverBase:
    """Build the plugin ``config`` describes.

    ``config`` is ``{'storage': NAME_OR_CLASS_OR_INSTANCE, **plugin_kwargs}``;
    ``None``, or a missing, None or empty ``storage`` mean ``memory``.
    """
    if config is None:
        config = {}
    if not isinstance(config, dict):
        # Never the value itself: a URL given here carries its password.
        hint = (" such as {'storage': 'db', 'connection': URL}"
                if isinstance(config, str) else '')
        raise exception.InvalidPersistence(
            f'persistence_config must be a dict{hint}, got a '
            f'{type(config).__name__}')
    kwargs = dict(config)
    storage = kwargs.pop('storage', None)
    # None or '': the default, as in cinderlib 5.x.
    if storage is None or (isinstance(storage, str) and not storage):
        storage = DEFAULT_STORAGE
    if isinstance(storage, PersistenceDriverBase):
        if kwargs:
            raise exception.InvalidPersistence(
                f'arguments {sorted(kwargs)} given with a plugin instance')
        return storage
    if isinstance(storage, str):
        storage = _load_entry_point(storage)
    if not (isinstance(storage, type) and
            issubclass(storage, PersistenceDriverBase)):
        raise exception.InvalidPersistence(
            f'storage must be a plugin name, a PersistenceDriverBase '
            f'subclass or instance, got {storage!r}')
    try:
        return storage(**kwargs)
    except TypeError as exc:
        raise exception.InvalidPersistence(
            f'{storage.__name__} rejected its arguments: {exc}') from None


def _load_entry_point(name: str) -> object:
    # lazy: 34 ms; only setup() needs it
    from stevedore import driver
    try:
        manager: driver.DriverManager[Any] = driver.DriverManager(
            namespace=NAMESPACE, name=name, invoke_on_load=False)
    except Exception:  # its text repeats the name
        available = ', '.join(sorted(available_plugins())) or 'none'
        raise exception.InvalidPersistence(
            f'no persistence plugin named '
            f'{exception._without_password(name)!r} (installed: '
            f'{available})') from None
    return manager.driver


def available_plugins() -> list[str]:
    """Names of the installed persistence plugins."""
    return [ep.name for ep in metadata.entry_points(group=NAMESPACE)]
