"""Crash a worker with SIGKILL in the middle of operations, again and
again, recover, and check every record against the storage.

A worker runs random operations (create, clone, snapshot, volume from
snapshot, extend, connect/disconnect, delete) on the file backend with the
``db`` plugin; it is killed after a random delay, ``Backend.recover()``
settles what it left, and the next worker carries on with the same
volumes.  At the end every record is checked against the files:

- lost: a volume or snapshot file with no record (must be 0);
- phantom: an ``available``/``in-use`` record with no file, or a file of
  another size (must be 0);
- stuck: a record still in a starting state after recovery (must be 0);
- after deleting everything, no file and no record is left (must be 0).

    python bench/crash.py [--kills 50] [--db sqlite|URL] [--seed N]

Exits non-zero when a check fails.  ``crash_at()`` kills a worker inside
one given driver call instead (used by tests/reliability/test_crash.py).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
GiB = 1024 ** 3
STARTED = {'creating', 'deleting', 'extending', 'attaching'}
MAX_VOLUMES = 12
CONNECTOR = {'host': 'crash-node', 'initiator': 'iqn.2026-11.test:crash',
             'ip': '192.0.2.20', 'multipath': False, 'platform': 'x86_64',
             'os_type': 'linux'}


def open_backend(state: str, url: str) -> Any:
    import cinderlib
    cinderlib.setup(state_path=state, persistence_config={
        'storage': 'db', 'connection': url})
    return cinderlib.Backend('crash', volume_driver=FILE_DRIVER,
                             file_volumes_dir=os.path.join(state, 'volumes'))


# -- the worker process -------------------------------------------------------
def random_step(backend: Any, rng: random.Random) -> str:
    """One random operation on the backend's volumes; returns its name."""
    volumes = backend.volumes
    usable = [v for v in volumes if v.status in ('available', 'in-use')]
    snapshots = [s for v in usable for s in v.snapshots
                 if s.status == 'available']
    choices = ['create']
    if usable:
        choices += ['clone', 'snapshot', 'extend', 'connect']
    if snapshots:
        choices += ['from snapshot', 'delete snapshot']
    if volumes:
        choices += ['delete'] * (3 if len(volumes) > MAX_VOLUMES else 1)
    if len(volumes) > MAX_VOLUMES:
        choices = [c for c in choices
                   if c not in ('create', 'clone', 'from snapshot')]
    choice = rng.choice(choices)
    if choice == 'create':
        backend.create_volume(1)
    elif choice == 'clone':
        rng.choice(usable).clone()
    elif choice == 'snapshot':
        rng.choice(usable).create_snapshot()
    elif choice == 'extend':
        volume = rng.choice(usable)
        volume.extend(volume.size + 1)
    elif choice == 'connect':
        rng.choice(usable).connect(CONNECTOR).disconnect()
    elif choice == 'from snapshot':
        rng.choice(snapshots).create_volume()
    elif choice == 'delete snapshot':
        rng.choice(snapshots).delete()
    else:
        delete_everything(rng.choice(volumes))
    return choice


def delete_everything(volume: Any) -> None:
    """Delete a volume with its connections and snapshots."""
    for connection in list(volume.connections):
        connection.disconnect(force=True)
    for snapshot in list(volume.snapshots):
        snapshot.delete()
    volume.delete()


def worker(state: str, url: str, seed: int,
           crash_in: Optional[str] = None) -> None:
    backend = open_backend(state, url)
    if crash_in:
        arm_crash(backend.driver, crash_in)
        scripted_steps(backend)
        return
    rng = random.Random(seed)
    print('ready', flush=True)
    while True:
        print(random_step(backend, rng), flush=True)


