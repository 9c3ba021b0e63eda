"""Locks on one resource hold across threads, across processes of a host
(lock files) and across hosts sharing a Redis coordination backend, for
cinderlib's operations and for drivers' own ``coordination.synchronized``
locks.  "Hosts" are processes with lock directories of their own."""

import os
import subprocess
import sys
import threading
import time

import pytest

import cinderlib
from cinderlib import exception
from cinderlib import locks

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
MEMORY_DRIVER = 'tests.memory_driver.MemoryVolumeDriver'
WORKERS = 3
COUNT = 40


def run_workers(tmp_path, kind, lock_dirs, url=None):
    counter = tmp_path / 'counter'
    counter.write_text('0')
    env = dict(os.environ, PYTHONPATH=ROOT)
    workers = [subprocess.Popen(
        [sys.executable, '-m', 'tests.reliability.lock_worker', kind,
         str(counter), str(COUNT), str(lock_dir)] + ([url] if url else []),
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        for lock_dir in lock_dirs]
    for worker in workers:
        _, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err[-3000:]
    return int(counter.read_text())


def test_threads_of_one_process_exclude_each_other(tmp_path, backend):
    counter = {'value': 0}

    def add():
        for _ in range(200):
            with locks.locked('shared-volume'):
                value = counter['value']
                time.sleep(0)
                counter['value'] = value + 1

    threads = [threading.Thread(target=add) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter['value'] == 800


@pytest.mark.parametrize('kind', ['resource', 'driver'])
def test_processes_of_one_host_exclude_each_other(tmp_path, kind):
    lock_dir = tmp_path / 'locks'
    assert run_workers(tmp_path, kind, [lock_dir] * WORKERS) == (
        WORKERS * COUNT)
    # A bounded number of lock files, in the library's own directory.
    assert len(os.listdir(lock_dir / 'cinderlib-locks')) <= locks.STRIPES + 2


@pytest.mark.parametrize('kind', ['resource', 'driver'])
def test_hosts_sharing_redis_exclude_each_other(tmp_path, redis_url, kind):
    lock_dirs = [tmp_path / f'host-{number}' for number in range(WORKERS)]
    assert run_workers(tmp_path, kind, lock_dirs, redis_url) == (
        WORKERS * COUNT)


def test_a_lock_held_by_another_process_is_not_free(tmp_path, backend):
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import sys, time, cinderlib\n'
         'from cinderlib import locks\n'
         'cinderlib.setup(state_path=sys.argv[1])\n'
         f'cinderlib.Backend("l", volume_driver="{MEMORY_DRIVER}")\n'
         'with locks.locked("busy-volume"):\n'
         '    print("held", flush=True)\n'
         '    sys.stdin.readline()\n', str(tmp_path)],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == 'held\n'
        with locks.locked_if_free('busy-volume') as free:
            assert not free
        with locks.locked_if_free('another-volume') as free:
            assert free
    finally:
        holder.communicate('\n', timeout=60)
    with locks.locked_if_free('busy-volume') as free:
        assert free


def test_locks_are_reentrant_and_taken_together(backend):
    with locks.locked('a', 'b'):
        with locks.locked('b'):
            with locks.locked_if_free('a') as free:
                assert free  # the same thread holds it already

    def other_thread():
        with locks.locked_if_free('a') as free:
            seen.append(free)

    seen = []
    with locks.locked('a'):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen == [False, True]


def test_unusable_coordination_backend_is_a_clear_error(tmp_path, backend):
    # (An unreachable Redis gives the same error, after a minute of tooz's
    # retries: too long for the suite.)
    with pytest.raises(exception.CoordinationUnavailable) as raised:
        cinderlib.setup(state_path=str(tmp_path),
                        coordination_backend_url='file:///proc/no-locks')
    assert 'file:///proc/no-locks is unavailable' in str(raised.value)
    # The previous settings stay in force: operations still work.
    assert cinderlib.Backend.global_options().coordination_backend_url is None
    backend.create_volume(1).delete()


def test_coordination_passwords_are_masked_in_errors():
    error = exception.CoordinationUnavailable(
        'redis://:secret@127.0.0.1:1', OSError('refused'))
    assert str(error) == ('Coordination backend redis://:***@127.0.0.1:1 '
                          'is unavailable: OSError: refused')
