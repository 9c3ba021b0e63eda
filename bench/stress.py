"""Many threads running mixed operations at once, then a check for leaks.

N threads each run M operations (default 16 x 1000) picked at random
(seeded): create, clone, snapshot, volume from snapshot, extend,
connect/disconnect, delete.  Each thread works mostly on volumes of its
own; about one operation in five goes to a few shared volumes that every
thread clones, snapshots, makes volumes from the snapshot of, connects and
extends at once, so the per-volume locks are contended.

Scenarios:

``file``
    the file driver (sparse 1 GiB files in a temporary directory), with
    ``memory`` persistence (``--file-persistence sqlite`` for ``db``);
``memory-sqlite``
    the in-memory test driver, ``db`` persistence on an SQLite file;
``memory-postgresql``
    the same on PostgreSQL: ``--postgresql URL``, or
    ``--postgresql-server`` to start one with tools/db-servers.sh.

After the operations, with every thread stopped, persistence and storage
must agree (a record with no volume or snapshot on the storage, or the
reverse, and for the file driver a file with no record, counts as a
mismatch).  Then everything is deleted, and anything left (records, volumes,
snapshots, exports on the storage, files) counts as a leak.  RSS is
reported before the operations, once a tenth of them ran (warm: imports
and caches done), and at the end with everything deleted.

    python bench/stress.py [--threads 16] [--ops 1000]
                           [--scenarios file,memory-sqlite]
                           [--postgresql URL | --postgresql-server]

Exits 1 on any error, mismatch or leak.
"""

import argparse
import collections
import gc
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import cinderlib  # noqa: E402

MEMORY_DRIVER = 'tests.memory_driver.MemoryVolumeDriver'
FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
SHARED_VOLUMES = 3
# Per thread, so that the working set stays small.
MAX_VOLUMES = 6
MAX_SNAPSHOTS = 4
MAX_CONNECTIONS = 3
# Operations and their weights: own volumes, then shared ones.
OPERATIONS = {
    'create': 10, 'clone': 8, 'snapshot': 8, 'volume_from_snapshot': 5,
    'extend': 6, 'connect': 6, 'disconnect': 6, 'delete_snapshot': 8,
    'delete': 10,
    'shared_clone': 5, 'shared_snapshot': 5, 'shared_volume_from_snapshot': 3,
    'shared_connect': 3, 'shared_extend': 1,
}


def rss_mib():
    """This process's resident memory, MiB."""
    with open('/proc/self/statm') as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf('SC_PAGE_SIZE') / 2 ** 20


