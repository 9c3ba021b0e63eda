"""load() checks its input at once and builds the Cinder objects on first
use: what is built then, and when, from any thread."""

import json
import sys
import threading

import pytest

import cinderlib
from cinderlib import serialization
from cinderlib.cinder import ovo as cinder_ovo


@pytest.fixture
def populated(volume, connector):
    snapshot = volume.create_snapshot(name='snap')
    connection = volume.connect(connector)
    return volume, snapshot, connection


def members(loaded):
    """The objects one load() made: the object, and its volume or its
    snapshots and connections."""
    if isinstance(loaded, cinderlib.Volume):
        return [loaded, *(loaded._snapshots or []),
                *(loaded._connections or [])]
    volume = loaded._volume
    return [loaded] + ([volume] if volume is not None else [])


def built(obj):
    return '_ovo' in vars(obj)


def state(obj):
    """What use sees of a loaded object's Cinder object."""
    ovo = obj._ovo
    return {'changed': sorted(ovo.obj_what_changed()),
            'set': sorted(name for name in ovo.fields
                          if ovo.obj_attr_is_set(name)),
            'primitive': cinder_ovo.to_primitive(ovo)}


SERIALIZED = {
    'volume': lambda volume, snapshot, connection: volume.dumps,
    'simplified volume': lambda v, s, c: v.to_jsons(),
    'snapshot': lambda v, snapshot, c: snapshot.jsons,
    'simplified snapshot': lambda v, snapshot, c: snapshot.to_jsons(),
    'connection': lambda v, s, connection: connection.jsons,
    'simplified connection': lambda v, s, connection: connection.to_jsons()}


@pytest.mark.parametrize('form', SERIALIZED)
def test_nothing_is_built_until_first_use(populated, form):
    text = SERIALIZED[form](*populated)
    loaded = cinderlib.load(text)
    group = members(loaded)
    assert not any(built(obj) for obj in group)
    # Read from the checked primitive: still nothing built.
    assert [obj.id for obj in group] == [
        obj.id for obj in members(cinderlib.load(text))]
    if not isinstance(loaded, cinderlib.Volume):
        assert loaded.volume_id == populated[0].id
    assert not any(built(obj) for obj in group)
    loaded.deleted  # first use of one: all are built, together
    assert all(built(obj) and '_stored' not in vars(obj) for obj in group)


@pytest.mark.parametrize('form', SERIALIZED)
def test_objects_built_on_first_use_are_those_load_built(populated, form):
    """Whichever object of a load is used first, each is built as load()
    built it before it was lazy: the same fields set, the same changes
    tracked (pinned here as they were), the same objects shared."""
    text = SERIALIZED[form](*populated)
    first = members(cinderlib.load(text))
    states = [state(obj) for obj in first]  # the loaded object used first
    for index in range(1, len(first)):
        group = members(cinderlib.load(text))
        group[index]._ovo  # another object of the load used first
        assert [state(obj) for obj in group] == states
    loaded = first[0]
    if isinstance(loaded, cinderlib.Volume):
        ovo = loaded._ovo
        assert not ovo.obj_attr_is_set('snapshots')
        if loaded._connections is None:
            assert list(ovo.volume_attachment) == []  # as load() left it
        else:
            assert all(a is c._ovo for a, c in zip(ovo.volume_attachment,
                                                   loaded._connections))
        for snapshot in loaded._snapshots or ():
            assert snapshot._ovo.volume is ovo
            assert snapshot._ovo.obj_what_changed() == {'volume'}
        for connection in loaded._connections or ():
            assert not connection._ovo.obj_attr_is_set('volume')
    elif isinstance(loaded, cinderlib.Snapshot) and loaded._volume:
        assert loaded._ovo.volume is loaded._volume._ovo
        assert loaded._ovo.obj_what_changed() == {'volume'}
    assert all(not obj._ovo.obj_what_changed() for obj in first
               if not isinstance(obj, cinderlib.Snapshot))


