"""How many statements and commits each operation costs the db plugin.

Every commit of an SQLite file in WAL mode writes the pages it changed,
and every statement goes through SQLAlchemy: these counts are most of an
operation's time (bench/compare_retired.py), so a change that adds one
shows here.  An acknowledged operation is still committed before it
returns (tests/reliability/test_crash.py kills processes to check it).
"""

import collections

import pytest
import sqlalchemy

import cinderlib

MEMORY_DRIVER = 'tests.memory_driver.MemoryVolumeDriver'
CONNECTOR = {'host': 'node-1', 'initiator': 'iqn.2026-11.test:count'}


class Counter:
    """Statements and commits the plugin's engine runs.  Statements are
    counted as SQLite runs them (its trace callback, set on every
    connection checked out), as the plugin sends some on the DB-API
    cursor, bypassing SQLAlchemy's events; the transaction statements
    the driver adds are left out, commits counted separately."""

    def __init__(self, engine):
        self.counts = collections.Counter()
        sqlalchemy.event.listen(engine, 'checkout', self._checkout)
        sqlalchemy.event.listen(engine, 'commit', self._commit)

    def _checkout(self, dbapi_connection, record, proxy):
        dbapi_connection.set_trace_callback(self._statement)

    def _statement(self, statement):
        if statement.split(None, 1)[0].upper() not in (
                'BEGIN', 'COMMIT', 'ROLLBACK'):
            self.counts['statements'] += 1

    def _commit(self, conn):
        self.counts['commits'] += 1

    def __call__(self, operation):
        self.counts.clear()
        result = operation()
        return result, dict(self.counts)


@pytest.fixture
def counted(tmp_path):
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db',
        'connection': f'sqlite:///{tmp_path}/count.sqlite'})
    backend = cinderlib.Backend('count', volume_driver=MEMORY_DRIVER,
                                memory_attach_dir=str(tmp_path),
                                memory_read_db=False)
    counter = Counter(cinderlib.Backend.persistence.engine)
    backend.create_volume(1, name='warm-up')
    return backend, counter


def test_create_is_two_commits(counted):
    backend, count = counted
    volume, counts = count(lambda: backend.create_volume(1, name='new'))
    # The creating row, its type in it, committed before the driver
    # runs; the available row.  No existence check for a new random id.
    assert counts == {'statements': 2, 'commits': 2}
    assert volume.status == 'available'
    # A given id is looked up first (refused if stored).
    given = '0b0a7b33-08f7-4c6c-8d2b-a1e2e5b0e9d4'
    volume, counts = count(lambda: backend.create_volume(1, id=given))
    assert counts == {'statements': 3, 'commits': 2}
    assert volume.id == given


def test_clone_is_two_commits(counted):
    backend, count = counted
    source = backend.create_volume(1, name='source')
    _, counts = count(lambda: source.clone(name='copy'))
    # The source's version, then as create.
    assert counts == {'statements': 3, 'commits': 2}


def test_connect_is_two_commits(counted):
    backend, count = counted
    volume = backend.create_volume(1, name='connected')
    connection, counts = count(lambda: volume.connect(CONNECTOR))
    # The volume's version and its connections; the attaching connection,
    # committed before the driver exports; then the attached connection
    # and the in-use volume together.
    assert counts['commits'] == 2
    assert connection.attach_status == 'attached'
    assert volume.status == 'in-use'


def test_lookups_are_one_statement(counted):
    backend, count = counted
    volume = backend.create_volume(1, name='wanted')
    found, counts = count(lambda: cinderlib.Volume.get_by_id(volume.id))
    assert found is volume and counts == {'statements': 1}
    found, counts = count(lambda: cinderlib.Volume.get_by_name('wanted'))
    assert found == [volume] and counts == {'statements': 1}
