"""What Volume, Snapshot and Connection share: a Cinder object and a backend.

Each object wraps one of Cinder's versioned objects (``_ovo``) and keeps a
reference to the ``Backend`` whose driver does the work.  Attributes it does
not define fall through to the Cinder object, so every Cinder field is
readable (``vol.size``, ``vol.status``, ``vol.provider_location``...).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Optional

from cinderlib import cinder_glue
from cinderlib import exception
from cinderlib import validation


def persistence() -> Any:
    """The active persistence plugin (``Backend.persistence``)."""
    from cinderlib.backend import Backend
    return Backend.persistence


def global_options() -> Any:
    from cinderlib.backend import Backend
    return Backend.global_options()


class Resource:
    """Base of the objects that wrap a Cinder versioned object."""

    # Fields left out of the primitive: back-references or lazy lists.
    _SKIP_IN_JSON: ClassVar[tuple[str, ...]] = ()

    def __init__(self, backend: Any, ovo: Any) -> None:
        self.backend = backend
        self._ovo = ovo

    def __getattr__(self, name: str) -> Any:
        if name.startswith('_'):
            raise AttributeError(name)
        return getattr(self._ovo, name)

    def __repr__(self) -> str:
        return (f'<{type(self).__name__} {self._ovo.id} '
                f'status={self._ovo.get("status", None)!r} '
                f'backend={self.backend_name!r}>')

    def __eq__(self, other: Any) -> bool:
        return (type(self) is type(other) and
                self._ovo.id == other._ovo.id)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._ovo.id))

    @property
    def id(self) -> str:
        return self._ovo.id

    @property
    def backend_name(self) -> str:
        return self.backend.id

    @property
    def persistence(self) -> Any:
        return persistence()

    @staticmethod
    def _new_id(given: Optional[str], field: str = 'id') -> str:
        import uuid
        if given is None:
            return str(uuid.uuid4())
        return validation.resource_id(
            given, global_options().non_uuid_ids, field)

    def _context(self) -> Any:
        return self.backend.context

    def _fail(self, exc: BaseException, status: Optional[str]) -> None:
        """Record a failed operation, then let the caller re-raise."""
        if status is not None:
            self._ovo.status = status
        try:
            exc.resource = self  # type: ignore[attr-defined]
        except AttributeError:
            pass
        self.save()

    def save(self) -> None:
        raise NotImplementedError

    # -- serialization --------------------------------------------------------
    def _to_primitive(self, simplified: bool) -> dict:
        skip = self._SKIP_IN_JSON if simplified else ()
        return cinder_glue.to_primitive(self._ovo, skip)

    def to_json(self, simplified: bool = False) -> dict:
        """This object as a JSON-able dict (``cinderlib.load`` reads it)."""
        return {'class': type(self).__name__,
                'backend': self.backend.config,
                'ovo': self._to_primitive(simplified)}

    def to_jsons(self, simplified: bool = False) -> str:
        return json.dumps(self.to_json(simplified), separators=(',', ':'))

    @property
    def json(self) -> dict:
        return self.to_json()

    @property
    def jsons(self) -> str:
        return self.to_jsons()

    @property
    def dump(self) -> dict:
        self._load_lazy()
        return self.to_json()

    @property
    def dumps(self) -> str:
        self._load_lazy()
        return self.to_jsons()

    def _load_lazy(self) -> None:
        """Load lazy attributes so that ``dump`` includes them."""

    @classmethod
    def _check_class(cls, data: Any) -> dict:
        if not isinstance(data, dict) or data.get('class') != cls.__name__:
            raise exception.InvalidSerializedData(
                f'expected a serialized {cls.__name__}, got {data!r:.200}')
        for key in ('backend', 'ovo'):
            if key not in data:
                raise exception.InvalidSerializedData(
                    f'serialized {cls.__name__} has no {key!r} key')
        return data


class VolumeChild(Resource):
    """A snapshot or connection: it belongs to one volume."""

    _volume: Optional[Any] = None

    def _bind_volume(self, volume: Any) -> None:
        self._volume = volume

    @property
    def volume_id(self) -> str:
        return self._ovo.volume_id

    @property
    def volume(self) -> Any:
        """The volume (loaded from persistence on first use)."""
        if self._volume is None:
            from cinderlib.objects.volume import Volume
            self._bind_volume(Volume.get_by_id(self._ovo.volume_id))
        return self._volume