def test_first_use_from_many_threads_builds_once(populated, monkeypatch):
    """Threads using objects of one load at once wait for one build: they
    all get the same Cinder objects, complete."""
    builds = []
    real = serialization._build_volume

    def slow_build(primitive, context):
        builds.append(1)
        # Others now try to use the objects: they must wait, not build.
        threading.Event().wait(0.05)
        return real(primitive, context)

    monkeypatch.setattr(serialization, '_build_volume', slow_build)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(5):
            builds.clear()
            volume = cinderlib.load(populated[0].dumps)
            group = members(volume)
            seen = [[] for _ in group]
            barrier = threading.Barrier(len(group) * 3)

            def use(index):
                barrier.wait()
                obj = group[index]
                ovo = obj._ovo
                seen[index].append((ovo, list(ovo.volume_attachment)
                                    if index == 0 else ovo.get(
                                        'volume', None)))

            threads = [threading.Thread(target=use, args=(i,))
                       for i in range(len(group)) for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert builds == [1]
            for index, obj in enumerate(group):
                assert all(ovo is obj._ovo for ovo, _ in seen[index])
            assert all(attachments == [volume._connections[0]._ovo]
                       for _, attachments in seen[0])
            snapshot_index = 1
            assert all(held is volume._ovo
                       for _, held in seen[snapshot_index])
    finally:
        sys.setswitchinterval(interval)


def test_changes_after_load_are_dumped(populated):
    volume = populated[0]
    loaded = cinderlib.load(volume.dumps)
    loaded.extend(2)
    loaded.name = 'renamed'
    data = json.loads(loaded.dumps)['ovo']['versioned_object.data']
    assert (data['size'], data['display_name']) == (2, 'renamed')
    connection = cinderlib.load(volume.dumps).connections[0]
    connection.connection_info['conn']['data']['extra'] = 'x'
    assert json.loads(connection.jsons)['ovo']['versioned_object.data'][
        'connection_info']['conn']['data']['extra'] == 'x'


def test_unused_loaded_objects_dump_as_built(populated):
    """An object not used since it was loaded serializes as the object
    built from its input: dates in this library's form, this Cinder's
    versions."""
    volume = populated[0]
    data = json.loads(volume.dumps)
    fields = data['ovo']['versioned_object.data']
    fields['created_at'] = '2024-01-02T03:04:05Z'
    data['ovo']['versioned_object.version'] = '1.0'
    unused = cinderlib.load(json.dumps(data))
    text = unused.dumps
    assert not built(cinderlib.load(json.dumps(data)))
    again = cinderlib.load(json.dumps(data))
    again._ovo
    assert text == again.dumps
    dumped = json.loads(text)['ovo']
    assert dumped['versioned_object.version'] == volume._ovo.VERSION
    assert dumped['versioned_object.data']['created_at'] == (
        '2024-01-02T03:04:05+00:00')


def test_refresh_before_first_use_takes_the_stored_object(populated):
    volume = populated[0]
    loaded = cinderlib.load(volume.dumps)
    volume.name = 'stored since'
    volume.save()
    loaded.refresh()
    assert loaded.name == 'stored since'
    assert json.loads(loaded.dumps)['ovo']['versioned_object.data'][
        'display_name'] == 'stored since'


@pytest.mark.parametrize('first', ['connections', 'attribute'])
def test_connections_read_before_first_use_are_the_volumes(populated,
                                                           first):
    """A volume loaded without its connections (simplified form) reads
    them from persistence before its Cinder object is first built: its
    attachment list is theirs, as when it was built at load (Ember-CSI
    removes a connection from both)."""
    volume = populated[0]
    loaded = cinderlib.load(volume.to_jsons())
    loaded._set_children(None, cinderlib.Backend.persistence.get_connections(
        volume_id=volume.id))
    if first == 'connections':
        connections = loaded.connections
    else:
        loaded.status
        connections = loaded._connections
    attachments = loaded._ovo.volume_attachment.objects
    assert len(attachments) == 1
    assert all(a is c._ovo for a, c in zip(attachments, connections))
    assert not loaded._ovo.obj_what_changed()
