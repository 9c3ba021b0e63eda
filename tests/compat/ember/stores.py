"""The library's own view of what Ember-CSI stored.

``DBStore`` opens the plugin's SQLite database with cinderlib's ``db``
persistence plugin in the test process; ``CRDStore`` loads, with
``cinderlib.load()``, the JSON that Ember's CRD plugin put in the custom
objects of the fake Kubernetes API.  Both answer the same questions, so a
test checks a CSI call's effect the same way on either.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import cinderlib

from tests.compat.ember import fake_kube

GROUP = 'ember-csi.io'
#: The Kubernetes namespace of Ember's custom objects in the tests.
NAMESPACE = 'ember-test'


class DBStore:
    def __init__(self, url: str, state_path: str) -> None:
        # Same database as the plugin; this process's own state elsewhere.
        cinderlib.setup(persistence_config={'storage': 'db',
                                            'connection': url},
                        state_path=state_path)
        self.plugin = cinderlib.Backend.persistence

    def volumes(self) -> list[Any]:
        return self.plugin.get_volumes()

    def snapshots(self) -> list[Any]:
        return self.plugin.get_snapshots()

    def connections(self) -> list[Any]:
        return self.plugin.get_connections()

    def key_value(self, key: str) -> Optional[str]:
        found = self.plugin.get_key_values(key)
        return found[0].value if found else None

    def keys(self) -> list[str]:
        return [kv.key for kv in self.plugin.get_key_values()]


class CRDStore:
    def __init__(self, kube: fake_kube.FakeKube, namespace: str,
                 state_path: str) -> None:
        # Loaded without their backend, as Ember's node loads them.
        cinderlib.setup(state_path=state_path, fail_on_missing_backend=False)
        self.kube = kube
        self.namespace = namespace

    def _objects(self, plural: str) -> list[dict[str, Any]]:
        return self.kube.stored(GROUP, plural, self.namespace)

    def _load(self, plural: str) -> list[Any]:
        found = []
        for obj in self._objects(plural):
            loaded = cinderlib.load(obj['metadata']['annotations']['json'])
            # The labels Ember searches by must say what the JSON says.
            labels = obj['metadata'].get('labels') or {}
            singular = plural[:-1]
            assert labels.get(f'{singular}_id') == loaded.id == \
                obj['metadata']['name'], (labels, loaded.id)
            found.append(loaded)
        return found

    def volumes(self) -> list[Any]:
        return self._load('volumes')

    def snapshots(self) -> list[Any]:
        return self._load('snapshots')

    def connections(self) -> list[Any]:
        return self._load('connections')

    def keys(self) -> list[str]:
        return [obj['metadata']['name'] for obj in self._objects('keyvalues')]

    def key_value(self, key: str) -> Optional[str]:
        for obj in self._objects('keyvalues'):
            if obj['metadata']['name'] == key:
                value: str = obj['metadata']['annotations']['value']
                return value
        return None


def by_id(objects: list[Any]) -> dict[str, Any]:
    return {obj.id: obj for obj in objects}


def connector_of(store: Any, node_id: str) -> Optional[dict[str, Any]]:
    value = store.key_value(node_id)
    return None if value is None else json.loads(value)
