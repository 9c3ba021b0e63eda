"""The db plugin under concurrent use, on every database: processes that
start together on an empty database, threads and plugin instances writing
the same rows, and values larger than MySQL's TEXT."""

import datetime
import os
import sqlite3
import subprocess
import sys
import threading
import uuid

import pytest
import sqlalchemy

import cinderlib
from cinderlib.persistence import dbms
from cinderlib.persistence import migrations
from cinderlib.persistence import schema

MEMORY_DRIVER = 'tests.memory_driver.MemoryVolumeDriver'
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
KINDS = ['sqlite', 'postgresql', 'mysql']


def plugins(url, count):
    """Plugin instances with identity maps of their own, as separate
    processes would have."""
    return [dbms.DBPersistence(url) for _ in range(count)]


def run_threads(target, count):
    errors = []

    def guarded(number):
        try:
            target(number)
        except Exception as exc:  # reported below, with the thread's number
            errors.append(f'{number}: {type(exc).__name__}: {exc}')

    threads = [threading.Thread(target=guarded, args=(number,))
               for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.parametrize('kind', KINDS)
def test_processes_starting_together_on_an_empty_database(empty_database,
                                                          kind):
    url = empty_database(kind)
    code = ('import sys; from cinderlib.persistence import dbms; '
            'dbms.DBPersistence(sys.argv[1])')
    env = dict(os.environ, PYTHONPATH=ROOT)
    starting = [subprocess.Popen([sys.executable, '-c', code, url], env=env,
                                 stderr=subprocess.PIPE, text=True)
                for _ in range(4)]
    failures = [process.communicate(timeout=120)[1][-1500:]
                for process in starting]
    assert [process.returncode for process in starting] == [0] * 4, failures
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.revisions()[-1]
    engine.dispose()


def test_threads_starting_plugins_together(tmp_path):
    url = f'sqlite:///{tmp_path}/threads.sqlite'
    run_threads(lambda number: dbms.DBPersistence(url), 6)


class _RefusingCursor:
    """A cursor on a real SQLite connection whose first ``refusals``
    statements fail as SQLite fails a journal mode switch it refuses at
    once while other connections set up a new file."""

    def __init__(self, path, refusals, message='database is locked'):
        self.cursor = sqlite3.connect(path).cursor()
        self.refusals = refusals
        self.message = message
        self.tries = 0

    def execute(self, statement):
        self.tries += 1
        if self.tries <= self.refusals:
            raise sqlite3.OperationalError(self.message)
        return self.cursor.execute(statement)


def test_the_switch_to_wal_is_tried_again_while_the_file_is_locked(
        tmp_path):
    cursor = _RefusingCursor(str(tmp_path / 'wal.sqlite'), refusals=3)
    dbms._switch_to_wal(cursor)
    assert cursor.tries == 4
    assert cursor.cursor.execute('PRAGMA journal_mode').fetchone() == (
        'wal',)
    other = _RefusingCursor(str(tmp_path / 'other.sqlite'), refusals=1,
                            message='disk I/O error')
    with pytest.raises(sqlite3.OperationalError, match='disk I/O'):
        dbms._switch_to_wal(other)  # only a lock is waited for
    assert other.tries == 1


@pytest.mark.parametrize('kind', KINDS)
def test_writers_of_the_same_volume_lose_nothing(empty_database, tmp_path,
                                                 kind):
    url = empty_database(kind)
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db', 'connection': url})
    backend = cinderlib.Backend('shared', volume_driver=MEMORY_DRIVER)
    volume_id = backend.create_volume(1).id
    writers = plugins(url, 4)

    def write(number):
        plugin = writers[number]
        for step in range(5):
            while True:  # what a caller does on a conflict: re-read, retry
                volume = plugin.get_volumes(volume_id=volume_id)[0]
                volume._ovo.metadata = dict(volume.metadata,
                                            **{f'{number}-{step}': 'x'})
                try:
                    plugin.set_volume(volume)
                    break
                except dbms.PersistenceConflict:
                    # What volume.refresh() does before reading again
                    # (refresh() itself reads through Backend.persistence,
                    # and these writers stand for other processes).
                    volume._forget_local_state()

    run_threads(write, len(writers))
    [stored] = dbms.DBPersistence(url).get_volumes(volume_id=volume_id)
    assert sorted(stored.metadata) == sorted(
        f'{number}-{step}' for number in range(4) for step in range(5))
    for plugin in writers:
        plugin.engine.dispose()


@pytest.mark.parametrize('kind', KINDS)
def test_writers_adding_the_same_key_together(empty_database, kind):
    writers = plugins(empty_database(kind), 6)
    keys = [f'node-{uuid.uuid4()}' for _ in range(5)]

    def write(number):
        for key in keys:
            writers[number].set_key_value(
                cinderlib.KeyValue(key, str(number)))

    run_threads(write, len(writers))
    found = writers[0].get_key_values()
    assert sorted(kv.key for kv in found) == sorted(keys)
    for plugin in writers:
        plugin.engine.dispose()


@pytest.mark.parametrize('kind', KINDS)
def test_large_values_and_microseconds(empty_database, tmp_path, kind):
    url = empty_database(kind)
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db', 'connection': url})
    plugin = cinderlib.Backend.persistence
    backend = cinderlib.Backend('large', volume_driver=MEMORY_DRIVER)
    # More than the 64 KiB of MySQL's TEXT type.
    metadata = {f'key-{number}': 'v' * 250 for number in range(300)}
    volume = backend.create_volume(1, metadata=metadata)
    plugin.set_key_value(cinderlib.KeyValue('large', 'x' * 100000))
    fresh = dbms.DBPersistence(url)
    assert fresh.get_volumes(volume_id=volume.id)[0].metadata == metadata
    assert fresh.get_key_values('large')[0].value == 'x' * 100000
    with fresh.engine.connect() as conn:
        created = conn.execute(sqlalchemy.select(
            schema.volumes.c.created_at)).scalar_one()
    expected = volume.created_at.astimezone(datetime.timezone.utc)
    assert created == expected.replace(tzinfo=None)
    fresh.engine.dispose()
    plugin.engine.dispose()
