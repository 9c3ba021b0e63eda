"""A short run of bench/stress.py: threads running mixed operations on
their own and on shared volumes, with no error, no disagreement between
persistence and storage, and nothing left once everything is deleted."""

import argparse
import uuid

import pytest
import sqlalchemy
from sqlalchemy import pool

from bench import stress

THREADS = 4
OPS = 50


@pytest.fixture
def fresh_postgresql(postgresql_url):
    """A database of its own on the session's server: the leak check
    looks at every row."""
    admin = sqlalchemy.create_engine(postgresql_url, poolclass=pool.NullPool,
                                     isolation_level='AUTOCOMMIT')
    name = f'stress_{uuid.uuid4().hex[:12]}'
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE {name}')
    yield sqlalchemy.engine.make_url(postgresql_url).set(
        database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE {name} WITH (FORCE)')


def run(scenario, tmp_path, **options):
    args = argparse.Namespace(**dict(
        {'file_persistence': 'memory', 'postgresql': None}, **options))
    driver, persistence = stress.scenario_settings(scenario, str(tmp_path),
                                                   args)
    result = stress.run(scenario, driver, persistence, THREADS, OPS, 7,
                        str(tmp_path))
    assert result['ops'] == THREADS * OPS
    assert result['errors'] == []
    assert result['mismatches'] == []
    assert result['leaks'] == []
    assert not stress.failed(result)
    return result


@pytest.mark.parametrize('persistence', ['memory', 'sqlite'])
def test_file_backend(tmp_path, persistence):
    run('file', tmp_path, file_persistence=persistence)


def test_memory_driver_on_sqlite(tmp_path):
    run('memory-sqlite', tmp_path)


def test_memory_driver_on_postgresql(tmp_path, fresh_postgresql):
    run('memory-postgresql', tmp_path, postgresql=fresh_postgresql)


def test_leaks_are_found(tmp_path, monkeypatch):
    """The check itself: a volume nobody deletes is a leak, on the storage
    and in persistence."""
    cleanup = stress.Worker.cleanup

    def cleanup_but_one(worker):
        cleanup(worker)
        if worker.number == 0:
            worker.backend.create_volume(1, name='left behind')

    monkeypatch.setattr(stress.Worker, 'cleanup', cleanup_but_one)
    args = argparse.Namespace(file_persistence='memory', postgresql=None)
    driver, persistence = stress.scenario_settings('memory-sqlite',
                                                   str(tmp_path), args)
    result = stress.run('memory-sqlite', driver, persistence, 2, 20, 3,
                        str(tmp_path))
    assert len(result['leaks']) == 2 and stress.failed(result)
    assert result['errors'] == [] and result['mismatches'] == []
