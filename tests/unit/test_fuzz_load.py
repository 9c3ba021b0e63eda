"""Fuzzing ``cinderlib.load()`` with hypothesis.

Inputs are real serialized volumes (with snapshots, connections, clones,
metadata, specs), snapshots, connections and whole backends, and what the
retired library wrote (``tests/compat/legacy_fixtures.py``), damaged by
``tests.fuzzing.mutate`` (as dicts, as JSON text, as damaged text, alone
and in lists), and random JSON.  They are loaded with and without
``save=True``, with ``fail_on_missing_backend`` True and False, on the
``memory`` and ``memory_db`` plugins.  Properties:

- only the documented errors come out: ``InvalidSerializedData`` (bad
  data) and ``BackendNotLoaded`` (a backend that is not loaded);
- a failed load leaves persistence as it was; ``save=True`` stores every
  object of the input, and changes nothing else;
- what loads is usable, and serializes to what loads back to the same.

Each test runs ``CINDERLIB_FUZZ_EXAMPLES`` examples (200 by default); for
a longer run::

    CINDERLIB_FUZZ_EXAMPLES=5000 pytest tests/unit/test_fuzz_load.py
"""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cinderlib
from cinderlib.persistence import dbms
from cinderlib.persistence import schema
from tests import fuzzing
from tests.compat import legacy_fixtures

MEMORY_DRIVER = 'tests.memory_driver.MemoryVolumeDriver'
KINDS = ('volume', 'snapshot', 'connection')
# Shapes of the retired library's JSON among the forms damaged.
LEGACY_FORMS = ('memory-volume', 'memory-connection-simplified',
                'db-volume', 'db-snapshot', 'db-read-connection',
                'db-restored', 'db-backend-dump', 'older-volume', 'dumps')


def contents(plugin):
    """What ``plugin`` stores, to compare before and after a load:
    {(kind, id): state}."""
    found = {}
    if isinstance(plugin, dbms.DBPersistence):
        tables = {'volume': schema.volumes, 'snapshot': schema.snapshots,
                  'connection': schema.connections,
                  'key': schema.key_values}
        with plugin.engine.connect() as conn:
            for kind, table in tables.items():
                for row in conn.execute(table.select()):
                    found[(kind, row[0])] = tuple(row)
        return found
    for kind in KINDS:
        for object_id, obj in getattr(plugin, kind + 's').items():
            found[(kind, object_id)] = (id(obj),
                                        obj.to_jsons(simplified=True))
    return found


def input_ids(data, in_backend=False):
    """[(kind, id, in_backend)] of every object in a successfully loaded
    input, in order; ``in_backend`` if it is a volume of a Backend (or
    one of its snapshots or connections)."""
    ids = []
    if isinstance(data, list):
        for item in data:
            ids += input_ids(item, in_backend)
        return ids
    if data['class'] == 'Backend':
        for volume in data['volumes']:
            ids += input_ids(volume, True)
        return ids
    kind = {'Volume': 'volume', 'Snapshot': 'snapshot',
            'Connection': 'connection'}[data['class']]
    fields = data['ovo']['versioned_object.data']
    ids.append((kind, fields['id'], in_backend))
    for name, child_kind in (('snapshots', 'snapshot'),
                             ('volume_attachment', 'connection')):
        if kind == 'volume' and fields.get(name) is not None:
            for child in fields[name]['versioned_object.data']['objects']:
                ids.append((child_kind, child['versioned_object.data']['id'],
                            in_backend))
    return ids


def check_saved(plugin, data, loaded, before, after):
    """``save=True`` stored every object of the input, as loaded, and
    changed nothing else."""
    # Where each object appears last: it was stored last from there.
    last_from_backend = {(kind, object_id): in_backend for
                         kind, object_id, in_backend in input_ids(data)}
    touched = set(last_from_backend) | {
        ('type', object_id) for kind, object_id in last_from_backend
        if kind == 'volume'}
    assert {key: value for key, value in before.items()
            if key not in touched} == {key: value for key, value in
                                       after.items() if key not in touched}
    last = {}
    for obj in loaded:
        if isinstance(obj, fuzzing.RESOURCES):
            last[(obj.__class__.__name__.lower(), obj.id)] = obj
    for (kind, object_id), in_backend in last_from_backend.items():
        found = stored(plugin, kind, object_id)
        assert len(found) == 1, (kind, object_id)
        if in_backend:  # load() returns the backend, not its volumes
            continue
        obj = last[(kind, object_id)]
        assert fuzzing.canonical(found[0].to_json(True)['ovo']) == (
            fuzzing.canonical(obj.to_json(True)['ovo']))
        if not isinstance(plugin, dbms.DBPersistence):
            assert found[0] is obj


