"""What must not depend on the Cinder release: the JSON the library
writes, which loads under every supported release, and the ``db`` plugin's
schema.

Each supported release wrote a sample of objects (a volume with metadata,
extra specs and QoS specs, its snapshot and connection, as ``json``,
simplified JSON and ``jsons``) and the schema the ``db`` plugin created,
into ``releases/cinder-NN.json``; every run loads all of them.  In the
matrix (``tools/matrix.py run``) each cell also writes its own sample to
``$CINDERLIB_CROSS_RELEASE_DIR``, and once every cell has run, one cell of
each release loads the samples of all the others and compares their
schemas (the ``every_release`` tests): JSON written under 27 is read
under 29, and back.  ``tools/matrix.py run --update-fixtures`` refreshes
``releases/``.
"""

import copy
import datetime
import glob
import json
import os
import platform
from importlib import metadata

import pytest
import sqlalchemy

import cinderlib
from cinderlib import exception
from cinderlib.cinder import primitives
from cinderlib.persistence import migrations

HERE = os.path.dirname(os.path.abspath(__file__))
COMMITTED = os.path.join(HERE, 'releases')
CROSS_RELEASE_DIR = os.environ.get('CINDERLIB_CROSS_RELEASE_DIR')
# Fields of the primitives that are compared after a round trip: every
# one the library sets, or that a caller reads.
SAMPLE_FIELDS = ('id', 'display_name', 'display_description', 'size',
                 'status', 'attach_status', 'metadata', 'admin_metadata',
                 'volume_type_id', 'host', 'availability_zone',
                 'created_at', 'project_id', 'user_id', 'multiattach',
                 'volume_id', 'volume_size', 'progress', 'attach_mode',
                 'attached_host', 'connection_info', 'connector')


def _data(primitive):
    return primitive['versioned_object.data']


def write_sample(backend, connector, tmp_path):
    """The sample of this release: JSON of populated objects, and the
    db plugin's schema."""
    volume = backend.create_volume(
        1, name='cross-release', description='written under one release',
        metadata={'k': 'v'}, extra_specs={'spec': 'value'},
        qos_specs={'total_iops_sec': '1000'})
    snapshot = volume.create_snapshot(name='snap')
    connection = volume.connect(connector)
    return {
        'cinder': metadata.version('cinder'),
        'python': platform.python_version(),
        'cell': os.environ.get('CINDERLIB_MATRIX_CELL'),
        'volume': volume.json,
        'volume_simplified': volume.to_json(simplified=True),
        'volume_jsons': volume.jsons,
        'snapshot': snapshot.json,
        'connection': connection.json,
        'schema': db_schema(tmp_path),
    }


def db_schema(tmp_path):
    """The tables, columns, keys and indexes the db plugin creates, and
    Alembic revision (on SQLite)."""
    url = f'sqlite:///{tmp_path}/schema.sqlite'
    cinderlib.Backend.set_persistence({'storage': 'db', 'connection': url})
    try:
        engine = sqlalchemy.create_engine(url)
        inspector = sqlalchemy.inspect(engine)
        schema = {}
        for table in sorted(inspector.get_table_names()):
            schema[table] = {
                'columns': [[c['name'], str(c['type']), c['nullable']]
                            for c in inspector.get_columns(table)],
                'primary_key': inspector.get_pk_constraint(table)[
                    'constrained_columns'],
                'indexes': sorted([i['name'], i['column_names'],
                                   bool(i['unique'])]
                                  for i in inspector.get_indexes(table)),
            }
        with engine.connect() as connection:
            schema['revision'] = connection.execute(sqlalchemy.text(
                f'SELECT version_num FROM {migrations.VERSION_TABLE}')
            ).scalars().all()
        engine.dispose()
        return schema
    finally:
        cinderlib.Backend.set_persistence({'storage': 'memory'})


def samples():
    """{where: sample} of the committed samples and the matrix's."""
    paths = [(f'releases/{os.path.basename(path)}', path) for path in
             sorted(glob.glob(os.path.join(COMMITTED, '*.json')))]
    if CROSS_RELEASE_DIR:
        paths += [(f'this matrix run\'s {os.path.basename(path)}', path)
                  for path in sorted(glob.glob(
                      os.path.join(CROSS_RELEASE_DIR, '*.json')))]
    found = {}
    for where, path in paths:
        with open(path, encoding='utf-8') as stream:
            found[where] = json.load(stream)
    return found


def check_loads(sample):
    """Load a sample's JSON under this release, and compare."""
    volume = cinderlib.load(sample['volume'])
    written = _data(sample['volume']['ovo'])
    assert volume.id == written['id']
    assert volume.name == 'cross-release'
    assert volume.metadata == {'k': 'v'}
    assert volume.volume_type.extra_specs == {'spec': 'value'}
    assert dict(volume.volume_type.qos_specs.specs) == {
        'total_iops_sec': '1000'}
    assert [s.id for s in volume.snapshots] == [
        _data(sample['snapshot']['ovo'])['id']]
    assert [c.id for c in volume.connections] == [
        _data(sample['connection']['ovo'])['id']]
    for key in ('volume', 'snapshot', 'connection'):
        loaded = cinderlib.load(sample[key])
        before, after = _data(sample[key]['ovo']), _data(loaded.json['ovo'])
        for name in SAMPLE_FIELDS:
            if name in before:
                assert after.get(name) == before[name], (key, name)
    simplified = cinderlib.load(sample['volume_simplified'])
    assert simplified.id == volume.id
    from_text = cinderlib.load(sample['volume_jsons'])
    assert from_text.created_at == volume.created_at
    connection = cinderlib.load(sample['connection'])
    assert connection.connector_info == _data(
        sample['connection']['ovo'])['connector']


