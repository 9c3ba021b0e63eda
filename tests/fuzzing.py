"""Hypothesis strategies and checks shared by the fuzz tests.

The fuzz tests start from real serialized objects and damage them:
``mutated`` drops keys, changes types, puts random JSON, truncated or
exotic strings, huge numbers, wrong versions or backend names in place of
any value of a JSON tree.  ``json_values`` is random JSON.

``CINDERLIB_FUZZ_EXAMPLES`` sets how many examples each fuzz test runs
(``FUZZ_EXAMPLES``, 200 by default, fast enough for every test run)::

    CINDERLIB_FUZZ_EXAMPLES=5000 pytest tests/unit/test_fuzz_load.py \\
        tests/persistence/test_fuzz_stored_rows.py
"""

import copy
import json
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import cinderlib
from cinderlib import exception
from cinderlib import serialization

FUZZ_EXAMPLES = int(os.environ.get('CINDERLIB_FUZZ_EXAMPLES', '200'))

# Each fuzz test is a loop over examples inside one test, with its own
# set-up: no example database (examples depend on ids made at run time).
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture])

SAMPLE_UUID = '0b0a7b33-08f7-4c6c-8d2b-a1e2e5b0e9d4'

# Values that are meaningful somewhere in a serialized object.
SPECIAL_STRINGS = [
    '', ' ', 'x' * 300, 'ü☃😀', '\x00', '\ud800', 'a/b', '.', '..', 'a#b',
    'DEFAULT', 'oslo_concurrency', 'memory', 'gone', 'Volume', 'Snapshot',
    'VolumeAttachment', 'Connection', 'Backend', 'VolumeType',
    'QualityOfServiceSpecs', 'SnapshotList', 'cinder', 'nova', '1.0',
    '1.9', '9.99', '1', 'a.b', '2024-01-01T00:00:00', '2024-13-45T99:99:99',
    '0001-01-01T00:00:00+05:00', '9999-12-31T23:59:59-05:00',
    'available', 'in-use', 'error', 'attached', 'detached', 'deleted',
    'back-end', SAMPLE_UUID, SAMPLE_UUID.upper(), 'not-a-uuid', 'NaN',
    '{"class": "Volume"}', 'iqn.1993-08.org.debian:01:abc', 'rbd',
]
SPECIAL_NUMBERS = [0, 1, -1, 2, 2 ** 31, 2 ** 63, 2 ** 64 + 1, -2 ** 70,
                   10 ** 100, 1.5, -0.0, 1e308, float('inf'),
                   float('-inf'), float('nan')]


def json_scalars():
    return st.one_of(
        st.none(), st.booleans(), st.integers(),
        st.sampled_from(SPECIAL_NUMBERS),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20), st.sampled_from(SPECIAL_STRINGS),
        # Any code point, lone surrogates included.
        st.text(st.characters(codec=None, exclude_categories=()),
                max_size=8))


def json_values(max_leaves=12):
    """Random JSON data (what json.loads can return)."""
    keys = st.one_of(st.text(max_size=10), st.sampled_from([
        'class', 'backend', 'ovo', 'volumes', 'versioned_object.name',
        'versioned_object.namespace', 'versioned_object.version',
        'versioned_object.data', 'versioned_object.changes', 'objects',
        'id', 'volume_id', 'size', 'volume_backend_name', 'snapshots',
        'volume_attachment', 'volume_type', 'connection_info', 'conn',
        'data', 'volume', 'status', 'host']))
    return st.recursive(
        json_scalars(),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=5)),
        max_leaves=max_leaves)


def paths(tree, prefix=()):
    """Every path (tuple of keys and indexes) in a JSON tree."""
    yield prefix
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from paths(value, prefix + (index,))