class Worker:
    """One thread's operations and the objects it made."""

    def __init__(self, number, backend, shared, shared_snapshots, seed,
                 progress):
        self.number = number
        self.backend = backend
        self.shared = shared
        self.shared_snapshots = shared_snapshots
        self.random = random.Random(seed * 1000 + number)
        self.progress = progress
        self.volumes = []       # own volumes
        self.snapshots = []     # own snapshots, of own or shared volumes
        self.connections = []   # own connections, of own or shared volumes
        self.failed = []        # what failed operations left: deleted last
        self.done = 0
        self.errors = []
        self.lost_races = 0

    def run(self, count):
        names, weights = zip(*OPERATIONS.items())
        for _ in range(count):
            name = self.random.choices(names, weights)[0]
            try:
                getattr(self, name)()
            except Exception as exc:
                self.errors.append(
                    f'thread {self.number} {name}: {type(exc).__name__}: '
                    f'{exc}\n{traceback.format_exc(limit=8)}')
                self._adopt(getattr(exc, 'resource', None))
            self.done += 1
            self.progress()

    def _adopt(self, resource):
        """Keep what a failed operation left, for cleanup to delete
        (errors are reported apart from leaks)."""
        known = self.volumes + self.shared + self.snapshots + \
            self.shared_snapshots + self.failed
        if isinstance(resource, (cinderlib.Volume, cinderlib.Snapshot)) and \
                resource not in known:
            self.failed.append(resource)

    # -- own volumes ---------------------------------------------------------
    def _own(self):
        return self.random.choice(self.volumes) if self.volumes else None

    def create(self):
        if len(self.volumes) >= MAX_VOLUMES:
            return self.delete()
        self.volumes.append(self.backend.create_volume(
            1, name=f't{self.number}'))

    def clone(self):
        source = self._own()
        if source is None or len(self.volumes) >= MAX_VOLUMES:
            return self.create()
        self.volumes.append(source.clone(name=f't{self.number}-clone'))

    def snapshot(self, volume=None):
        volume = volume or self._own()
        if volume is None:
            return self.create()
        if len(self.snapshots) >= MAX_SNAPSHOTS:
            return self.delete_snapshot()
        self.snapshots.append(volume.create_snapshot(
            name=f't{self.number}-snap'))

    def volume_from_snapshot(self, snapshot=None):
        snapshot = snapshot or (self.random.choice(self.snapshots)
                                if self.snapshots else None)
        if snapshot is None:
            return self.snapshot()
        if len(self.volumes) >= MAX_VOLUMES:
            return self.delete()
        self.volumes.append(snapshot.create_volume(
            name=f't{self.number}-from-snap'))

    def extend(self, volume=None):
        volume = volume or self._own()
        if volume is None:
            return self.create()
        volume.extend(volume.size + 1)

    def connect(self, volume=None):
        volume = volume or self._own()
        if volume is None:
            return self.create()
        if len(self.connections) >= MAX_CONNECTIONS:
            return self.disconnect()
        self.connections.append(volume.connect(
            {'host': f'stress-{self.number}',
             'initiator': f'iqn.2024-01.stress:{self.number}'}))

    def disconnect(self):
        if not self.connections:
            return self.connect()
        connection = self.connections.pop(
            self.random.randrange(len(self.connections)))
        connection.disconnect()

    def delete_snapshot(self):
        if not self.snapshots:
            return self.snapshot()
        self.snapshots.pop(self.random.randrange(len(self.snapshots))).delete()

    def delete(self):
        volume = self._own()
        if volume is None:
            return self.create()
        # A volume goes once its snapshots and connections have gone.
        for snapshot in self.snapshots:
            if snapshot.volume_id == volume.id:
                self.snapshots.remove(snapshot)
                return snapshot.delete()
        for connection in self.connections:
            if connection.volume_id == volume.id:
                self.connections.remove(connection)
                return connection.disconnect()
        self.volumes.remove(volume)
        volume.delete()

    # -- shared volumes: contended -------------------------------------------
    def shared_clone(self):
        if len(self.volumes) >= MAX_VOLUMES:
            return self.delete()
        self.volumes.append(self.random.choice(self.shared).clone(
            name=f't{self.number}-shared-clone'))

    def shared_snapshot(self):
        self.snapshot(self.random.choice(self.shared))

    def shared_volume_from_snapshot(self):
        self.volume_from_snapshot(self.random.choice(self.shared_snapshots))

    def shared_connect(self):
        self.connect(self.random.choice(self.shared))

    def shared_extend(self):
        volume = self.random.choice(self.shared)
        size = volume.size + 1
        try:
            volume.extend(size)
        except cinderlib.exception.InvalidArgument:
            if volume.size < size:
                raise
            self.lost_races += 1   # another thread grew it first

    # -- the end -------------------------------------------------------------
    def cleanup(self):
        for connection in self.connections:
            connection.disconnect()
        for snapshot in self.snapshots:
            snapshot.delete()
        for volume in self.volumes:
            volume.delete()
        snapshots_first = sorted(self.failed, key=lambda resource: isinstance(
            resource, cinderlib.Volume))
        for resource in snapshots_first:
            resource.delete()
        self.connections = self.snapshots = self.volumes = self.failed = []


def storage_contents(backend):
    """(volume ids, snapshot ids, other things) on the storage."""
    driver = backend.driver
    volumes, snapshots, other = set(), set(), []
    if hasattr(driver, 'exports'):  # the in-memory test driver
        names = list(driver.volumes) + list(driver.snapshots)
        other += [f'export {name}' for name in driver.exports]
        other += [f'connection {name} {hosts}'
                  for name, hosts in driver.connections.items() if hosts]
    else:
        names = os.listdir(driver.directory)
    for name in names:
        if name.startswith('volume-'):
            volumes.add(name[len('volume-'):])
        elif name.startswith('snapshot-'):
            snapshots.add(name[len('snapshot-'):])
        else:
            other.append(f'file {name}')
    return volumes, snapshots, other


