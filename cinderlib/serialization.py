"""Loading what ``json``/``jsons``/``dump``/``dumps`` produce."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar

from cinderlib import cinder_glue
from cinderlib import exception

if TYPE_CHECKING:
    from cinderlib.backend import Backend
    from cinderlib.objects import Connection, Snapshot, Volume

# A snapshot or connection class: what ``_load_child`` loads.
_Child = TypeVar('_Child', 'Snapshot', 'Connection')


class UnloadedBackend:
    """Stands for a backend that is not loaded (``fail_on_missing_backend``
    is False): it knows its name and configuration, and nothing else."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.id: str = config['volume_backend_name']
        self.config = config

    def __getattr__(self, name: str) -> Any:
        if name.startswith('_'):
            raise AttributeError(name)
        raise exception.BackendNotLoaded(self.id)

    def __repr__(self) -> str:
        return f'<UnloadedBackend {self.id}>'


def load(json_src: Any, save: bool = False) -> Any:
    """Objects from a JSON string, a dict or a list of them.

    ``save=True`` also writes every loaded object to persistence.
    """
    if isinstance(json_src, (str, bytes, bytearray)):
        try:
            json_src = json.loads(json_src)
        except ValueError as exc:
            raise exception.InvalidSerializedData(
                f'not valid JSON: {exc}') from None
    if isinstance(json_src, list):
        return [load(item, save) for item in json_src]
    if not isinstance(json_src, dict):
        raise exception.InvalidSerializedData(
            f'expected a JSON object or list, got {type(json_src).__name__}')
    loader = _LOADERS.get(json_src.get('class'))
    if loader is None:
        raise exception.InvalidSerializedData(
            f'unknown "class" {json_src.get("class")!r}; expected one of '
            f'{", ".join(sorted(_LOADERS))}')
    return loader(json_src, save)


def backend_for(config: Any) -> Backend | UnloadedBackend:
    """The live backend a serialized ``backend`` entry names."""
    from cinderlib.backend import Backend
    if not isinstance(config, dict) or not isinstance(
            config.get('volume_backend_name'), str):
        raise exception.InvalidSerializedData(
            f'"backend" must be a dict with a volume_backend_name, got '
            f'{config!r:.200}')
    backend = Backend.backends.get(config['volume_backend_name'])
    if backend is not None:
        return backend
    if Backend.global_options().fail_on_missing_backend:
        raise exception.BackendNotLoaded(config['volume_backend_name'])
    return UnloadedBackend(config)


def backend_or_placeholder(name: str) -> Backend | UnloadedBackend:
    """The live backend called ``name``, or an ``UnloadedBackend`` (for
    persistence plugins rebuilding stored objects: never raises)."""
    from cinderlib.backend import Backend
    backend = Backend.backends.get(name)
    return backend if backend is not None else UnloadedBackend(
        {'volume_backend_name': name})


def _context() -> Any:
    from cinderlib.backend import Backend
    options = Backend.global_options()
    return cinder_glue.make_context(options.user_id, options.project_id)


def _ovo(data: dict[str, Any], expected: str) -> Any:
    ovo = cinder_glue.from_primitive(data['ovo'], _context())
    if ovo.obj_name() != expected:
        raise exception.InvalidSerializedData(
            f'a serialized {data["class"]} holds a {ovo.obj_name()}')
    return ovo


def load_volume(data: dict[str, Any], save: bool = False) -> Volume:
    from cinderlib.objects import Connection, Snapshot, Volume
    Volume._check_class(data)
    ovo = _ovo(data, 'Volume')
    backend = backend_for(data['backend'])
    # Snapshots and attachments left out (simplified form) load lazily
    # from persistence.  The Cinder object must not hold its snapshots
    # (see cinder_glue.new_volume).
    snapshot_ovos = _take_list(ovo, 'snapshots')
    attachment_ovos = _take_list(ovo, 'volume_attachment')
    ovo.volume_attachment = getattr(
        cinder_glue.objects_module(), 'VolumeAttachmentList')(
            objects=attachment_ovos or [])
    cinder_glue.fill_unset_fields(ovo)
    volume = Volume._from_ovo(backend, ovo)
    if snapshot_ovos is not None:
        volume._snapshots = [Snapshot._from_ovo(backend, s, volume)
                             for s in snapshot_ovos]
    if attachment_ovos is not None:
        volume._connections = [Connection._from_ovo(backend, c, volume)
                               for c in attachment_ovos]
    if save:
        volume.save()
        for child in (volume._snapshots or []) + (volume._connections or []):
            child.save()
    return volume


def _take_list(ovo: Any, name: str) -> Optional[list[Any]]:
    """The objects of a serialized list field (None if it was left out),
    leaving the field unset."""
    if not ovo.obj_attr_is_set(name):
        return None
    items = list(getattr(ovo, name))
    cinder_glue.forget_field(ovo, name)
    return items


def _load_child(cls: type[_Child], ovo_name: str
                ) -> Callable[[dict[str, Any], bool], _Child]:
    def loader(data: dict[str, Any], save: bool = False) -> _Child:
        cls._check_class(data)
        ovo = _ovo(data, ovo_name)
        backend = backend_for(data['backend'])
        volume = None
        if ovo.obj_attr_is_set('volume') and ovo.volume is not None:
            from cinderlib.objects import Volume
            cinder_glue.fill_unset_fields(ovo.volume)
            volume = Volume._from_ovo(backend, ovo.volume)
            if ovo_name == 'VolumeAttachment':
                cinder_glue.forget_field(ovo, 'volume')
        obj = cls._from_ovo(backend, ovo, volume)
        if save:
            obj.save()
        return obj
    return loader


def load_backend(data: dict[str, Any],
                 save: bool = False) -> Backend | UnloadedBackend:
    volumes = data.get('volumes')
    if not isinstance(volumes, list):
        raise exception.InvalidSerializedData(
            'serialized Backend has no "volumes" list')
    backend = backend_for(data.get('backend'))
    for volume in volumes:
        load_volume(volume, save)
    return backend


def _snapshot_loader(data: dict[str, Any], save: bool = False) -> Snapshot:
    from cinderlib.objects import Snapshot
    return _load_child(Snapshot, 'Snapshot')(data, save)


def _connection_loader(data: dict[str, Any],
                       save: bool = False) -> Connection:
    from cinderlib.objects import Connection
    return _load_child(Connection, 'VolumeAttachment')(data, save)


# Looked up with whatever "class" the data holds.
_LOADERS: dict[Any, Callable[[dict[str, Any], bool], Any]] = {
    'Volume': load_volume, 'Snapshot': _snapshot_loader,
    'Connection': _connection_loader, 'Backend': load_backend}
