"""Fuzzing what the db plugin reads back: rows edited by hand or damaged.

Real volumes (with types, QoS, metadata), snapshots, connections and
key-values are stored, then hypothesis damages one or two rows: any
column of any table gets another value (of another type, another row's,
random text or bytes, numbers), and ``data`` columns also get damaged
JSON (``tests.fuzzing.mutate``) or damaged text.  The rows are then read
as another process would (``get_volumes``, ``get_snapshots``,
``get_connections``, ``get_key_values``, ``backend.volumes``, by id), and
every object returned is used, its lazy attributes loaded, serialized and
loaded back.  Properties:

- the only error a damaged row causes is ``InvalidStoredData`` naming
  that row (``kind`` and ``object_id``); besides it, only what the API
  documents for the call (``NotFound`` for a lazy-loaded object that is
  not stored, ``BackendNotLoaded`` for a backend that is not loaded);
- an object whose row is refused is never half built: it stays unbuilt,
  and raises again on every use;
- whatever is accepted is sound: it serializes to what ``cinderlib.load``
  accepts and loads back to the same.

Each test runs ``CINDERLIB_FUZZ_EXAMPLES`` examples (200 by default); for
a longer run::

    CINDERLIB_FUZZ_EXAMPLES=5000 pytest \\
        tests/persistence/test_fuzz_stored_rows.py
"""

import json

import pytest
import sqlalchemy
from hypothesis import given
from hypothesis import strategies as st

import cinderlib
from cinderlib import exception
from cinderlib import serialization
from cinderlib.persistence import schema
from tests import fuzzing

MEMORY_DRIVER = 'tests.memory_driver.MemoryVolumeDriver'
TABLES = {'volume': schema.volumes, 'snapshot': schema.snapshots,
          'connection': schema.connections, 'key_value': schema.key_values}
TEXT_COLUMNS = ('data', 'type_data')


@pytest.fixture
def stored(tmp_path, connector):
    """A db plugin holding real objects of a loaded backend and of one
    that was unloaded since; returns (plugin, backend, original rows)."""
    cinderlib.setup(state_path=str(tmp_path),
                    persistence_config={'storage': 'memory_db'})
    plugin = cinderlib.Backend.persistence
    backend = cinderlib.Backend('memory', volume_driver=MEMORY_DRIVER,
                                memory_attach_dir=str(tmp_path))
    gone = cinderlib.Backend('gone', volume_driver=MEMORY_DRIVER,
                             memory_attach_dir=str(tmp_path))
    fuzzing.sample_objects(backend, connector)
    fuzzing.sample_objects(gone, connector)
    gone.unload()
    for key, value in (('node-1', json.dumps(connector)), ('plain', 'x'),
                       ('ü', '☃')):
        plugin.set_key_value(cinderlib.KeyValue(key, value))
    with plugin.engine.connect() as conn:
        rows = {kind: [row._asdict() for row in conn.execute(
            table.select())] for kind, table in TABLES.items()}
    return plugin, backend, rows


def primary_key(kind):
    return 'key' if kind == 'key_value' else 'id'


def sql_values(rows, column):
    """Values a hand edit may leave in a column."""
    return st.one_of(
        st.none(), st.integers(-2 ** 63, 2 ** 63 - 1),
        st.floats(allow_nan=False), st.text(max_size=20),
        st.sampled_from(fuzzing.SPECIAL_STRINGS).filter(
            lambda text: text != '\ud800'),
        st.binary(max_size=10),
        st.sampled_from([row[column] for row in rows]))


def damaged_value(data, rows, row, column):
    original = row[column]
    if column in TEXT_COLUMNS and isinstance(original, str) and (
            data.draw(st.integers(0, 3))):
        if data.draw(st.booleans()):
            return fuzzing.mutated_text(data, original)
        tree = fuzzing.mutate(data, json.loads(original))
        try:
            return json.dumps(tree, separators=(',', ':'))
        except ValueError:  # an integer too long for JSON text
            return original
    return data.draw(sql_values(rows, column))