def mismatches(backend):
    """Records and storage that do not agree.  A volume or snapshot whose
    creation failed (status ``error``) has a record and nothing on the
    storage: its failure was counted as an error."""
    plugin = cinderlib.Backend.persistence
    records = {volume.id for volume in
               plugin.get_volumes(backend_name=backend.id)
               if volume.status != 'error'}
    snapshot_records = {snapshot.id for snapshot in plugin.get_snapshots()
                        if snapshot.status != 'error'}
    volumes, snapshots, other = storage_contents(backend)
    found = [f'volume record {vid} has no volume on the storage'
             for vid in records - volumes]
    found += [f'volume {vid} on the storage has no record'
              for vid in volumes - records]
    found += [f'snapshot record {sid} has no snapshot on the storage'
              for sid in snapshot_records - snapshots]
    found += [f'snapshot {sid} on the storage has no record'
              for sid in snapshots - snapshot_records]
    found += [f'{thing} has no record' for thing in other
              if thing.startswith('file ')]
    return found


def leftovers(backend):
    """Anything left once everything was deleted."""
    plugin = cinderlib.Backend.persistence
    left = [f'volume record {v.id}' for v in plugin.get_volumes()]
    left += [f'snapshot record {s.id}' for s in plugin.get_snapshots()]
    left += [f'connection record {c.id}' for c in plugin.get_connections()]
    volumes, snapshots, other = storage_contents(backend)
    left += [f'volume {vid} on the storage' for vid in volumes]
    left += [f'snapshot {sid} on the storage' for sid in snapshots]
    return left + other


def run(name, driver_options, persistence_config, threads, ops, seed,
        state_path):
    """One scenario; returns its figures."""
    cinderlib.setup(state_path=state_path,
                    persistence_config=persistence_config)
    backend = cinderlib.Backend(f'stress-{name}', **driver_options)
    if hasattr(backend.driver, 'calls'):
        # The test driver records every call: keep the last few only.
        backend.driver.calls = collections.deque(maxlen=100)
    shared = [backend.create_volume(1, name=f'shared-{n}')
              for n in range(SHARED_VOLUMES)]
    shared_snapshots = [volume.create_snapshot(name='shared')
                        for volume in shared]
    gc.collect()
    rss = {'start': rss_mib()}
    total = threads * ops
    counter = {'done': 0}
    counter_lock = threading.Lock()

    def progress():
        with counter_lock:
            counter['done'] += 1
            if counter['done'] == max(1, total // 10):
                rss['warm'] = rss_mib()

    workers = [Worker(number, backend, shared, shared_snapshots, seed,
                      progress) for number in range(threads)]
    pool = [threading.Thread(target=worker.run, args=(ops,),
                             name=f'stress-{number}')
            for number, worker in enumerate(workers)]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - start
    errors = [error for worker in workers for error in worker.errors]
    lost_races = sum(worker.lost_races for worker in workers)
    at_rest = mismatches(backend)

    for worker in workers:
        try:
            worker.cleanup()
        except Exception as exc:
            errors.append(f'cleanup of thread {worker.number}: '
                          f'{type(exc).__name__}: {exc}')
    try:
        for snapshot in shared_snapshots:
            snapshot.delete()
        for volume in shared:
            for connection in list(volume.connections):
                connection.disconnect()
            volume.delete()
    except Exception as exc:
        errors.append(f'cleanup of the shared volumes: '
                      f'{type(exc).__name__}: {exc}')
    left = leftovers(backend)
    del workers, pool, shared, shared_snapshots
    gc.collect()
    rss['end'] = rss_mib()
    backend.unload()
    plugin = cinderlib.Backend.persistence
    if hasattr(plugin, 'engine'):
        plugin.engine.dispose()
    return {'scenario': name, 'threads': threads, 'ops': total,
            'elapsed': elapsed, 'ops_per_second': total / elapsed,
            'errors': errors, 'mismatches': at_rest, 'leaks': left,
            'lost_races': lost_races, 'rss': rss}


def scenario_settings(name, directory, args):
    """(driver options, persistence config) of a scenario."""
    if name == 'file':
        driver = dict(volume_driver=FILE_DRIVER,
                      file_volumes_dir=os.path.join(directory, 'volumes'))
        persistence = {'storage': 'memory'}
        if args.file_persistence == 'sqlite':
            persistence = {'storage': 'db', 'connection':
                           f'sqlite:///{directory}/file-stress.sqlite'}
        return driver, persistence
    driver = dict(volume_driver=MEMORY_DRIVER,
                  memory_attach_dir=os.path.join(directory, 'attach'),
                  memory_capacity_gb=10 ** 9)
    os.makedirs(driver['memory_attach_dir'], exist_ok=True)
    if name == 'memory-sqlite':
        url = f'sqlite:///{directory}/memory-stress.sqlite'
    else:
        url = args.postgresql
    return driver, {'storage': 'db', 'connection': url}


def report(result):
    rss = result['rss']
    print(f'== {result["scenario"]}: {result["threads"]} threads, '
          f'{result["ops"]} operations in {result["elapsed"]:.1f} s '
          f'({result["ops_per_second"]:.0f} ops/s)')
    print(f'   errors: {len(result["errors"])}; persistence/storage '
          f'mismatches after the run: {len(result["mismatches"])}; '
          f'leaks after deleting everything: {len(result["leaks"])}')
    print(f'   RSS MiB: start {rss["start"]:.1f}, warm '
          f'{rss.get("warm", float("nan")):.1f}, end {rss["end"]:.1f}')
    print(f'   shared extends that another thread made first (not errors): '
          f'{result["lost_races"]}')
    for kind in ('errors', 'mismatches', 'leaks'):
        for line, count in summary(result[kind]).most_common():
            print(f'   {kind[:-1]} x{count}: {line}')
    for error in result['errors'][:3]:
        print(error)
    sys.stdout.flush()


def summary(lines):
    """Lines counted by kind: ids, numbers and tracebacks left out."""
    uuid = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                      r'[0-9a-f]{12}')
    return collections.Counter(
        re.sub(r'\d+', 'N', uuid.sub('ID', line.splitlines()[0]))
        for line in lines)


