"""Locks on one resource hold across threads, across processes of a host
(lock files) and across hosts sharing a Redis coordination backend, for
cinderlib's operations and for drivers' own ``coordination.synchronized``
locks.  "Hosts" are processes with lock directories of their own."""

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import zlib

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


def ids_on_stripe(stripe, count, taken=()):
    """``count`` new UUIDs whose lock file is number ``stripe``."""
    found = []
    while len(found) < count:
        candidate = str(uuid.uuid4())
        if (zlib.crc32(candidate.encode()) % locks.STRIPES == stripe and
                candidate not in taken):
            found.append(candidate)
    return found


@pytest.mark.parametrize('kind', ['clone', 'snapshot'])
def test_crossing_operations_of_two_processes_do_not_deadlock(
        tmp_path, kind):
    # Worker 1 makes a volume on stripe B from a source on stripe A,
    # worker 2 one on stripe A from a source on stripe B: taking the
    # source's lock file first and the new volume's after would deadlock.
    lock_dir = tmp_path / 'locks'
    a_source, a_new = ids_on_stripe(7, 2)
    b_source, b_new = ids_on_stripe(900, 2)
    workers = [subprocess.Popen(
        [sys.executable, '-m', 'tests.reliability.cross_worker',
         str(lock_dir), kind, source, new],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
        for source, new in ((a_source, b_new), (b_source, a_new))]
    try:
        for worker in workers:
            assert worker.stdout.readline() == 'ready\n', (
                worker.communicate(timeout=60)[1][-3000:])
        for worker in workers:
            worker.stdin.write('\n')
            worker.stdin.flush()
        # Each waits at most for the other's two pauses if they do not
        # deadlock; a deadlock never ends.
        deadline = time.monotonic() + 30
        for worker in workers:
            try:
                out, err = worker.communicate(
                    timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f'the two {kind} operations deadlocked')
            assert worker.returncode == 0, err[-3000:]
            assert out == 'done\n'
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    names = os.listdir(lock_dir / 'cinderlib-locks')
    assert {'cinderlib-lock-0007', 'cinderlib-lock-0900'} <= set(names)


def test_locked_if_free_does_not_wait_behind_a_waiting_thread(
        tmp_path, backend):
    # X and Y share a lock file.  Another process holds X; a thread of
    # this process waits for Y, so for that file.  Asking whether X is
    # free answers at once: it is not (the other process holds it).
    x, y = ids_on_stripe(33, 2)
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import select, sys, cinderlib\n'
         'from cinderlib import locks\n'
         'cinderlib.setup(state_path=sys.argv[1])\n'
         f'cinderlib.Backend("l", volume_driver="{MEMORY_DRIVER}")\n'
         'with locks.locked(sys.argv[2]):\n'
         '    print("held", flush=True)\n'
         '    select.select([sys.stdin], [], [], 5)\n',  # at most 5 s
         str(tmp_path), x],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    got_y = threading.Event()

    def wait_for_y():
        with locks.locked(y):
            got_y.set()

    try:
        assert holder.stdout.readline() == 'held\n'
        waiter = threading.Thread(target=wait_for_y)
        waiter.start()
        time.sleep(0.5)  # the waiter is in flock() by now
        assert not got_y.is_set()
        start = time.monotonic()
        with locks.locked_if_free(x) as free:
            assert not free
        assert time.monotonic() - start < 0.3
    finally:
        holder.communicate('\n', timeout=60)
    waiter.join(timeout=60)
    assert got_y.is_set()
    # Once the file is this process's, the threads share it.
    with locks.locked(y):
        with locks.locked_if_free(x) as free:
            assert free


def test_open_lock_files_are_closed_when_released(tmp_path, backend):
    lock_dir = str(tmp_path / 'cinderlib-locks')
    volumes = [backend.create_volume(1) for _ in range(20)]
    volumes[0].clone().delete()
    for volume in volumes:
        volume.extend(2)
        volume.create_snapshot().delete()
        volume.delete()
    assert len(os.listdir(lock_dir)) > 20  # files are kept...
    assert open_lock_files() == []  # ...but none stays open
    with locks.locked(volumes[0].id, volumes[1].id):
        assert len(open_lock_files()) == 2
    assert open_lock_files() == []