def arm_crash(driver: Any, crash_in: str) -> None:
    """Make ``driver``'s method die: ``name`` before it runs, or
    ``name:after`` once it has done its work."""
    name, _, when = crash_in.partition(':')
    method = getattr(driver, name)

    def dying(*args: Any, **kwargs: Any) -> Any:
        if when == 'after':
            method(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(driver, name, dying)


def scripted_steps(backend: Any) -> None:
    """Every operation once, on volumes made before (``crash_at``)."""
    import cinderlib
    [first] = [v for v in backend.volumes if v.name == 'first']
    [snapshot] = first.snapshots
    [connected] = first.connections
    print('ready', flush=True)
    backend.create_volume(1, name='new')
    first.clone(name='clone')
    first.create_snapshot(name='second')
    snapshot.create_volume(name='from snapshot')
    first.extend(first.size + 1)
    first.connect(CONNECTOR)
    connected.disconnect()
    snapshot.delete()
    [doomed] = [v for v in cinderlib.Volume.get_by_name('doomed')]
    doomed.delete()


# -- checks -------------------------------------------------------------------
def audit(state: str, url: str) -> dict[str, int]:
    """Compare every record of a fresh plugin with the files."""
    from cinderlib.drivers import file as file_driver
    from cinderlib.persistence import dbms
    plugin = dbms.DBPersistence(url)
    try:
        volumes = plugin.get_volumes()
        snapshots = plugin.get_snapshots()
        connections = plugin.get_connections()
        records = {f'{file_driver.VOLUME_PREFIX}{v.id}': v for v in volumes}
        records.update({f'{file_driver.SNAPSHOT_PREFIX}{s.id}': s
                        for s in snapshots})
        directory = os.path.join(state, 'volumes')
        files = {name: os.path.getsize(os.path.join(directory, name))
                 for name in os.listdir(directory)
                 if not name.startswith(file_driver.TEMP_PREFIX)}
        phantom = 0
        for name, record in records.items():
            if record.status in ('available', 'in-use'):
                size = (record.size if name.startswith('volume') else
                        record.volume_size)
                if files.get(name) != size * GiB:
                    phantom += 1
        return {
            'volumes': len(volumes), 'snapshots': len(snapshots),
            'connections': len(connections),
            'lost': len(set(files) - set(records)),
            'phantom': phantom,
            'stuck': sum(r.status in STARTED for r in records.values()) + sum(
                c._ovo.attach_status in ('attaching', 'detached')
                for c in connections),
        }
    finally:
        plugin.engine.dispose()


def spawn(state: str, url: str, seed: int,
          crash_in: Optional[str] = None) -> subprocess.Popen[str]:
    command = [sys.executable, os.path.abspath(__file__), '--worker',
               '--state', state, '--db', url, '--seed', str(seed)]
    if crash_in:
        command += ['--crash-in', crash_in]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT))


def wait_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    if line != 'ready\n':
        _, err = process.communicate(timeout=60)
        raise RuntimeError(f'worker did not start: {line!r} {err[-2000:]}')


def run(kills: int, url: str, state: str, seed: int = 1,
        max_delay: float = 0.6) -> dict[str, Any]:
    """``kills`` workers killed in turn, each followed by recover();
    returns the figures (see the module docstring)."""
    rng = random.Random(seed)
    backend = open_backend(state, url)
    figures: dict[str, Any] = {'kills': 0, 'operations': 0, 'recovered': 0,
                               'errors': []}
    for number in range(kills):
        process = spawn(state, url, seed + number)
        wait_ready(process)
        time.sleep(rng.uniform(0.02, max_delay))
        process.send_signal(signal.SIGKILL)
        out, err = process.communicate(timeout=60)
        if process.returncode != -signal.SIGKILL:
            figures['errors'].append(err[-2000:])
        figures['kills'] += 1
        figures['operations'] += len(out.splitlines())
        figures['recovered'] += sum(
            entry['now'] != 'busy' for entry in backend.recover())
    figures.update(audit(state, url))
    for volume in backend.volumes:
        delete_everything(volume)
    left = audit(state, url)
    figures['left after deleting all'] = (
        left['volumes'] + left['snapshots'] + left['connections'] +
        left['lost'])
    return figures


def crash_at(crash_in: str, state: str, url: str) -> dict[str, Any]:
    """Kill a worker inside one driver call, recover; returns what
    recover() reported and the audit."""
    backend = open_backend(state, url)
    first = backend.create_volume(1, name='first')
    first.create_snapshot(name='snap')
    first.connect(CONNECTOR)
    backend.create_volume(1, name='doomed')
    process = spawn(state, url, 0, crash_in)
    wait_ready(process)
    _, err = process.communicate(timeout=120)
    if process.returncode != -signal.SIGKILL:
        raise RuntimeError(f'the worker was not killed in {crash_in}: '
                           f'{process.returncode} {err[-2000:]}')
    report = backend.recover()
    return {'report': report, 'audit': audit(state, url)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--kills', type=int, default=50)
    parser.add_argument('--db', default='sqlite',
                        help="'sqlite' or an SQLAlchemy URL")
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--state')
    parser.add_argument('--worker', action='store_true',
                        help=argparse.SUPPRESS)
    parser.add_argument('--crash-in', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.state, args.db, args.seed, args.crash_in)
        return 0
    state = args.state or tempfile.mkdtemp(prefix='cinderlib-crash-')
    url = (f'sqlite:///{state}/crash.sqlite' if args.db == 'sqlite'
           else args.db)
    started = time.perf_counter()
    figures = run(args.kills, url, state, args.seed)
    figures['seconds'] = round(time.perf_counter() - started, 1)
    errors = figures.pop('errors')
    for name, value in figures.items():
        print(f'{name:>24}: {value}')
    for error in errors:
        print(error, file=sys.stderr)
    failed = errors or any(figures[name] for name in (
        'lost', 'phantom', 'stuck', 'left after deleting all'))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