def failed(result):
    return bool(result['errors'] or result['mismatches'] or
                result['leaks'])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--threads', type=int, default=16)
    parser.add_argument('--ops', type=int, default=1000,
                        help='operations per thread')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--scenarios', default=None,
                        help='comma-separated: file, memory-sqlite, '
                             'memory-postgresql (default: the first two, '
                             'and memory-postgresql with a server)')
    parser.add_argument('--file-persistence', choices=('memory', 'sqlite'),
                        default='memory')
    parser.add_argument('--postgresql', metavar='URL')
    parser.add_argument('--postgresql-server', action='store_true',
                        help='start a PostgreSQL server for the run')
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix='cinderlib-stress-')
    servers = None
    try:
        if args.postgresql_server and not args.postgresql:
            # Not inside ``work`` (mode 0700): the server runs as its own
            # user.
            servers = tempfile.mkdtemp(prefix='cinderlib-stress-servers-')
            started = subprocess.run(
                ['bash', os.path.join(ROOT, 'tools', 'db-servers.sh'),
                 'start', servers, 'postgresql'],
                capture_output=True, text=True)
            for line in started.stdout.splitlines():
                if line.startswith('CINDERLIB_TEST_POSTGRES_URL='):
                    args.postgresql = line.partition('=')[2]
            if not args.postgresql:
                parser.error(f'PostgreSQL did not start: {started.stderr}')
        names = (args.scenarios.split(',') if args.scenarios else
                 ['file', 'memory-sqlite'] +
                 (['memory-postgresql'] if args.postgresql else []))
        if 'memory-postgresql' in names and not args.postgresql:
            parser.error('memory-postgresql needs --postgresql URL or '
                         '--postgresql-server')
        results = []
        for name in names:
            directory = os.path.join(work, name)
            os.makedirs(directory)
            driver, persistence = scenario_settings(name, directory, args)
            results.append(run(name, driver, persistence, args.threads,
                               args.ops, args.seed, directory))
            report(results[-1])
    finally:
        if servers:
            subprocess.run(['bash', os.path.join(ROOT, 'tools',
                                                 'db-servers.sh'),
                            'stop', servers])
            shutil.rmtree(servers, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if any(map(failed, results)) else 0)


if __name__ == '__main__':
    main()