def damage(data, plugin, rows):
    """Damage one or two rows; returns the ids errors may name."""
    named = set()
    for _ in range(data.draw(st.integers(1, 2))):
        kind = data.draw(st.sampled_from(sorted(TABLES)))
        row = data.draw(st.sampled_from(rows[kind]))
        column = data.draw(st.sampled_from(sorted(row)))
        value = damaged_value(data, rows[kind], row, column)
        table = TABLES[kind]
        key = primary_key(kind)
        try:
            with plugin.engine.begin() as conn:
                before = set(conn.execute(table.select()))
                conn.execute(table.update().where(
                    table.c[key] == row[key]).values({column: value}))
                # The row as stored: SQLite stores 0 as '0' in a text
                # column.
                changed = set(conn.execute(table.select())) - before
        except sqlalchemy.exc.SQLAlchemyError:
            continue  # refused by the database (NOT NULL, UNIQUE...)
        named.add(row[key])
        for stored_row in changed:
            named.add(getattr(stored_row, key))
    return named


def restore(plugin, rows):
    with plugin.engine.begin() as conn:
        for kind, table in TABLES.items():
            conn.execute(table.delete())
            if rows[kind]:
                conn.execute(table.insert(), rows[kind])
    forget_live_objects(plugin)


def forget_live_objects(plugin):
    """Read the rows afresh, as another process would."""
    for live in plugin._live.values():
        live.clear()


def kind_of(obj):
    return type(obj).__name__.lower()


def check_refusal(exc, named, obj=None):
    """``exc`` names a damaged row; ``obj``, if it is that row's object,
    was not built and raises again."""
    assert exc.object_id in named, (exc.object_id, named, str(exc))
    assert str(exc)
    if obj is not None and (exc.kind, exc.object_id) == (kind_of(obj),
                                                         obj.id):
        assert '_ovo' not in vars(obj)
        with pytest.raises(exception.InvalidStoredData):
            obj.to_jsons(simplified=True)
        with pytest.raises(exception.InvalidStoredData):
            obj.status


def use(obj, named):
    """Everything a caller does with a stored object, and its round trip
    through cinderlib.load."""
    try:
        fuzzing.exercise(obj)
        if isinstance(obj.backend, serialization.UnloadedBackend):
            with pytest.raises(exception.BackendNotLoaded):
                cinderlib.load(obj.to_jsons(simplified=True))
        else:
            fuzzing.check_round_trip(obj)
    except exception.InvalidStoredData as exc:
        check_refusal(exc, named, obj)


def read_everything(plugin, backend, rows, named):
    reads = [plugin.get_volumes, plugin.get_snapshots,
             plugin.get_connections, lambda: backend.volumes]
    reads += [lambda id=row['id']: plugin.get_volumes(volume_id=id)
              for row in rows['volume']]
    reads += [lambda id=row['id']: plugin.get_snapshots(snapshot_id=id)
              for row in rows['snapshot']]
    for read in reads:
        try:
            found = read()
        except exception.InvalidStoredData as exc:
            check_refusal(exc, named)
            continue
        for obj in found:
            use(obj, named)
    try:
        key_values = plugin.get_key_values()
    except exception.InvalidStoredData as exc:
        check_refusal(exc, named)
    else:
        for key_value in key_values:
            assert isinstance(key_value.key, str)
            assert isinstance(key_value.value, str)


def test_damaged_rows_raise_a_clear_error_or_read_soundly(stored):
    plugin, backend, rows = stored

    @fuzzing.FUZZ_SETTINGS
    @given(st.data())
    def check(data):
        forget_live_objects(plugin)
        try:  # drawing may stop the example half way: restore anyway
            named = damage(data, plugin, rows)
            forget_live_objects(plugin)
            read_everything(plugin, backend, rows, named)
        finally:
            restore(plugin, rows)
    check()


def test_intact_rows_read_soundly(stored):
    plugin, backend, rows = stored
    forget_live_objects(plugin)
    read_everything(plugin, backend, rows, named=set())
