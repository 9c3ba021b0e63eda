"""A persistence plugin written against cinderlib 5.x, in the shape of
Ember-CSI 0.9.1's Kubernetes CRD plugin (``ember_csi.cl_crd``).

It is written here from that plugin's observable behaviour, with a small
in-process stand-in for the Kubernetes API (objects with labels,
annotations and a ``resourceVersion``; 404 for a missing object, 409 for
creating an existing one or replacing it from an outdated version).  What
the library must keep working for such a plugin:

- ``__init__`` builds the DB shim with ``base.DB(self)`` *before* calling
  the base ``__init__``, and its own ``db`` property returns it;
- ``set_*`` create the stored object when ``'id'`` is among
  ``get_changed_fields(obj)`` and replace it otherwise, then call the base
  method through ``super()``; ``delete_*`` call it after deleting;
- objects are stored as ``obj.to_jsons(simplified=True)`` text and read
  back with ``cinderlib.load()``: every ``get_*`` returns new copies;
- the stored version is kept in an attribute set on the objects and
  key-values (``__resource_version``), and sent back on replace;
- ``volume.backend`` may be a backend that is not loaded;
- ``get_key_values`` takes a key (5.x's base gave it no default) and
  ``set_key_value``/``delete_key_value`` do not call the base class.
"""

import copy
import itertools
import threading

import cinderlib
from cinderlib import objects
from cinderlib.persistence import base


class ApiException(Exception):
    """What the Kubernetes client raises: ``status`` is the HTTP status."""

    def __init__(self, status, reason):
        super().__init__(f'({status}) {reason}')
        self.status = status


class FakeCustomObjectsApi:
    """Namespaced custom objects, as the Kubernetes API keeps them."""

    _versions = itertools.count(1)

    def __init__(self):
        self._lock = threading.Lock()
        # {(namespace, plural): {name: object}}
        self._objects = {}
        #: (verb, namespace, plural, name) of every call, for the tests.
        self.calls = []

    def _bucket(self, namespace, plural):
        return self._objects.setdefault((namespace, plural), {})

    def get(self, namespace, plural, name):
        self.calls.append(('get', namespace, plural, name))
        with self._lock:
            found = self._bucket(namespace, plural).get(name)
            if found is None:
                raise ApiException(404, f'{plural} {name!r} not found')
            return copy.deepcopy(found)

    def list(self, namespace, plural, label_selector=''):
        self.calls.append(('list', namespace, plural, label_selector))
        wanted = dict(item.split('=', 1)
                      for item in label_selector.split(',') if item)
        with self._lock:
            items = [obj for obj in self._bucket(namespace, plural).values()
                     if all(obj['metadata'].get('labels', {}).get(k) == v
                            for k, v in wanted.items())]
            return {'items': copy.deepcopy(items)}

    def create(self, namespace, plural, body):
        self._check_body(body)
        name = body['metadata']['name']
        self.calls.append(('create', namespace, plural, name))
        with self._lock:
            bucket = self._bucket(namespace, plural)
            if name in bucket:
                raise ApiException(409, f'{plural} {name!r} already exists')
            return self._store(bucket, name, body)

    def replace(self, namespace, plural, name, body):
        self._check_body(body)
        self.calls.append(('replace', namespace, plural, name))
        with self._lock:
            bucket = self._bucket(namespace, plural)
            current = bucket.get(name)
            if current is None:
                raise ApiException(404, f'{plural} {name!r} not found')
            if (body['metadata'].get('resourceVersion') !=
                    current['metadata']['resourceVersion']):
                raise ApiException(
                    409, f'{plural} {name!r} was modified: the object has '
                         f'been changed since it was read')
            return self._store(bucket, name, body)

    def delete(self, namespace, plural, name):
        self.calls.append(('delete', namespace, plural, name))
        with self._lock:
            if self._bucket(namespace, plural).pop(name, None) is None:
                raise ApiException(404, f'{plural} {name!r} not found')

    def _store(self, bucket, name, body):
        stored = copy.deepcopy(body)
        stored['metadata']['resourceVersion'] = str(next(self._versions))
        bucket[name] = stored
        return copy.deepcopy(stored)

    @staticmethod
    def _check_body(body):
        # The API server refuses annotations and labels that are not text.
        metadata = body['metadata']
        for section in ('labels', 'annotations'):
            for key, value in metadata.get(section, {}).items():
                if not isinstance(value, str):
                    raise ApiException(
                        422, f'{section} {key!r} must be a string')