def test_a_soak_run_keeps_a_flat_count_of_descriptors(tmp_path):
    # 3,000 operations on random volumes touch every lock file several
    # times: with the files kept open they would need ~1,000 descriptors.
    work = tmp_path / 'soak'
    work.mkdir()
    run = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'bench', 'lock_soak.py'),
         '--operations', '3000', '--samples', '10', '--nofile', '128',
         '--seed', '11'],
        cwd=work, capture_output=True, text=True, timeout=280)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    counts = [int(line.partition('open_fds=')[2])
              for line in run.stdout.splitlines() if 'open_fds=' in line]
    assert len(counts) >= 10
    assert max(counts) - min(counts) <= 4, counts
    assert os.listdir(work) == []


def test_a_lock_taken_while_holding_another_is_refused(backend):
    # The suite runs with the check: any operation doing it fails.
    assert locks.CHECK_ORDER
    with locks.locked('b'):
        with locks.locked('b'):  # re-entering is fine
            pass
        with pytest.raises(locks.LockOrderError, match=(
                'locking a while holding b: an operation must take all its '
                'locks in one locked')):
            with locks.locked('a'):
                pass
        with locks.locked_if_free('a') as free:  # never waits: allowed
            assert free
            with locks.locked('a', 'b'):  # held: re-entered
                pass
    with locks.locked('a', 'b'):
        pass


def test_operations_take_their_locks_at_once(backend):
    # (Before, clone() took the new volume's lock inside the source's.)
    volume = backend.create_volume(1)
    clone = volume.clone(size=2)
    snapshot = clone.create_snapshot()
    from_snapshot = snapshot.create_volume()
    assert {clone.status, from_snapshot.status} == {'available'}
    assert clone.source_volid == volume.id
    for resource in (from_snapshot, snapshot, clone, volume):
        resource.delete()


def test_a_removed_lock_directory_is_made_again(tmp_path, backend):
    # Lock files are opened for each operation now: a clean-up that
    # removed the directory of a long-running process must not break it.
    volume = backend.create_volume(1)
    shutil.rmtree(tmp_path / 'cinderlib-locks')
    volume.extend(2)
    assert (tmp_path / 'cinderlib-locks').stat().st_mode & 0o777 == 0o700
    volume.delete()


def test_every_lock_file_can_be_made_beforehand(tmp_path, backend):
    lock_dir = tmp_path / 'cinderlib-locks'

    def lock_files():
        return [name for name in os.listdir(lock_dir)
                if name.startswith('cinderlib-lock-')]

    volume = backend.create_volume(1)
    volume.extend(2)  # makes its file
    assert len(lock_files()) == 1
    assert locks.make_lock_files() == locks.STRIPES - 1
    assert len(lock_files()) == locks.STRIPES
    assert {(lock_dir / name).stat().st_mode & 0o777
            for name in lock_files()} == {0o600}
    assert locks.make_lock_files() == 0
    with locks.locked(volume.id):  # the file the operations use
        held = locks._stripe(volume.id).path
        assert os.path.dirname(held) == str(lock_dir)
        with open(held) as other:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    volume.delete()
    assert len(lock_files()) == locks.STRIPES


