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
  one open connection (what a hand-written client would do).

The four take turns call by call (so that all see the same machine
load); medians of ``--runs`` calls each.

    python bench/ceph_ops.py [--runs N]
"""

import argparse
import contextlib
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
              'delete')


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
    }

    def cleanup():
        for volume in made:
            volume.delete()
        for snapshot in snapshots:
            snapshot.delete()
    return ops, cleanup


def interleaved(ways, runs):
    """Median seconds of each operation each way, the ways taking turns
    call by call, so that all see the same machine load."""
    times = {way: {} for way in ways}
    for name in OPERATIONS:
        samples = {way: [] for way in ways}
        for _ in range(runs):
            for way, ops in ways.items():
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
            'delete': lambda: driver.delete_volume(made.pop())}, cleanup


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
    api = rbd.RBD()
    source = f'bench-src-{uuid.uuid4()}'
    api.create(ioctx, source, GiB)
    made = []
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
        with rbd.Image(ioctx, source) as image:
            image.create_snap(f'snap-{uuid.uuid4()}')

    def extend():
        with rbd.Image(ioctx, source) as image:
            image.resize(next(sizes) * GiB)

    return {'create_volume': create, 'clone': clone,
            'create_snapshot': snapshot, 'extend': extend,
            'delete': lambda: api.remove(ioctx, made.pop())}, connect_time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=20)
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
        library, library_cleanup = library_ops(
            cinderlib.Backend('lib', **options))
        driver_backend = cinderlib.Backend('drv', **options)
        driver, driver_cleanup = driver_ops(driver_backend,
                                            plain_driver(driver_backend))
        kept_backend = cinderlib.Backend('kept', **options)
        kept, kept_cleanup = driver_ops(kept_backend, kept_backend.driver)
        with contextlib.ExitStack() as stack:
            direct, connect_time = rbd_ops(settings, stack, args.runs)
            times = interleaved({'library': library, 'driver': driver,
                                 'kept': kept, 'rbd': direct}, args.runs)
        library_cleanup()
        driver_cleanup()
        kept_cleanup()
        library, driver = times['library'], times['driver']
        kept, direct = times['kept'], times['rbd']
    finally:
        subprocess.run(['bash', os.path.join(ROOT, 'tools', 'ceph-down.sh'),
                        os.path.join(work, 'ceph')])
        shutil.rmtree(work, ignore_errors=True)
    print(f'{"operation":<16}{"library ms":>11}{"driver ms":>11}'
          f'{"kept ms":>9}{"rbd ms":>9}{"lib/driver":>12}{"lib/kept":>10}'
          f'{"lib/rbd":>9}{"kept/rbd":>10}')
    for name, lib_time in library.items():
        print(f'{name:<16}{lib_time * 1e3:>11.1f}'
              f'{driver[name] * 1e3:>11.1f}{kept[name] * 1e3:>9.1f}'
              f'{direct[name] * 1e3:>9.1f}'
              f'{lib_time / driver[name]:>12.2f}'
              f'{lib_time / kept[name]:>10.2f}'
              f'{lib_time / direct[name]:>9.2f}'
              f'{kept[name] / direct[name]:>10.2f}')
    print(f'one rados connection + pool open: {connect_time * 1e3:.1f} ms '
          f'(the RBD driver opens one per call)')


if __name__ == '__main__':
    main()
