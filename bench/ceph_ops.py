"""Volume operations on Ceph: cinderlib vs Cinder's driver vs librbd.

Starts a throw-away cluster (tools/ceph-up.sh), then times each operation
three ways in the same run:

- ``library``: through cinderlib (``Backend`` running Cinder's RBDDriver);
- ``driver``: the same RBDDriver method called directly on Cinder objects;
- ``rbd``: the same storage operation with the ``rbd`` Python module on
  one open connection (what a hand-written client would do).

    python bench/ceph_ops.py [--runs N]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import cinderlib  # noqa: E402
from bench.timing import median_seconds  # noqa: E402
from cinderlib.cinder import ovo as cinder_ovo  # noqa: E402

GiB = 1024 ** 3


def start_ceph(work):
    out = subprocess.run(['bash', os.path.join(ROOT, 'tools', 'ceph-up.sh'),
                          work], capture_output=True, text=True, check=True)
    settings = dict(line.split('=', 1) for line in out.stdout.splitlines()
                    if '=' in line)
    if settings.get('CINDERLIB_CEPH_PYTHONPATH') not in sys.path:
        sys.path.append(settings['CINDERLIB_CEPH_PYTHONPATH'])
    return settings


def library_times(backend, runs):
    source = backend.create_volume(1)
    made, snapshots = [], []
    sizes = iter(range(2, 10 ** 6))
    times = {
        'create_volume': median_seconds(
            lambda: made.append(backend.create_volume(1)), runs),
        'clone': median_seconds(lambda: made.append(source.clone()), runs),
        'create_snapshot': median_seconds(
            lambda: snapshots.append(source.create_snapshot()), runs),
        'extend': median_seconds(lambda: source.extend(next(sizes)), runs),
        'delete': median_seconds(lambda: made.pop().delete(), runs),
    }
    for volume in made:
        volume.delete()
    for snapshot in snapshots:
        snapshot.delete()
    return times


def driver_times(backend, runs):
    driver, context = backend.driver, backend.context

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

    times = {
        'create_volume': median_seconds(create, runs),
        'clone': median_seconds(clone, runs),
        'create_snapshot': median_seconds(snapshot, runs),
        'extend': median_seconds(extend, runs),
        'delete': median_seconds(lambda: driver.delete_volume(made.pop()),
                                 runs),
    }
    for ovo in made:
        driver.delete_volume(ovo)
    for ovo in snapshots:
        driver.delete_snapshot(ovo)
    driver.delete_volume(source)
    return times


def rbd_times(settings, runs):
    import rados
    import rbd

    def connect():
        cluster = rados.Rados(conffile=settings['CINDERLIB_CEPH_CONF'],
                              rados_id=settings['CINDERLIB_CEPH_USER'])
        cluster.connect()
        cluster.open_ioctx(settings['CINDERLIB_CEPH_POOL']).close()
        cluster.shutdown()

    # Cinder's RBD driver opens a connection like this for every call.
    connect_time = median_seconds(connect, runs)
    with rados.Rados(conffile=settings['CINDERLIB_CEPH_CONF'],
                     rados_id=settings['CINDERLIB_CEPH_USER']) as cluster:
        with cluster.open_ioctx(settings['CINDERLIB_CEPH_POOL']) as ioctx:
            api = rbd.RBD()
            source = f'bench-src-{uuid.uuid4()}'
            api.create(ioctx, source, GiB)
            made, snaps = [], []
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
                snap = f'snap-{uuid.uuid4()}'
                with rbd.Image(ioctx, source) as image:
                    image.create_snap(snap)
                snaps.append(snap)

            def extend():
                with rbd.Image(ioctx, source) as image:
                    image.resize(next(sizes) * GiB)

            times = {
                'create_volume': median_seconds(create, runs),
                'clone': median_seconds(clone, runs),
                'create_snapshot': median_seconds(snapshot, runs),
                'extend': median_seconds(extend, runs),
                'delete': median_seconds(
                    lambda: api.remove(ioctx, made.pop()), runs),
            }
    return times, connect_time


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
        library = library_times(cinderlib.Backend('lib', **options),
                                args.runs)
        driver = driver_times(cinderlib.Backend('drv', **options),
                              args.runs)
        direct, connect_time = rbd_times(settings, args.runs)
    finally:
        subprocess.run(['bash', os.path.join(ROOT, 'tools', 'ceph-down.sh'),
                        os.path.join(work, 'ceph')])
        shutil.rmtree(work, ignore_errors=True)
    print(f'{"operation":<16}{"library ms":>11}{"driver ms":>11}'
          f'{"rbd ms":>9}{"lib/driver":>12}{"lib/rbd":>9}')
    for name, lib_time in library.items():
        print(f'{name:<16}{lib_time * 1e3:>11.1f}'
              f'{driver[name] * 1e3:>11.1f}{direct[name] * 1e3:>9.1f}'
              f'{lib_time / driver[name]:>12.2f}'
              f'{lib_time / direct[name]:>9.2f}')
    print(f'one rados connection + pool open: {connect_time * 1e3:.1f} ms '
          f'(the RBD driver opens one per call)')


if __name__ == '__main__':
    main()