def get_path(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def _replacement(data, value):
    """A new value for ``value``, drawn interactively."""
    how = data.draw(st.sampled_from([
        'random', 'scalar', 'truncate', 'retype', 'nest', 'number',
        'string', 'empty']))
    if how == 'random':
        return data.draw(json_values())
    if how == 'scalar':
        return data.draw(json_scalars())
    if how == 'truncate':
        if isinstance(value, str):
            return value[:data.draw(st.integers(0, len(value)))]
        if isinstance(value, list) and value:
            return value[:data.draw(st.integers(0, len(value) - 1))]
        return data.draw(json_scalars())
    if how == 'retype':  # the same information, as another JSON type
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return [value]
        if isinstance(value, dict):
            return list(value.items())
        return {'value': value}
    if how == 'nest':
        depth = data.draw(st.integers(1, 30))
        for _ in range(depth):
            value = data.draw(st.sampled_from([[value], {'x': value}]))
        return value
    if how == 'number':
        return data.draw(st.one_of(st.sampled_from(SPECIAL_NUMBERS),
                                   st.integers()))
    if how == 'string':
        return data.draw(st.sampled_from(SPECIAL_STRINGS))
    return data.draw(st.sampled_from([None, {}, [], '', 0, False]))


def mutate(data, tree, count=None):
    """``tree`` (a deep copy) damaged ``count`` times (1 to 3 if None)."""
    tree = copy.deepcopy(tree)
    if count is None:
        count = data.draw(st.integers(1, 3))
    for _ in range(count):
        all_paths = list(paths(tree))
        path = data.draw(st.sampled_from(all_paths))
        if not path:
            tree = _replacement(data, tree)
            continue
        parent = get_path(tree, path[:-1])
        key = path[-1]
        operation = data.draw(st.sampled_from(
            ['replace'] * 4 + ['delete', 'add', 'duplicate']))
        if operation == 'delete':
            del parent[key]
        elif operation == 'add' and isinstance(parent, dict):
            new_key = data.draw(st.one_of(st.text(max_size=10),
                                          st.sampled_from(list(parent))))
            parent[new_key] = data.draw(json_values())
        elif operation == 'duplicate' and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        else:
            parent[key] = _replacement(data, parent[key])
    return tree


def mutated_text(data, text):
    """JSON text damaged as text: cut, spliced or with a character
    changed."""
    how = data.draw(st.sampled_from(['cut', 'splice', 'char', 'append']))
    position = data.draw(st.integers(0, len(text)))
    if how == 'cut':
        return text[:position]
    if how == 'splice':
        return text[:position] + data.draw(st.text(max_size=10)) + text[
            position:]
    if how == 'char':
        return text[:position] + data.draw(st.sampled_from(
            list('{}[]",:0\\x'))) + text[position + 1:]
    return text + data.draw(st.sampled_from([']', '}', ',', ' 1', '\x00']))


def sample_objects(backend, connector):
    """Real objects of ``backend``: volumes with metadata, specs and QoS,
    snapshots, connections, clones, a volume made from a snapshot."""
    volume = backend.create_volume(1, name='disk', description='data',
                                   metadata={'k': 'v', 'ü': '☃'},
                                   extra_specs={'thin': 'true'},
                                   qos_specs={'iops': '100'})
    snapshot = volume.create_snapshot(name='snap', metadata={'m': '1'})
    connection = volume.connect(connector)
    clone = volume.clone(name='clone', size=2)
    from_snapshot = snapshot.create_volume(name='restored')
    plain = backend.create_volume(3)
    return [volume, snapshot, connection, clone, from_snapshot, plain]


def serialized_forms(objects):
    """Each object's dumps, json and simplified forms, as JSON data."""
    forms = []
    for obj in objects:
        forms.append(json.loads(obj.dumps))
        forms.append(obj.json)
        forms.append(obj.to_json(simplified=True))
    return forms


RESOURCES = (cinderlib.Volume, cinderlib.Snapshot, cinderlib.Connection)

# Exceptions load() documents (doc/source/errors.rst).
LOAD_ERRORS = (exception.InvalidSerializedData, exception.BackendNotLoaded)


def loaded_objects(result):
    """The Volumes, Snapshots and Connections ``load`` returned, with the
    snapshots and connections a volume carries; and Backends."""
    found = []
    for item in result if isinstance(result, list) else [result]:
        if isinstance(item, list):
            found.extend(loaded_objects(item))
            continue
        found.append(item)
        if isinstance(item, cinderlib.Volume):
            found.extend(item._snapshots or [])
            found.extend(item._connections or [])
    return found


def exercise(obj):
    """Use what a caller uses of a loaded object.

    Raises only what the API documents for these calls: ``NotFound`` for
    a lazy-loaded object persistence does not hold, ``BackendNotLoaded``
    through an unloaded backend's placeholder.
    """
    repr(obj)
    if isinstance(obj, serialization.UnloadedBackend):
        assert isinstance(obj.config, dict)
        return
    if isinstance(obj, cinderlib.Backend):
        obj.json
        return
    assert isinstance(obj.id, str)
    assert isinstance(obj.backend_name, str)
    if isinstance(obj, cinderlib.Volume):
        assert isinstance(obj.name, (str, type(None)))
        assert isinstance(obj.size, int) and obj.size >= 1
        assert isinstance(obj.pool_name, str)
        obj.status, obj.volume_type, obj.metadata
        for child in obj.snapshots + obj.connections:
            # The same object unless the input held two copies of it.
            assert child.volume.id == obj.id
    else:
        assert isinstance(obj.volume_id, str)
    if isinstance(obj, cinderlib.Snapshot):
        assert isinstance(obj.volume_size, int)
        obj.name, obj.status
    if not isinstance(obj, cinderlib.Volume):
        try:
            assert obj.volume.id == obj.volume_id
        except exception.NotFound:
            pass
    if isinstance(obj, cinderlib.Connection):
        assert isinstance(obj.conn_info, dict)
        assert isinstance(obj.connector_info, dict)
        obj.protocol, obj.attach_mode, obj.connected, obj.attached
    obj.to_jsons(simplified=True)


def canonical(data):
    """JSON data as comparable text (NaN is not equal to itself)."""
    return json.dumps(data, sort_keys=True)


def check_round_trip(obj):
    """What ``obj`` serializes to loads back to the same.

    A connection's json holds its volume, looked up if it was not loaded
    with it: ``NotFound`` if persistence does not hold it either.
    """
    try:
        data = obj.json
    except exception.NotFound:
        assert isinstance(obj, cinderlib.Connection)
        obj.to_json(simplified=True)
        return
    again = cinderlib.load(json.dumps(data))
    assert canonical(again.json) == canonical(data)
    assert canonical(json.loads(obj.jsons)) == canonical(data)
