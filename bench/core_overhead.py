"""The library's overhead over calling a Cinder driver directly.

Each operation runs N times through cinderlib (memory persistence) and N
times as direct driver calls on Cinder objects built by hand, on the same
in-memory test driver, in the same run.  Prints per-operation times, the
overhead in milliseconds and the ratio, plus the time of ``import
cinderlib`` in a fresh interpreter.

    python bench/core_overhead.py [--runs N]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import cinderlib  # noqa: E402
from bench.timing import median_seconds as timed  # noqa: E402
from cinderlib import locks  # noqa: E402
from cinderlib.cinder import ovo as cinder_ovo  # noqa: E402

CONNECTOR = {'host': 'bench-node', 'initiator': 'iqn.bench'}


def timed_pair(first, second, runs):
    """Median seconds of ``first()`` and of ``second()``, run in turns so
    that the volume never piles up snapshots or connections."""
    first_samples, second_samples = [], []
    for _ in range(runs):
        for function, samples in ((first, first_samples),
                                  (second, second_samples)):
            start = time.perf_counter()
            function()
            samples.append(time.perf_counter() - start)
    return statistics.median(first_samples), statistics.median(
        second_samples)


def new_ovo(backend, size=1):
    """What a direct caller builds by hand: a Cinder Volume object."""
    volume_id = str(uuid.uuid4())
    return cinder_ovo.new_volume(
        backend.context, id=volume_id, size=size, status='creating',
        host=f'{backend.host_name}#{backend.id}', volume_type_id=volume_id,
        volume_type=cinder_ovo.new_volume_type(backend.context, volume_id,
                                               {}, None))


def library_operations(backend, runs):
    source = backend.create_volume(1)
    volumes = []
    results = {
        'create': timed(lambda: volumes.append(backend.create_volume(1)),
                        runs),
        'clone': timed(lambda: volumes.append(source.clone()), runs),
    }
    snapshots = []
    results['snapshot'], results['delete snapshot'] = timed_pair(
        lambda: snapshots.append(source.create_snapshot()),
        lambda: snapshots.pop().delete(), runs)
    connections = []
    results['connect'], results['disconnect'] = timed_pair(
        lambda: connections.append(source.connect(CONNECTOR)),
        lambda: connections.pop().disconnect(), runs)
    sizes = iter(range(2, runs + 2))
    results['extend'] = timed(lambda: source.extend(next(sizes)), runs)
    results['delete'] = timed(lambda: volumes.pop().delete(), runs)
    return results


def direct_operations(backend, runs):
    driver = backend.driver
    context = backend.context
    source = new_ovo(backend)
    driver.create_volume(source)
    volumes = []

    def create():
        ovo = new_ovo(backend)
        driver.create_volume(ovo)
        volumes.append(ovo)

    def clone():
        ovo = new_ovo(backend)
        driver.create_cloned_volume(ovo, source)
        volumes.append(ovo)

    snapshots = []

    def snapshot():
        ovo = cinder_ovo.new_snapshot(context, source,
                                      id=str(uuid.uuid4()),
                                      volume_id=source.id, volume_size=1)
        driver.create_snapshot(ovo)
        snapshots.append(ovo)

    def connect():
        driver.validate_connector(CONNECTOR)
        driver.create_export(context, source, CONNECTOR)
        driver.initialize_connection(source, CONNECTOR)

    def disconnect():
        driver.terminate_connection(source, CONNECTOR)
        if not driver.connections[source.name]:
            driver.remove_export(context, source)

    sizes = iter(range(2, runs + 2))

    def extend():
        size = next(sizes)
        driver.extend_volume(source, size)
        source.size = size

    results = {'create': timed(create, runs), 'clone': timed(clone, runs)}
    results['snapshot'], results['delete snapshot'] = timed_pair(
        snapshot, lambda: driver.delete_snapshot(snapshots.pop()), runs)
    results['connect'], results['disconnect'] = timed_pair(
        connect, disconnect, runs)
    results['extend'] = timed(extend, runs)
    results['delete'] = timed(lambda: driver.delete_volume(volumes.pop()),
                              runs)
    return results


def import_time(runs=5):
    code = ('import time; t = time.perf_counter(); import cinderlib; '
            'print(time.perf_counter() - t)')
    return statistics.median(
        float(subprocess.run([sys.executable, '-c', code], check=True,
                             capture_output=True, text=True).stdout)
        for _ in range(runs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=300)
    args = parser.parse_args()
    state = tempfile.mkdtemp()
    # The driver makes a file per connection: in memory where possible,
    # so that neither way is timed making files on disk.
    attach = tempfile.mkdtemp(dir='/dev/shm' if os.path.isdir('/dev/shm')
                              else None)
    try:
        cinderlib.setup(state_path=state)
        options = dict(
            volume_driver='tests.memory_driver.MemoryVolumeDriver',
            memory_read_db=False, memory_attach_dir=attach,
            memory_capacity_gb=10 ** 6)
        backend = cinderlib.Backend('lib', **options)
        # The lock files made, as on a host after its first operations
        # (see bench/README.rst).
        locks.make_lock_files()
        library = library_operations(backend, args.runs)
        direct = direct_operations(cinderlib.Backend('direct', **options),
                                   args.runs)
    finally:
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(attach, ignore_errors=True)
    print(f'{"operation":<16}{"library ms":>12}{"direct ms":>12}'
          f'{"overhead ms":>13}{"ratio":>8}')
    for name, lib_time in library.items():
        direct_time = direct[name]
        print(f'{name:<16}{lib_time * 1e3:>12.3f}{direct_time * 1e3:>12.3f}'
              f'{(lib_time - direct_time) * 1e3:>13.3f}'
              f'{lib_time / direct_time:>8.2f}')
    print(f'import cinderlib: {import_time() * 1e3:.1f} ms')


if __name__ == '__main__':
    main()
