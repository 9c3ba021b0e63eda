"""Volume operations on Ceph: cinderlib vs Cinder's driver vs librbd.

Starts a throw-away cluster (tools/ceph-up.sh), then times each operation
four ways in the same run:

- ``library``: through cinderlib (``Backend`` running Cinder's RBDDriver);
- ``driver``: the same RBDDriver method called directly on Cinder objects,
  the driver as Cinder runs it (a new cluster connection per call; the
  library keeps one open);
- ``kept``: the same, on a driver with the library's kept connection
  (``lib/kept`` is the library's own cost; ``kept/rbd`` what the driver
  does beyond the bare librbd call);
- ``rbd``: the same storage operation with the ``rbd`` Python module on
  one open connection, the minimal call (what a hand-written client that
  never clones snapshots on an old cluster would do);
- ``rbd+``: the librbd work the operation means for a Cinder volume, on
  one open connection: what Cinder's RBD driver does besides connecting
  (``EQUIVALENT`` below says what, per operation).

The five take turns call by call (so that all see the same machine
load); medians of ``--runs`` calls each.  ``--profile N`` then runs each
operation N more times through the library under cProfile and splits its
time: inside librbd (the ``rbd`` module's calls, timed one by one), inside
the RBD driver's Python code, and in the library (cinderlib and what it
calls besides the driver).

    python bench/ceph_ops.py [--runs N] [--profile N]
"""

import argparse
import contextlib
import cProfile
import pstats
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import cinderlib  # noqa: E402
from bench.timing import median_seconds  # noqa: E402
from cinderlib import locks  # noqa: E402
from cinderlib.cinder import ovo as cinder_ovo  # noqa: E402
from cinderlib.cinder import rbd_connections  # noqa: E402

GiB = 1024 ** 3


def start_ceph(work):
    out = subprocess.run(['bash', os.path.join(ROOT, 'tools', 'ceph-up.sh'),
                          work], capture_output=True, text=True, check=True)
    settings = dict(line.split('=', 1) for line in out.stdout.splitlines()
                    if '=' in line)
    if settings.get('CINDERLIB_CEPH_PYTHONPATH') not in sys.path:
        sys.path.append(settings['CINDERLIB_CEPH_PYTHONPATH'])
    return settings


OPERATIONS = ('create_volume', 'clone', 'create_snapshot', 'extend',
              'delete', 'delete_snapshot')

#: What Cinder 29's RBD driver does per operation, besides connecting (the
#: ``rbd+`` way does the same librbd calls).  Each ``open`` is an
#: ``rbd.Image`` opened and closed: a round trip to the OSDs (header, object
#: map, watch).
EQUIVALENT = {
    'create_volume': 'RBD.create with the features of rbd_default_features '
                     'and the order of rbd_store_chunk_size',
    'clone': 'open the source; create_snap and protect_snap (so that the '
             'snapshot stays while clones use it, on clusters without '
             'clone v2 too); RBD.clone; open the source again read-only '
             'for parent_info (the clone depth, rbd_max_clone_depth)',
    'create_snapshot': 'open; create_snap; protect_snap',
    'extend': 'open; resize',
    'delete': 'open; list_snaps twice (backup snapshots, and clone '
              'snapshots: a volume with clones is renamed, not removed); '
              'parent_info; RBD.remove',
    'delete_snapshot': 'open; unprotect_snap; open again; remove_snap',
}


def library_ops(backend):
    """Each operation through the library, and the clean-up."""
    source = backend.create_volume(1)
    made, snapshots = [], []
    sizes = iter(range(2, 10 ** 6))
    ops = {
        'create_volume': lambda: made.append(backend.create_volume(1)),
        'clone': lambda: made.append(source.clone()),
        'create_snapshot': lambda: snapshots.append(source.create_snapshot()),
        'extend': lambda: source.extend(next(sizes)),
        'delete': lambda: made.pop().delete(),
        'delete_snapshot': lambda: snapshots.pop().delete(),
    }

    def cleanup():
        for volume in made:
            volume.delete()
        for snapshot in snapshots:
            snapshot.delete()
    return ops, cleanup