#: The "cluster": shared by every plugin instance, as Kubernetes is.
API = FakeCustomObjectsApi()


class CRD:
    """One kind of custom object; the cinderlib object's JSON is kept in a
    ``json`` annotation and labels make it searchable."""

    NAMESPACE = 'default'
    RESOURCE_VERSION_ATTR = '__resource_version'

    @staticmethod
    def _prepare_labels(labels):
        """Labels without the empty ones, values split at 63 characters."""
        result = {}
        for key, value in labels.items():
            if not value:
                continue
            if isinstance(value, str) and len(value) > 63:
                for number, start in enumerate(range(63, len(value), 63), 2):
                    result[f'{key}{number}'] = value[start:start + 63]
                value = value[:63]
            result[key] = value
        return result

    @classmethod
    def get(cls, **kwargs):
        selector = cls._prepare_labels(kwargs)
        res_id = selector.get(cls.singular + '_id')
        if res_id is not None:
            try:
                res = API.get(cls.NAMESPACE, cls.plural, res_id)
            except ApiException as exc:
                if exc.status == 404:
                    return []
                raise
            labels = res['metadata']['labels']
            if any(labels.get(k) != v for k, v in selector.items()):
                return []
            res = [res]
        else:
            selector_str = ','.join(f'{k}={v}' for k, v in selector.items())
            res = API.list(cls.NAMESPACE, cls.plural,
                           label_selector=selector_str)['items']
        result = []
        for item in res:
            resource = cinderlib.load(item['metadata']['annotations']['json'])
            cls._set_resource_version(resource, item)
            result.append(resource)
        return result

    @classmethod
    def delete(cls, name):
        try:
            API.delete(cls.NAMESPACE, cls.plural, name)
        except ApiException as exc:
            if exc.status != 404:
                raise

    @classmethod
    def set(cls, resource, is_new=None):
        json_data = resource.to_jsons(simplified=True)
        labels = cls._prepare_labels(cls._get_labels(resource))
        cro = {'metadata': {'labels': labels, 'name': resource.id,
                            'annotations': {'json': json_data}}}
        cls._set_dict_resource_version(resource, cro)
        res = cls._apply(resource.id, cro, is_new)
        cls._set_resource_version(resource, res)

    @classmethod
    def _apply(cls, name, body, is_new):
        """Create or replace; the resourceVersion guards against writes
        from outdated copies."""
        if is_new:
            return API.create(cls.NAMESPACE, cls.plural, body)
        if body['metadata'].get('resourceVersion') is not None:
            return API.replace(cls.NAMESPACE, cls.plural, name, body)
        try:
            res = API.get(cls.NAMESPACE, cls.plural, name)
        except ApiException as exc:
            if exc.status != 404:
                raise
            return API.create(cls.NAMESPACE, cls.plural, body)
        body['metadata']['resourceVersion'] = (
            res['metadata']['resourceVersion'])
        return API.replace(cls.NAMESPACE, cls.plural, name, body)

    @classmethod
    def _set_resource_version(cls, resource, result):
        setattr(resource, cls.RESOURCE_VERSION_ATTR,
                result['metadata']['resourceVersion'])

    @classmethod
    def _set_dict_resource_version(cls, resource, body):
        version = getattr(resource, cls.RESOURCE_VERSION_ATTR, None)
        if version is not None:
            body['metadata']['resourceVersion'] = version