def test_json_round_trip_in_this_release(backend, connector, tmp_path):
    sample = write_sample(backend, connector, tmp_path)
    sample = json.loads(json.dumps(sample))
    cinderlib.Backend.set_persistence({'storage': 'memory'})
    check_loads(sample)
    if CROSS_RELEASE_DIR:
        # Whole or not at all: cells running at the same time read it.
        name = sample['cell'] or f'cinder-{sample["cinder"]}'
        path = os.path.join(CROSS_RELEASE_DIR, f'{name}.json')
        with open(path + '.tmp', 'w', encoding='utf-8') as stream:
            json.dump(sample, stream, indent=1, sort_keys=True)
        os.replace(path + '.tmp', path)


def test_json_of_every_release_loads(backend):
    found = samples()
    releases = {sample['cinder'].split('.')[0] for sample in found.values()}
    # The committed samples: one of each supported release.
    assert {'27', '28', '29'} <= releases, sorted(found)
    for where, sample in found.items():
        cinderlib.Backend.set_persistence({'storage': 'memory'})
        try:
            check_loads(sample)
        except Exception as exc:
            raise AssertionError(
                f'JSON of {where} (Cinder {sample["cinder"]}, Python '
                f'{sample["python"]}) does not load under Cinder '
                f'{metadata.version("cinder")}: {exc!r}') from exc


def test_db_schema_is_the_same_under_every_release(tmp_path):
    """Compared with the schemas of this matrix run's cells (the same code
    under each release) or, outside a matrix run, with the committed
    samples of the same Alembic revision (a new revision makes them
    outdated until ``--update-fixtures``)."""
    here = json.loads(json.dumps(db_schema(tmp_path)))
    found = samples()
    if CROSS_RELEASE_DIR:
        found = {where: sample for where, sample in found.items()
                 if where.startswith('this matrix run')}
    else:
        found = {where: sample for where, sample in found.items()
                 if sample['schema']['revision'] == here['revision']}
        if not found:
            pytest.skip(f'no committed sample of revision '
                        f'{here["revision"]}: refresh them with '
                        f'tools/matrix.py run --update-fixtures')
    for where, sample in found.items():
        assert sample['schema'] == here, (
            f'the db plugin created another schema under Cinder '
            f'{metadata.version("cinder")} than {where} records')


def _future(primitive):
    """``primitive`` as a newer Cinder might write it: every object one
    minor version ahead, with a field this release does not have."""
    newer = copy.deepcopy(primitive)
    stack = [newer]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if 'versioned_object.version' in item:
                major, minor = item['versioned_object.version'].split('.')
                item['versioned_object.version'] = f'{major}.{int(minor) + 1}'
                item['versioned_object.data']['field_of_the_future'] = 'x'
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return newer


def test_objects_of_a_newer_minor_version_load(volume, connector):
    volume.create_snapshot(name='snap')
    volume.connect(connector)
    data = copy.deepcopy(volume.json)
    data['ovo'] = _future(data['ovo'])
    cinderlib.Backend.set_persistence({'storage': 'memory'})
    loaded = cinderlib.load(data)
    assert loaded.id == volume.id
    assert len(loaded.snapshots) == len(loaded.connections) == 1
    # Written back in this release's versions.
    assert loaded.json['ovo']['versioned_object.version'] == (
        volume.json['ovo']['versioned_object.version'])


def test_objects_of_another_major_version_are_refused(volume):
    data = copy.deepcopy(volume.json)
    data['ovo']['versioned_object.version'] = '2.0'
    with pytest.raises(exception.InvalidSerializedData,
                       match='Volume.*2.0'):
        cinderlib.load(data)


@pytest.mark.parametrize('text, expected', [
    ('2024-01-02T03:04:05Z', datetime.datetime(
        2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)),
    ('2024-01-02T03:04:05.5+01:00', datetime.datetime(
        2024, 1, 2, 3, 4, 5, 500000,
        tzinfo=datetime.timezone(datetime.timedelta(hours=1)))),
    ('2024-01-02T03:04:05.1234567', datetime.datetime(
        2024, 1, 2, 3, 4, 5, 123456)),
    ('2024-01-02T03:04:05', datetime.datetime(2024, 1, 2, 3, 4, 5)),
])
def test_datetimes_read_alike_on_every_python(text, expected):
    """What the retired library wrote (oslo's ``...Z``) reads on Python
    3.10 as on 3.11+."""
    assert primitives.parse_datetime(text) == expected


@pytest.mark.parametrize('text', ['2024-13-01T00:00:00Z', 'soon', '',
                                  '2024-01-02T03:04:05+25:00'])
def test_bad_datetimes_fail_alike_on_every_python(text):
    with pytest.raises(ValueError):
        primitives.parse_datetime(text)
