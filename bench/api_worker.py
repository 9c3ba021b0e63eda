"""One side of bench/compare_retired.py: operations through the public API.

Runs inside the venv of the library it measures (this project's, or the
retired cinderlib 5.2.0's), so it uses only the standard library and the
API both libraries share, and keeps to Python 3.8 syntax.  It must not
import anything from this checkout: run by path, with the in-memory test
driver importable as ``tests.memory_driver`` from ``PYTHONPATH``.

    python api_worker.py ops --persistence memory|db [--url URL]
                             [--ops 200] [--volumes 2000] [--warmup 20]
                             [--made-lock-files] --workdir DIR --out FILE
    python api_worker.py cold --persistence memory|db [--url URL]
                              --workdir DIR --out FILE
    python api_worker.py createdb|dropdb URL NAME

``ops`` times each operation ``--ops`` times after ``--warmup`` untimed
ones, fills the backend up to ``--volumes`` volumes and times lookups by
name and id among them, then reports the process's peak RSS
(``--made-lock-files``: this library's lock files made first).  ``cold``
times ``import cinderlib``, ``setup()``, the first ``Backend`` and its first
``create_volume(1)`` from the start of the script.  Results are JSON.
"""

import time

STARTED = time.perf_counter()
STARTED_WALL = time.time()

import argparse  # noqa: E402
import atexit  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

CONNECTOR = {'host': 'bench-node', 'initiator': 'iqn.2024-01.bench:node'}


def driver_config(workdir):
    """The same in-memory driver and options on both sides.

    ``memory_read_db=False``: the driver makes no calls into the database
    shim, which the retired library could not serve for volumes without a
    volume type.  The driver's ``initialize_connection`` makes a file for
    each connection: in memory (``/dev/shm``) where there is one, so that
    the disk's time to make a file (20 to 150 us here, varying from run to
    run) is not timed as either library's.
    """
    return dict(volume_driver='tests.memory_driver.MemoryVolumeDriver',
                memory_read_db=False, memory_capacity_gb=10 ** 9,
                memory_attach_dir=attach_dir(workdir))


def attach_dir(workdir):
    if not os.path.isdir('/dev/shm'):
        return workdir
    directory = tempfile.mkdtemp(prefix='cinderlib-bench-', dir='/dev/shm')
    atexit.register(shutil.rmtree, directory, True)
    return directory


def persistence_config(args):
    if args.persistence == 'memory':
        return {'storage': 'memory'}
    return {'storage': 'db', 'connection': args.url}


def start(args):
    """import, setup(), Backend(): seconds of each, and the backend."""
    times = {}
    begin = time.perf_counter()
    import cinderlib
    times['import'] = time.perf_counter() - begin
    begin = time.perf_counter()
    cinderlib.setup(file_locks_path=args.workdir, disable_logs=True,
                    persistence_config=persistence_config(args))
    times['setup'] = time.perf_counter() - begin
    begin = time.perf_counter()
    backend = cinderlib.Backend(volume_backend_name='bench',
                                **driver_config(args.workdir))
    times['backend'] = time.perf_counter() - begin
    if getattr(args, 'made_lock_files', False):
        # this library's lock files (the first Backend configured their
        # directory), as on a host after its first few thousand
        # operations; the retired library has none
        from cinderlib import locks
        locks.make_lock_files()
    return cinderlib, backend, times


def summary(samples):
    ordered = sorted(samples)
    return {'n': len(ordered), 'median': statistics.median(ordered),
            'mean': statistics.fmean(ordered), 'min': ordered[0],
            'p95': ordered[min(len(ordered) - 1,
                               int(round(0.95 * (len(ordered) - 1))))],
            'max': ordered[-1]}


def timed(function, items):
    """Seconds of ``function(item)`` for each item, and the results."""
    samples, results = [], []
    for item in items:
        begin = time.perf_counter()
        results.append(function(item))
        samples.append(time.perf_counter() - begin)
    return samples, results


class Names:
    """Unique volume names, so that a lookup by name finds one volume."""

    def __init__(self):
        self.made = []

    def __call__(self, *ignored):
        name = f'bench-{len(self.made):06d}'
        self.made.append(name)
        return name