def lock_holder(tmp_path, resource_id):
    """Another process that holds the lock of ``resource_id`` (it prints
    ``held``) until a line is written to its stdin."""
    return subprocess.Popen(
        [sys.executable, '-c', 'import sys, cinderlib\n'
         'from cinderlib import locks\n'
         'cinderlib.setup(state_path=sys.argv[1])\n'
         f'cinderlib.Backend("l", volume_driver="{MEMORY_DRIVER}")\n'
         'with locks.locked(sys.argv[2]):\n'
         '    print("held", flush=True)\n'
         '    sys.stdin.readline()\n', str(tmp_path), resource_id],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def test_new_objects_of_the_memory_plugin_take_no_lock_file(
        tmp_path, backend, monkeypatch):
    # Another process holds the lock file of stripe 77.  Objects made with
    # a new random id on that stripe are still created: the memory plugin
    # keeps them in this process, so no other process can know their id
    # (they are locked among this process's threads).  Once stored, and
    # for an id the caller gives, the lock file is taken as before.
    from cinderlib.objects import base as objects_base
    source = backend.create_volume(1, id=ids_on_stripe(78, 1)[0])
    base_snapshot = source.create_snapshot(id=ids_on_stripe(79, 1)[0])
    busy, *new_ids = ids_on_stripe(77, 6)
    made = iter(new_ids[:4])
    monkeypatch.setattr(objects_base, 'new_uuid4', lambda: next(made))
    holder = lock_holder(tmp_path, busy)
    results = {}
    made_here = given = None

    def run(name, operation):
        thread = threading.Thread(
            target=lambda: results.setdefault(name, operation()))
        thread.start()
        return thread

    try:
        assert holder.stdout.readline() == 'held\n'
        made_here = run('new', lambda: [
            backend.create_volume(1), source.clone(),
            source.create_snapshot(), base_snapshot.create_volume()])
        made_here.join(timeout=20)
        assert not made_here.is_alive(), (
            'a new object waited for a lock file')
        assert [obj.id for obj in results['new']] == new_ids[:4]
        with locks.locked_if_free(new_ids[0]) as free:
            assert not free  # stored: its lock file is the other's
        given = run('given', lambda: backend.create_volume(
            1, id=new_ids[4]))
        given.join(timeout=0.5)
        assert given.is_alive()  # waits for the lock file
    finally:
        holder.communicate('\n', timeout=60)
        for thread in (made_here, given):
            if thread is not None:
                thread.join(timeout=60)
    assert results['given'].id == new_ids[4]
    assert {obj.status for obj in results['new']} == {'available'}


def test_new_objects_of_a_shared_plugin_take_their_lock_file(
        tmp_path, monkeypatch):
    # With the db plugin other processes read the record of a volume
    # being created (recover() leaves it alone while its lock is held):
    # its new id's lock file is taken from the start.
    from cinderlib.objects import base as objects_base
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db', 'connection': f'sqlite:///{tmp_path}/s.sqlite'})
    backend = cinderlib.Backend('memory', volume_driver=MEMORY_DRIVER,
                                memory_attach_dir=str(tmp_path))
    busy, new_id = ids_on_stripe(77, 2)
    monkeypatch.setattr(objects_base, 'new_uuid4', lambda: new_id)
    holder = lock_holder(tmp_path, busy)
    made = []
    thread = None
    try:
        assert holder.stdout.readline() == 'held\n'
        thread = threading.Thread(
            target=lambda: made.append(backend.create_volume(1)))
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive()  # waits for the lock file
    finally:
        holder.communicate('\n', timeout=60)
        if thread is not None:
            thread.join(timeout=60)
    assert made[0].id == new_id and made[0].status == 'available'


def test_a_failed_acquisition_leaves_nothing_held(backend):
    # A distributed lock that is busy, or that fails, gives back the
    # lock files and thread locks taken before it: for one id (the path
    # most operations take) as for several.
    released = []

    class Remote:
        def __init__(self, resource_id):
            self.id = resource_id

        def acquire(self, blocking=True):
            if self.id.endswith('busy'):
                return False
            if self.id.endswith('broken'):
                raise RuntimeError('coordination backend down')
            return True

        def release(self):
            released.append(self.id)

    directory = locks._Settings.directory
    locks.configure(directory, distributed=Remote)
    ids = ['one-busy', 'two-broken', 'a-free', 'b-busy', 'c-free',
           'd-broken']
    try:
        for held in (['one-busy'], ['a-free', 'b-busy']):
            with locks.locked_if_free(*held) as free:
                assert not free
        for held in (['two-broken'], ['c-free', 'd-broken']):
            with pytest.raises(RuntimeError, match='backend down'):
                with locks.locked(*held):
                    pass
        assert released == ['a-free', 'c-free']
        with locks.locked('a-free', 'c-free'):
            pass
        assert released == ['a-free', 'c-free', 'c-free', 'a-free']
        # A backend may answer a request that waits with no: the block
        # must not run unlocked.
        for held in (['one-busy'], ['a-free', 'b-busy']):
            with pytest.raises(exception.CoordinationUnavailable,
                               match='did not grant the lock of'):
                with locks.locked(*held):
                    raise AssertionError('ran without its locks')
        assert released[4:] == ['a-free']
    finally:
        locks.configure(directory)
    for resource_id in ids:
        stripe = locks._stripe(resource_id)
        assert (stripe.users, stripe.fd, stripe.taking) == (0, None, None)
        assert resource_id not in locks._locks
    assert free_in_another_thread(ids)


def free_in_another_thread(resource_ids):
    """Whether another thread finds each resource free."""
    seen = []

    def ask():
        for resource_id in resource_ids:
            with locks.locked_if_free(resource_id) as free:
                seen.append(free)

    thread = threading.Thread(target=ask)
    thread.start()
    thread.join(60)
    return seen == [True] * len(resource_ids)


def test_the_registry_keeps_the_locks_in_use_only(backend):
    # A lock is shared while a thread holds or waits for it, then
    # forgotten: the registry does not grow with every id ever locked.
    entered, leave = threading.Event(), threading.Event()
    waited = []

    def holder():
        with locks.locked('kept'):
            entered.set()
            leave.wait(60)

    def waiter():
        with locks.locked('kept', 'other'):
            waited.append(locks._locks['kept'] is shared)

    first = threading.Thread(target=holder)
    first.start()
    assert entered.wait(60)
    shared = locks._locks['kept']
    second = threading.Thread(target=waiter)
    second.start()
    while shared.users < 2:  # the waiter asked for it
        time.sleep(0.01)
    leave.set()
    first.join(60)
    second.join(60)
    assert waited == [True]
    with pytest.raises(ValueError):
        with locks.locked('failed', 'other'):
            raise ValueError('in the block')
    with locks.locked('x'):
        with pytest.raises(locks.LockOrderError):
            with locks.locked('y'):
                pass
        with locks.locked_if_free('z') as free:
            assert free
    assert not {'kept', 'other', 'failed', 'x', 'y', 'z'} & set(locks._locks)


def test_without_the_order_check_locks_behave_the_same(backend,
                                                       monkeypatch):
    # Only the check uses the thread's list of held ids: without it (the
    # default outside the tests) the list is not kept, and turning the
    # check on or off while holding locks leaves their release right.
    monkeypatch.setattr(locks, 'CHECK_ORDER', False)
    volume = backend.create_volume(1)
    with locks.locked(volume.id):
        with locks.locked(volume.id, 'other'):  # no check: allowed
            assert locks._thread_holds() == {}
        monkeypatch.setattr(locks, 'CHECK_ORDER', True)
        with locks.locked(volume.id):
            assert locks._thread_holds() == {volume.id: 1}
        monkeypatch.setattr(locks, 'CHECK_ORDER', False)
        volume.extend(2)
    assert locks._thread_holds() == {}
    assert free_in_another_thread([volume.id, 'other'])
    volume.delete()
    assert volume.id not in locks._locks


def open_lock_files():
    """The lock files this process has open."""
    paths = []
    for fd in os.listdir('/proc/self/fd'):
        try:
            paths.append(os.readlink(f'/proc/self/fd/{fd}'))
        except OSError:
            pass
    return [path for path in paths
            if os.path.basename(path).startswith('cinderlib-lock-')]


def test_a_forked_child_does_not_share_its_parents_locks(backend):
    # The child closes its copies of the parent's lock files (the parent
    # keeps its locks) and opens files of its own: a resource on the file
    # the parent holds is busy for it, as for any other process.  What
    # other threads of the parent held at the fork (the registry's lock,
    # a resource's thread lock) does not block the child: they are gone.
    x, y = ids_on_stripe(41, 2)
    registry_held, fork_done = threading.Event(), threading.Event()

    def hold_registry():
        with locks.locked('thread-held'):
            with locks._registry_lock:
                registry_held.set()
                fork_done.wait(60)

    with locks.locked(x):
        holder = threading.Thread(target=hold_registry)
        holder.start()
        assert registry_held.wait(60)
        pid = os.fork()
        if pid == 0:  # the child: reports through its exit code
            code = 9
            signal.alarm(30)  # a child blocked for good is killed
            try:
                locks.CHECK_ORDER = False  # its own steps, in any order
                inherited = open_lock_files()
                with locks.locked_if_free(y) as free:
                    busy = not free
                with locks.locked('thread-held',
                                  in_process=['thread-held']):
                    pass
                with locks.locked(x):  # the forking thread's: re-entered
                    pass
                code = 0 if busy and not inherited else 1
            finally:
                os._exit(code)
        fork_done.set()
        holder.join(60)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent still holds its file.
        with open(locks._stripe(x).path) as other:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert open_lock_files() == []
