"""The DB shim (``CinderDbShim``): the part of Cinder's database API that
drivers and Cinder's versioned objects call, served from the persistence
plugin.

Cinder's objects call the module functions of ``cinder.db.api`` directly
(through the ``cinder.db`` package up to Cinder 28:
``db_api_namespaces``), with no way to pass a database in, so
``install_db_api`` points those functions at the shim: the one global
change this library makes to Cinder.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Iterable, Optional

from cinderlib import exception
from cinderlib.cinder.config import load
from cinderlib.cinder.ovo import is_set


class Row(dict[str, Any]):
    """A database row as Cinder's objects read it: items and attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _row(ovo: Any) -> Row:
    optional = getattr(ovo, 'OPTIONAL_FIELDS', ())
    return Row({name: getattr(ovo, name) for name in ovo.fields
                if name not in optional and ovo.obj_attr_is_set(name)})


def _key_values(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    return [{'key': k, 'value': v} for k, v in (mapping or {}).items()]


def _mapping(resource: Any, field: str) -> dict[str, Any]:
    """A copy of a metadata field of ``resource``'s Cinder object; {} if
    it is not set (reading it would lazy-load it through this shim, which
    would find the same object: endless recursion)."""
    ovo = resource._ovo
    return dict(getattr(ovo, field)) if is_set(ovo, field) else {}


class CinderDbShim:
    """The part of Cinder's DB API that drivers and objects use.

    It answers from a persistence plugin (``persistence``: a
    ``PersistenceDriverBase``), whose objects wrap Cinder objects in
    ``_ovo``.  Functions return Cinder objects where drivers expect models,
    and ``Row`` dicts where Cinder's objects build themselves from rows.
    """

    def __init__(self, persistence: Any) -> None:
        self.persistence = persistence

    # -- helpers ------------------------------------------------------------
    def _working(self, kind: str, found: list[Any]) -> list[Any]:
        """The copies of ``found`` this process works on (plugins may
        return new copies: drivers must change the library's own)."""
        return [self.persistence.working_copy(kind, obj) for obj in found]

    def _volumes(self, **filters: Any) -> list[Any]:
        return self._working('volume', self.persistence.get_volumes(**filters))

    def _volume(self, volume_id: str) -> Any:
        found = self._volumes(volume_id=volume_id)
        if not found:
            raise exception.VolumeNotFound(volume_id=volume_id)
        return found[0]

    def _snapshots(self, **filters: Any) -> list[Any]:
        return self._working('snapshot',
                             self.persistence.get_snapshots(**filters))

    def _snapshot(self, snapshot_id: str) -> Any:
        found = self._snapshots(snapshot_id=snapshot_id)
        if not found:
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        return found[0]

    def _connections(self, **filters: Any) -> list[Any]:
        return self._working('connection',
                             self.persistence.get_connections(**filters))

    def _connection(self, attachment_id: str) -> Any:
        found = self._connections(connection_id=attachment_id)
        if not found:
            raise exception.ConnectionNotFound(filter=f'id = {attachment_id}')
        return found[0]

    def _volume_type(self, type_id: str) -> Any:
        # Each volume has a type of its own, with the volume's id.
        found = self._volumes(volume_id=type_id)
        volume_type = None
        # An unset type is not read: that would lazy-load it from here.
        if found and found[0]._ovo.obj_attr_is_set('volume_type'):
            volume_type = found[0]._ovo.volume_type
        if volume_type is None:
            cinder_exception = importlib.import_module('cinder.exception')
            raise cinder_exception.VolumeTypeNotFound(volume_type_id=type_id)
        return volume_type

    @staticmethod
    def _update(resource: Any, values: dict[str, Any]) -> Any:
        ovo = resource._ovo
        for name, value in values.items():
            if name in ovo.fields and (not ovo.obj_attr_is_set(name) or
                                       getattr(ovo, name) != value):
                setattr(ovo, name, value)
        resource.save()
        return ovo

    # -- rows for Cinder's objects -----------------------------------------
    def volume_row(self, ovo: Any) -> Row:
        row = _row(ovo)
        row['volume_metadata'] = _key_values(ovo.metadata)
        row['volume_admin_metadata'] = _key_values(ovo.admin_metadata)
        row['volume_glance_metadata'] = _key_values(ovo.glance_metadata)
        row['volume_type'] = (self.volume_type_row(ovo.volume_type)
                              if ovo.volume_type else None)
        row['volume_attachment'] = [self.attachment_row(a)
                                    for a in ovo.volume_attachment]
        row['consistencygroup'] = row['cluster'] = row['group'] = None
        return row

    @staticmethod
    def snapshot_row(ovo: Any) -> Row:
        row = _row(ovo)
        row['snapshot_metadata'] = _key_values(ovo.metadata)
        return row

    @staticmethod
    def attachment_row(ovo: Any) -> Row:
        # lazy: 45 ms; needed once drivers run
        from oslo_serialization import jsonutils
        row = _row(ovo)
        for name in ('connection_info', 'connector'):
            row[name] = jsonutils.dumps(row[name]) if row.get(name) else None
        return row

    def volume_type_row(self, ovo: Any) -> Row:
        row = _row(ovo)
        row['extra_specs'] = dict(ovo.extra_specs or {})
        row['projects'] = list(ovo.projects or [])
        row['qos_specs'] = (self.qos_specs_row(ovo.qos_specs)
                            if ovo.qos_specs else None)
        return row

    @staticmethod
    def qos_specs_row(ovo: Any) -> Row:
        return _row(ovo)

    def get_by_id(self, context: Any, model: Any, id: str, *args: Any,
                  **kwargs: Any) -> Row:
        name = getattr(model, '__name__', str(model))
        if name == 'Volume':
            return self.volume_row(self._volume(id)._ovo)
        if name == 'Snapshot':
            return self.snapshot_row(self._snapshot(id)._ovo)
        if name == 'VolumeAttachment':
            return self.attachment_row(self._connection(id)._ovo)
        if name == 'VolumeType':
            return self.volume_type_row(self._volume_type(id))
        if name == 'QualityOfServiceSpecs':
            return self.qos_specs_get(context, id)
        raise NotImplementedError(f'cinderlib does not store {name} objects')

    def resource_exists(self, context: Any, model: Any,
                        resource_id: str) -> bool:
        try:
            self.get_by_id(context, model, resource_id)
        except (exception.NotFound, NotImplementedError):
            return False
        return True

    # -- volumes --------------------------------------------------------------
    def volume_get(self, context: Any, volume_id: str) -> Any:
        return self._volume(volume_id)._ovo

    def volume_get_all_by_host(self, context: Any, host: str,
                               filters: Optional[dict[str, Any]] = None
                               ) -> list[Any]:
        # lazy: Cinder loads on first use, never with import cinderlib
        from cinder.volume import volume_utils
        result = []
        for volume in self._volumes():
            if volume_utils.hosts_are_equivalent(
                    volume_utils.extract_host(volume._ovo.host), host) and (
                    not filters or all(volume._ovo.get(k) == v
                                       for k, v in filters.items())):
                result.append(volume._ovo)
        return result

    def volume_update(self, context: Any, volume_id: str,
                      values: dict[str, Any]) -> Any:
        return self._update(self._volume(volume_id), values)

    def volume_metadata_get(self, context: Any,
                            volume_id: str) -> dict[str, Any]:
        return _mapping(self._volume(volume_id), 'metadata')

    def volume_metadata_update(self, context: Any, volume_id: str,
                               metadata: dict[str, Any], delete: bool,
                               *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._update_mapping(self._volume(volume_id), 'metadata',
                                    metadata, delete)

    def volume_metadata_delete(self, context: Any, volume_id: str, key: str,
                               *args: Any, **kwargs: Any) -> None:
        self._delete_key(self._volume(volume_id), 'metadata', key)

    def volume_admin_metadata_get(self, context: Any,
                                  volume_id: str) -> dict[str, Any]:
        return _mapping(self._volume(volume_id), 'admin_metadata')

    def volume_admin_metadata_update(self, context: Any, volume_id: str,
                                     metadata: dict[str, Any], delete: bool,
                                     add: bool = True,
                                     update: bool = True) -> dict[str, Any]:
        volume = self._volume(volume_id)
        current = _mapping(volume, 'admin_metadata')
        wanted = {k: v for k, v in metadata.items()
                  if (add or k in current) and (update or k not in current)}
        return self._update_mapping(volume, 'admin_metadata', wanted, delete)

    def volume_admin_metadata_delete(self, context: Any, volume_id: str,
                                     key: str) -> None:
        self._delete_key(self._volume(volume_id), 'admin_metadata', key)

    def volume_glance_metadata_get(self, context: Any,
                                   volume_id: str) -> Any:
        cinder_exception = importlib.import_module('cinder.exception')
        raise cinder_exception.GlanceMetadataNotFound(id=volume_id)

    def volume_encryption_metadata_get(self, context: Any,
                                       volume_id: str) -> dict[str, Any]:
        return {'encryption_key_id':
                self._volume(volume_id)._ovo.encryption_key_id}

    def image_volume_cache_get_by_volume_id(self, context: Any,
                                            volume_id: str) -> None:
        return None

    @staticmethod
    def _update_mapping(resource: Any, field: str, values: dict[str, Any],
                        delete: bool) -> dict[str, Any]:
        ovo = resource._ovo
        merged = {} if delete else dict(getattr(ovo, field))
        merged.update({k: str(v) for k, v in values.items()})
        setattr(ovo, field, merged)
        resource.save()
        return dict(merged)

    @staticmethod
    def _delete_key(resource: Any, field: str, key: str) -> None:
        mapping = dict(getattr(resource._ovo, field))
        mapping.pop(key, None)
        setattr(resource._ovo, field, mapping)
        resource.save()

    # -- snapshots ------------------------------------------------------------
    def snapshot_get(self, context: Any, snapshot_id: str) -> Any:
        return self._snapshot(snapshot_id)._ovo

    def snapshot_update(self, context: Any, snapshot_id: str,
                        values: dict[str, Any]) -> Any:
        return self._update(self._snapshot(snapshot_id), values)

    def snapshot_get_all_for_volume(self, context: Any,
                                    volume_id: str) -> list[Row]:
        return [self.snapshot_row(s._ovo) for s in
                self._snapshots(volume_id=volume_id)]

    def snapshot_metadata_update(self, context: Any, snapshot_id: str,
                                 metadata: dict[str, Any],
                                 delete: bool) -> dict[str, Any]:
        return self._update_mapping(self._snapshot(snapshot_id), 'metadata',
                                    metadata, delete)

    def snapshot_metadata_delete(self, context: Any, snapshot_id: str,
                                 key: str) -> None:
        self._delete_key(self._snapshot(snapshot_id), 'metadata', key)

    # -- volume types and QoS -------------------------------------------------
    def volume_type_get(self, context: Any, id: str, inactive: bool = False,
                        expected_fields: Optional[Iterable[str]] = None
                        ) -> Row:
        row = self.volume_type_row(self._volume_type(id))
        if not expected_fields or 'qos_specs' not in expected_fields:
            row.pop('qos_specs')
        return row

    def volume_type_get_by_name(self, context: Any, name: str) -> Row:
        return self.volume_type_get(context, name)

    def volume_type_extra_specs_get(self, context: Any,
                                    type_id: str) -> dict[str, Any]:
        return dict(self._volume_type(type_id).extra_specs or {})

    def volume_type_qos_specs_get(self, context: Any,
                                  type_id: str) -> dict[str, Any]:
        qos = self._volume_type(type_id).qos_specs
        if qos is None:
            return {'qos_specs': None}
        return {'qos_specs': {'id': qos.id, 'name': qos.name,
                              'consumer': qos.consumer,
                              'specs': dict(qos.specs or {})}}

    def qos_specs_get(self, context: Any, qos_specs_id: str,
                      *args: Any) -> Row:
        qos = self._volume_type(qos_specs_id).qos_specs
        if qos is None:
            cinder_exception = importlib.import_module('cinder.exception')
            raise cinder_exception.QoSSpecsNotFound(specs_id=qos_specs_id)
        return self.qos_specs_row(qos)

    def volume_type_access_get_all(self, context: Any,
                                   type_id: str) -> list[Any]:
        return []

    def qos_specs_associations_get(self, context: Any,
                                   qos_specs_id: str) -> list[Any]:
        return []

    def project_default_volume_type_get(self, context: Any,
                                        project_id: Any = None) -> None:
        return None

    # -- attachments ----------------------------------------------------------
    def volume_attachment_get(self, context: Any, attachment_id: str) -> Any:
        return self._connection(attachment_id)._ovo

    def volume_attachment_get_all_by_volume_id(self, context: Any,
                                               volume_id: str) -> list[Row]:
        return [self.attachment_row(c._ovo) for c in
                self._connections(volume_id=volume_id)]

    def volume_attachment_update(self, context: Any, attachment_id: str,
                                 values: dict[str, Any]) -> Any:
        return self._update(self._connection(attachment_id), values)

    def attachment_specs_get(self, context: Any,
                             attachment_id: str) -> dict[str, Any]:
        return {}

    # -- services -------------------------------------------------------------
    def is_backend_frozen(self, context: Any, host: str,
                          cluster_name: Optional[str]) -> bool:
        return False


SHIM_FUNCTIONS = tuple(
    name for name, value in vars(CinderDbShim).items()
    if callable(value) and not name.startswith('_') and
    not name.endswith('_row'))
_active_shim: Callable[[], Any] = lambda: None  # noqa: E731
_installed = False


def install_db_api(current_shim: Callable[[], CinderDbShim]) -> None:
    """Route Cinder's DB API calls to ``current_shim()``; idempotent."""
    global _active_shim, _installed
    load()
    _active_shim = current_shim
    if _installed:
        return
    for module, names in db_api_namespaces():
        for name in names:
            setattr(module, name, _dispatcher(name))
    _installed = True


def db_api_namespaces() -> list[tuple[Any, tuple[str, ...]]]:
    """The modules through which Cinder calls its DB API, each with the
    ``SHIM_FUNCTIONS`` to route there.

    Cinder 29's objects call ``cinder.db.api``'s functions.  Up to
    Cinder 28 they call them through the ``cinder.db`` package, which
    copies them (``from cinder.db.api import *``), and ``cinder.db.api``'s
    functions forward to ``IMPL`` (``cinder.db.sqlalchemy.api``); so the
    package gets its copies routed too.
    """
    db_api = importlib.import_module('cinder.db.api')
    namespaces = [(db_api, SHIM_FUNCTIONS)]
    package = importlib.import_module('cinder.db')
    copied = tuple(name for name in SHIM_FUNCTIONS
                   if getattr(package, name, None) is not None)
    if package is not db_api and copied:
        namespaces.append((package, copied))
    return namespaces


def _dispatcher(name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(_active_shim(), name)(*args, **kwargs)
    call.__name__ = name
    return call