def interleaved(ways, runs):
    """Median seconds of each operation each way, the ways taking turns
    call by call, so that all see the same machine load; the order of the
    ways rotates from call to call (a connection shut down by the
    ``driver`` way leaves work behind for the way after it)."""
    times = {way: {} for way in ways}
    order = list(ways.items())
    for name in OPERATIONS:
        samples = {way: [] for way in ways}
        for run in range(runs):
            shift = run % len(order)
            for way, ops in order[shift:] + order[:shift]:
                begin = time.perf_counter()
                ops[name]()
                samples[way].append(time.perf_counter() - begin)
        for way in ways:
            times[way][name] = statistics.median(samples[way])
    return times


def plain_driver(backend):
    """The backend's driver as Cinder runs it: a connection per call (the
    library keeps one open, see cinderlib/cinder/rbd_connections.py)."""
    driver = backend.driver
    rbd_connections.close(driver)
    for name in ('_connect_to_rados', '_disconnect_from_rados'):
        vars(driver).pop(name, None)
    return driver


def driver_ops(backend, driver):
    """Each operation on the driver directly, and the clean-up."""
    context = backend.context

    def new_ovo():
        volume_id = str(uuid.uuid4())
        return cinder_ovo.new_volume(
            context, id=volume_id, size=1, status='creating',
            host=f'{backend.host_name}#{backend.id}',
            volume_type_id=volume_id, volume_type=cinder_ovo.new_volume_type(
                context, volume_id, {}, None))

    source = new_ovo()
    driver.create_volume(source)
    made, snapshots = [], []
    sizes = iter(range(2, 10 ** 6))

    def create():
        ovo = new_ovo()
        driver.create_volume(ovo)
        made.append(ovo)

    def clone():
        ovo = new_ovo()
        driver.create_cloned_volume(ovo, source)
        made.append(ovo)

    def snapshot():
        ovo = cinder_ovo.new_snapshot(context, source, id=str(uuid.uuid4()),
                                      volume_id=source.id, volume_size=1)
        driver.create_snapshot(ovo)
        snapshots.append(ovo)

    def extend():
        size = next(sizes)
        driver.extend_volume(source, size)
        source.size = size

    def cleanup():
        for ovo in made:
            driver.delete_volume(ovo)
        for ovo in snapshots:
            driver.delete_snapshot(ovo)
        driver.delete_volume(source)
    return {'create_volume': create, 'clone': clone,
            'create_snapshot': snapshot, 'extend': extend,
            'delete': lambda: driver.delete_volume(made.pop()),
            'delete_snapshot': lambda: driver.delete_snapshot(
                snapshots.pop())}, cleanup


def rbd_ops(settings, stack, runs):
    """Each operation with the rbd module on one open connection; and the
    median time of a connection (what the RBD driver makes per call)."""
    import rados
    import rbd

    def connect():
        cluster = rados.Rados(conffile=settings['CINDERLIB_CEPH_CONF'],
                              rados_id=settings['CINDERLIB_CEPH_USER'])
        cluster.connect()
        cluster.open_ioctx(settings['CINDERLIB_CEPH_POOL']).close()
        cluster.shutdown()

    connect_time = median_seconds(connect, runs)
    cluster = stack.enter_context(rados.Rados(
        conffile=settings['CINDERLIB_CEPH_CONF'],
        rados_id=settings['CINDERLIB_CEPH_USER']))
    ioctx = stack.enter_context(cluster.open_ioctx(
        settings['CINDERLIB_CEPH_POOL']))
    return (minimal_ops(rbd, ioctx), equivalent_ops(rbd, cluster, ioctx),
            connect_time)


def minimal_ops(rbd, ioctx):
    """The minimal librbd call of each operation."""
    api = rbd.RBD()
    source = f'bench-src-{uuid.uuid4()}'
    api.create(ioctx, source, GiB)
    made, snapshots = [], []
    sizes = iter(range(2, 10 ** 6))

    def create():
        name = f'bench-{uuid.uuid4()}'
        api.create(ioctx, name, GiB)
        made.append(name)

    def clone():
        name = f'bench-{uuid.uuid4()}'
        snap = f'clone-snap-{uuid.uuid4()}'
        with rbd.Image(ioctx, source) as image:
            image.create_snap(snap)
        api.clone(ioctx, source, snap, ioctx, name)
        made.append(name)

    def snapshot():
        name = f'snap-{uuid.uuid4()}'
        with rbd.Image(ioctx, source) as image:
            image.create_snap(name)
        snapshots.append(name)

    def extend():
        with rbd.Image(ioctx, source) as image:
            image.resize(next(sizes) * GiB)

    def delete_snapshot():
        with rbd.Image(ioctx, source) as image:
            image.remove_snap(snapshots.pop())

    return {'create_volume': create, 'clone': clone,
            'create_snapshot': snapshot, 'extend': extend,
            'delete': lambda: api.remove(ioctx, made.pop()),
            'delete_snapshot': delete_snapshot}