class Volume(CRD):
    singular, plural = 'volume', 'volumes'

    @classmethod
    def _get_labels(cls, volume):
        # A loaded backend on controllers, a name-only one on nodes.
        return {'backend_name': getattr(volume.backend, 'id', volume.backend),
                'volume_id': volume.id, 'volume_name': volume.name}


class Snapshot(CRD):
    singular, plural = 'snapshot', 'snapshots'

    @classmethod
    def _get_labels(cls, snapshot):
        return {'snapshot_id': snapshot.id, 'snapshot_name': snapshot.name,
                'volume_id': snapshot.volume_id}


class Connection(CRD):
    singular, plural = 'connection', 'connections'

    @classmethod
    def _get_labels(cls, connection):
        return {'connection_id': connection.id,
                'volume_id': connection.volume_id}


class KeyValue(CRD):
    """The key is the object's name, the value an annotation."""

    singular, plural = 'keyvalue', 'keyvalues'

    @classmethod
    def get(cls, key):
        try:
            res = API.get(cls.NAMESPACE, cls.plural, key)
        except ApiException as exc:
            if exc.status == 404:
                return []
            raise
        kv = objects.KeyValue(key, res['metadata']['annotations']['value'])
        cls._set_resource_version(kv, res)
        return [kv]

    @classmethod
    def set(cls, key_value, is_new=None):
        cro = {'metadata': {'name': key_value.key,
                            'annotations': {'value': key_value.value}}}
        cls._set_dict_resource_version(key_value, cro)
        res = cls._apply(key_value.key, cro, is_new)
        cls._set_resource_version(key_value, res)


class CRDLikePersistence(base.PersistenceDriverBase):
    """The plugin; ``namespace`` picks the objects' namespace."""

    def __init__(self, namespace=None, **kwargs):
        self.fake_db = base.DB(self)
        if namespace:
            CRD.NAMESPACE = namespace
        super(CRDLikePersistence, self).__init__()

    @property
    def db(self):
        return self.fake_db

    def get_volumes(self, volume_id=None, volume_name=None, backend_name=None):
        return Volume.get(volume_id=volume_id, volume_name=volume_name,
                          backend_name=backend_name)

    def get_snapshots(self, snapshot_id=None, snapshot_name=None,
                      volume_id=None):
        return Snapshot.get(snapshot_id=snapshot_id,
                            snapshot_name=snapshot_name, volume_id=volume_id)

    def get_connections(self, connection_id=None, volume_id=None):
        return Connection.get(connection_id=connection_id,
                              volume_id=volume_id)

    def get_key_values(self, key):
        return KeyValue.get(key)

    def set_volume(self, volume):
        Volume.set(volume, 'id' in self.get_changed_fields(volume))
        super(CRDLikePersistence, self).set_volume(volume)

    def set_snapshot(self, snapshot):
        Snapshot.set(snapshot, 'id' in self.get_changed_fields(snapshot))
        super(CRDLikePersistence, self).set_snapshot(snapshot)

    def set_connection(self, connection):
        Connection.set(connection,
                       'id' in self.get_changed_fields(connection))
        super(CRDLikePersistence, self).set_connection(connection)

    def set_key_value(self, key_value):
        KeyValue.set(key_value)

    def delete_volume(self, volume):
        Volume.delete(volume.id)
        super(CRDLikePersistence, self).delete_volume(volume)

    def delete_snapshot(self, snapshot):
        Snapshot.delete(snapshot.id)
        super(CRDLikePersistence, self).delete_snapshot(snapshot)

    def delete_connection(self, connection):
        Connection.delete(connection.id)
        super(CRDLikePersistence, self).delete_connection(connection)

    def delete_key_value(self, key_value):
        KeyValue.delete(key_value.key)
        super(CRDLikePersistence, self).delete_key_value(key_value)