def stored(plugin, kind, object_id):
    """The stored objects of an id; for the db plugin, rebuilt from its
    rows, as another process would see them."""
    get = getattr(plugin, f'get_{kind}s')
    if not isinstance(plugin, dbms.DBPersistence):
        return get(**{f'{kind}_id': object_id})
    live = plugin._live
    plugin._live = {name: {} for name in live}
    try:
        return get(**{f'{kind}_id': object_id})
    finally:
        plugin._live = live


def check_load(value, save):
    """Load ``value`` and check every property; returns what loaded (or
    None after a documented error)."""
    plugin = cinderlib.Backend.persistence
    before = contents(plugin)
    try:
        result = cinderlib.load(value, save=save)
    except fuzzing.LOAD_ERRORS as exc:
        assert str(exc)
        assert contents(plugin) == before, 'a failed load stored something'
        return None
    loaded = fuzzing.loaded_objects(result)
    after = contents(plugin)
    if save:
        data = value if isinstance(value, (dict, list)) else json.loads(
            value)
        check_saved(plugin, data, loaded, before, after)
    else:
        assert after == before, 'load() without save stored something'
    for obj in loaded:
        fuzzing.exercise(obj)
        if isinstance(obj, fuzzing.RESOURCES):
            fuzzing.check_round_trip(obj)
    return result


@pytest.fixture(params=['memory', 'memory_db'])
def storage(request):
    return request.param


@pytest.fixture(params=[True, False], ids=['fail-on-missing', 'placeholder'])
def forms(request, storage, tmp_path, connector):
    """Serialized forms of objects of a loaded backend, and of one that
    was unloaded since."""
    cinderlib.setup(state_path=str(tmp_path),
                    fail_on_missing_backend=request.param,
                    persistence_config={'storage': storage})
    kept = cinderlib.Backend('memory', volume_driver=MEMORY_DRIVER,
                             memory_attach_dir=str(tmp_path))
    gone = cinderlib.Backend('gone', volume_driver=MEMORY_DRIVER,
                             memory_attach_dir=str(tmp_path))
    objects = (fuzzing.sample_objects(kept, connector) +
               fuzzing.sample_objects(gone, connector))
    found = fuzzing.serialized_forms(objects)
    found += [kept.dump, gone.dump, json.loads(cinderlib.dumps())]
    gone.unload()
    for name in ('lvm', 'ceph'):  # the retired library's backends
        cinderlib.Backend(name, volume_driver=MEMORY_DRIVER,
                          memory_attach_dir=str(tmp_path))
    legacy = legacy_fixtures.fixtures()
    found += [legacy[name] for name in LEGACY_FORMS]
    return found


def test_damaged_objects_load_or_fail_cleanly(forms):
    @fuzzing.FUZZ_SETTINGS
    @given(st.data())
    def check(data):
        count = data.draw(st.integers(1, 3))
        items = [fuzzing.mutate(data, data.draw(st.sampled_from(forms)),
                                data.draw(st.integers(0, 3)))
                 for _ in range(count)]
        value = items[0] if count == 1 and data.draw(st.booleans()) else (
            items)
        form = data.draw(st.sampled_from(['dict', 'text', 'bytes']))
        if form != 'dict':
            try:
                value = json.dumps(value)
            except ValueError:  # an integer too long for JSON text
                pass
            else:
                if form == 'bytes':
                    value = value.encode('utf-8', 'surrogatepass')
        check_load(value, data.draw(st.booleans()))
    check()


def test_damaged_text_loads_or_fails_cleanly(forms):
    @fuzzing.FUZZ_SETTINGS
    @given(st.data())
    def check(data):
        text = json.dumps(data.draw(st.sampled_from(forms)))
        check_load(fuzzing.mutated_text(data, text), data.draw(st.booleans()))
    check()


@fuzzing.FUZZ_SETTINGS
@given(value=st.one_of(fuzzing.json_values(max_leaves=30),
                       st.binary(max_size=50), st.text(max_size=50)),
       save=st.booleans())
def test_random_data_fails_cleanly(value, save):
    inputs = [value] if isinstance(value, (bytes, str)) else [
        value, json.dumps(value)]
    for data in inputs:
        try:
            result = cinderlib.load(data, save=save)
        except fuzzing.LOAD_ERRORS:
            continue
        # Only lists of no objects are valid among random data.
        assert fuzzing.loaded_objects(result) == []