def run_ops(args):
    cinderlib, backend, startup = start(args)
    names = Names()
    rounds = (range(args.warmup), range(args.ops))
    source = backend.create_volume(1, name=names())
    results = {'startup': startup}
    samples = {}

    # Each operation gets its warm-up round, untimed, then its timed round.
    for number, count in enumerate(rounds):
        made, created = timed(
            lambda _: backend.create_volume(1, name=names()), count)
        clones, _ = timed(lambda _: source.clone(name=names()), count)
        # One connection per volume, on the volumes just created.
        connects, _ = timed(lambda volume: volume.connect(CONNECTOR),
                            created)
        dumps, dumped = timed(lambda volume: volume.dumps, created)
        loads, loaded = timed(cinderlib.load, dumped)
        if [volume.id for volume in loaded] != [v.id for v in created]:
            raise SystemExit('load() returned other volumes')
        if number:
            samples.update(create=made, clone=clones, connect=connects,
                           dumps=dumps, load=loads)

    begin = time.perf_counter()
    while len(names.made) < args.volumes:
        backend.create_volume(1, name=names())
    results['fill_seconds'] = time.perf_counter() - begin
    results['volumes'] = len(names.made)

    picked = random.Random(15).sample(names.made, args.warmup + args.ops)
    by_name, found = timed(cinderlib.Volume.get_by_name, picked)
    if any(len(list(volumes)) != 1 for volumes in found):
        raise SystemExit('get_by_name did not find exactly one volume')
    ids = [list(volumes)[0].id for volumes in found]
    by_id, found = timed(cinderlib.Volume.get_by_id, ids)
    if [volume.id for volume in found] != ids:
        raise SystemExit('get_by_id returned other volumes')
    # Those volumes serialized as a lookup returns them: what a process
    # per operation serializes (the retired library's db plugin then
    # reads their snapshots and connections from the database).
    dumps_read, _ = timed(lambda volume: volume.dumps, found)
    samples['get_by_name'] = by_name[args.warmup:]
    samples['get_by_id'] = by_id[args.warmup:]
    samples['dumps_read'] = dumps_read[args.warmup:]

    results['operations'] = {name: summary(values)
                             for name, values in samples.items()}
    # ru_maxrss is in KiB on Linux.
    results['peak_rss_mib'] = resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def run_cold(args):
    cinderlib, backend, times = start(args)
    begin = time.perf_counter()
    backend.create_volume(1)
    times['create_volume'] = time.perf_counter() - begin
    times['since_script_start'] = time.perf_counter() - STARTED
    # Wall-clock marks, for the parent to tell the interpreter's start and
    # exit from the script's own time.
    times['script_started_at'] = STARTED_WALL
    times['peak_rss_mib'] = resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024
    return times


def manage_database(action, url, name):
    """CREATE or DROP a database on the server of ``url``."""
    import sqlalchemy
    engine = sqlalchemy.create_engine(url, isolation_level='AUTOCOMMIT')
    statement = ('CREATE DATABASE "%s"' if action == 'createdb' else
                 'DROP DATABASE IF EXISTS "%s"') % name
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(statement))
    engine.dispose()


def versions():
    from importlib import metadata
    found = {'python': sys.version.split()[0],
             'cinderlib_path': os.path.dirname(
                 sys.modules['cinderlib'].__file__)}
    for name in ('cinderlib', 'cinder', 'os-brick', 'oslo.db',
                 'oslo.versionedobjects', 'SQLAlchemy', 'psycopg',
                 'psycopg2-binary', 'orjson', 'msgspec'):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='mode', required=True)
    for mode in ('ops', 'cold'):
        one = sub.add_parser(mode)
        one.add_argument('--persistence', choices=('memory', 'db'),
                         required=True)
        one.add_argument('--url', help='SQLAlchemy URL for db')
        one.add_argument('--workdir', required=True)
        one.add_argument('--out', required=True)
        if mode == 'ops':
            one.add_argument('--ops', type=int, default=200)
            one.add_argument('--volumes', type=int, default=2000)
            one.add_argument('--warmup', type=int, default=20)
            one.add_argument('--made-lock-files', action='store_true')
    for action in ('createdb', 'dropdb'):
        one = sub.add_parser(action)
        one.add_argument('url')
        one.add_argument('name')
    args = parser.parse_args()
    if args.mode in ('createdb', 'dropdb'):
        manage_database(args.mode, args.url, args.name)
        return
    if args.persistence == 'db' and not args.url:
        parser.error('--persistence db needs --url')
    result = run_ops(args) if args.mode == 'ops' else run_cold(args)
    result['versions'] = versions()
    result['script_ended_at'] = time.time()
    with open(args.out, 'w') as out:
        json.dump(result, out)


if __name__ == '__main__':
    main()