def equivalent_ops(rbd, cluster, ioctx):
    """The librbd work of each operation as ``EQUIVALENT`` says (what
    Cinder's RBD driver does for a volume, besides connecting)."""
    api = rbd.RBD()
    features = int(cluster.conf_get('rbd_default_features'))
    order = 22  # rbd_store_chunk_size's default: 4 MiB
    source = f'bench-src-{uuid.uuid4()}'
    api.create(ioctx, source, GiB, order, old_format=False,
               features=features)
    made, snapshots = [], []
    sizes = iter(range(2, 10 ** 6))

    def create():
        name = f'bench-{uuid.uuid4()}'
        api.create(ioctx, name, GiB, order, old_format=False,
                   features=features)
        made.append(name)

    def clone():
        name = f'bench-{uuid.uuid4()}'
        snap = f'{name}.clone_snap'
        with rbd.Image(ioctx, source) as image:
            image.create_snap(snap)
            image.protect_snap(snap)
            api.clone(ioctx, source, snap, ioctx, name, features=features)
            with rbd.Image(ioctx, source, read_only=True) as parent:
                try:
                    parent.parent_info()
                except rbd.ImageNotFound:
                    pass
        made.append(name)

    def snapshot():
        name = f'snap-{uuid.uuid4()}'
        with rbd.Image(ioctx, source) as image:
            image.create_snap(name)
            image.protect_snap(name)
        snapshots.append(name)

    def extend():
        with rbd.Image(ioctx, source) as image:
            image.resize(next(sizes) * GiB)

    def delete():
        name = made.pop()
        with rbd.Image(ioctx, name) as image:
            list(image.list_snaps())
            list(image.list_snaps())
            try:
                image.parent_info()
            except rbd.ImageNotFound:
                pass
        api.remove(ioctx, name)

    def delete_snapshot():
        name = snapshots.pop()
        with rbd.Image(ioctx, source) as image:
            image.unprotect_snap(name)
        with rbd.Image(ioctx, source) as image:
            image.remove_snap(name)

    return {'create_volume': create, 'clone': clone,
            'create_snapshot': snapshot, 'extend': extend,
            'delete': delete, 'delete_snapshot': delete_snapshot}


class _Timed:
    """An ``rbd`` object whose method calls add their seconds to
    ``spent`` (the time inside librbd, which cProfile does not see:
    the ``rbd`` module's methods are Cython functions)."""

    def __init__(self, target, spent):
        self._target, self._spent = target, spent

    def __getattr__(self, name):
        value = getattr(self._target, name)
        if not callable(value):
            return value
        spent = self._spent

        def timed(*args, **kwargs):
            begin = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - begin
        return timed


def timed_rbd(rbd, spent):
    """The ``rbd`` module as the driver reads it (``driver.rbd``), with
    ``RBD`` and ``Image`` objects timed (``_Timed``)."""
    module = type(rbd)('rbd_timed')
    vars(module).update(vars(rbd))

    def image(*args, **kwargs):
        begin = time.perf_counter()
        try:
            opened = rbd.Image(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - begin
        return _Timed(opened, spent)
    module.Image = image
    module.RBD = lambda: _Timed(rbd.RBD(), spent)
    return module


def driver_seconds(stats):
    """Seconds inside the RBD driver's code, librbd included: the
    cumulative time of its functions called by cinderlib (not by Cinder's
    own helpers, e.g. its retry decorator, which run inside the driver)."""
    total = 0.0
    for (filename, _line, _function), row in stats.stats.items():
        if not filename.endswith('/cinder/volume/drivers/rbd.py'):
            continue
        for caller, caller_row in row[4].items():
            if '/cinderlib/' in caller[0]:
                total += caller_row[3]
    return total


def profile_library(ops, driver, count):
    """Each operation ``count`` times through the library under cProfile,
    with librbd's calls timed: milliseconds per call inside librbd, inside
    the RBD driver's Python, and in the library (cinderlib, and what it
    calls outside the driver); and the top own-time functions."""
    results = {}
    real = driver.rbd
    try:
        for name in OPERATIONS:
            spent = [0.0]
            driver.rbd = timed_rbd(real, spent)
            profile = cProfile.Profile()
            begin = time.perf_counter()
            for _ in range(count):
                profile.enable()
                ops[name]()
                profile.disable()
            total = time.perf_counter() - begin
            stats = pstats.Stats(profile)
            inside = driver_seconds(stats)
            parts = {'librbd': spent[0], 'driver': inside - spent[0],
                     'library': total - inside}
            top = sorted(stats.stats.items(),
                         key=lambda item: -item[1][2])[:5]
            results[name] = (
                {part: seconds / count for part, seconds in parts.items()},
                [(f'{func[0].rsplit("/", 1)[-1]}:{func[2]}', row[2] / count)
                 for func, row in top])
    finally:
        driver.rbd = real
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--profile', type=int, default=0, metavar='N')
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix='cinderlib-ceph-bench-')
    try:
        settings = start_ceph(os.path.join(work, 'ceph'))
        cinderlib.setup(state_path=work)
        options = dict(
            volume_driver='cinder.volume.drivers.rbd.RBDDriver',
            rbd_pool=settings['CINDERLIB_CEPH_POOL'],
            rbd_user=settings['CINDERLIB_CEPH_USER'],
            rbd_ceph_conf=settings['CINDERLIB_CEPH_CONF'],
            rbd_keyring_conf=settings['CINDERLIB_CEPH_KEYRING'])
        library_backend = cinderlib.Backend('lib', **options)
        # The lock files made, as on a host after its first operations
        # (see compare_retired.py).
        locks.make_lock_files()
        library, library_cleanup = library_ops(library_backend)
        driver_backend = cinderlib.Backend('drv', **options)
        driver, driver_cleanup = driver_ops(driver_backend,
                                            plain_driver(driver_backend))
        kept_backend = cinderlib.Backend('kept', **options)
        kept, kept_cleanup = driver_ops(kept_backend, kept_backend.driver)
        with contextlib.ExitStack() as stack:
            direct, equivalent, connect_time = rbd_ops(
                settings, stack, args.runs)
            times = interleaved({'library': library, 'driver': driver,
                                 'kept': kept, 'rbd': direct,
                                 'rbd+': equivalent}, args.runs)
            profiles = profile_library(
                library, library_backend.driver, args.profile) if (
                args.profile) else {}
        library_cleanup()
        driver_cleanup()
        kept_cleanup()
        library, driver = times['library'], times['driver']
        kept, direct = times['kept'], times['rbd']
        equivalent = times['rbd+']
    finally:
        subprocess.run(['bash', os.path.join(ROOT, 'tools', 'ceph-down.sh'),
                        os.path.join(work, 'ceph')])
        shutil.rmtree(work, ignore_errors=True)
    print(f'{"operation":<16}{"library ms":>11}{"driver ms":>10}'
          f'{"kept ms":>8}{"rbd ms":>8}{"rbd+ ms":>8}{"lib/drv":>8}'
          f'{"lib/kept":>9}{"lib/rbd":>8}{"lib/rbd+":>9}{"kept/rbd+":>10}')
    for name, lib_time in library.items():
        print(f'{name:<16}{lib_time * 1e3:>11.1f}'
              f'{driver[name] * 1e3:>10.1f}{kept[name] * 1e3:>8.1f}'
              f'{direct[name] * 1e3:>8.1f}{equivalent[name] * 1e3:>8.1f}'
              f'{lib_time / driver[name]:>8.2f}'
              f'{lib_time / kept[name]:>9.2f}'
              f'{lib_time / direct[name]:>8.2f}'
              f'{lib_time / equivalent[name]:>9.2f}'
              f'{kept[name] / equivalent[name]:>10.2f}')
    print('rbd+ does what the RBD driver does per operation:')
    for name, what in EQUIVALENT.items():
        print(f'  {name}: {what}')
    for name, (parts, top) in profiles.items():
        total = sum(parts.values())
        print(f'profile of {name} through the library, ms per call '
              f'(under cProfile: {total * 1e3:.2f}): ' + ', '.join(
                  f'{part} {seconds * 1e3:.2f} ({seconds / total:.0%})'
                  for part, seconds in parts.items()))
        print('  top own time: ' + ', '.join(
            f'{function} {seconds * 1e3:.2f}' for function, seconds in top))
    print(f'one rados connection + pool open: {connect_time * 1e3:.1f} ms '
          f'(the RBD driver opens one per call)')


if __name__ == '__main__':
    main()
