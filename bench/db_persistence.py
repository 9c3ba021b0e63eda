"""The db plugin's costs, measured side by side with the memory plugin.

With the in-memory test driver (so only the library and persistence are
measured):

- each write operation's persistence overhead: its median time with ``db``
  minus its median time with ``memory``, when the table holds 1k rows and
  again when it holds 100k rows (bulk-inserted copies of a real row);
- listing a backend's 10,000 volumes in a fresh process;
- ``get_by_id`` and ``get_by_name`` among 100,000 volumes;
- ``dumps()`` of a backend with 10,000 volumes.

    python bench/db_persistence.py [--postgresql] [--runs N]

SQLite is a file in synchronous mode (WAL, synchronous=NORMAL).
``--postgresql`` also measures a PostgreSQL server started with
tools/db-servers.sh.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import cinderlib  # noqa: E402
from bench.timing import median_seconds as median  # noqa: E402
from cinderlib.persistence import schema  # noqa: E402

DRIVER = dict(volume_driver='tests.memory_driver.MemoryVolumeDriver',
              memory_read_db=False, memory_capacity_gb=10 ** 9)
CONNECTOR = {'host': 'bench-node', 'initiator': 'iqn.bench'}


def operations(backend, runs):
    """Median seconds of each write operation."""
    source = backend.create_volume(1)
    made, snaps, conns = [], [], []
    sizes = iter(range(2, 10 ** 6))
    results = {
        'create': median(lambda: made.append(backend.create_volume(1)),
                         runs),
        'clone': median(lambda: made.append(source.clone()), runs),
        'snapshot': median(lambda: snaps.append(source.create_snapshot()),
                           runs),
        'extend': median(lambda: source.extend(next(sizes)), runs),
        'connect': median(lambda: conns.append(source.connect(CONNECTOR)),
                          runs),
        'disconnect': median(lambda: conns.pop().disconnect(), runs),
    }
    for snapshot in snaps:
        snapshot.delete()
    results['delete'] = median(lambda: made.pop().delete(), runs)
    return results


def bulk_fill(plugin, backend_name, count, template):
    """Insert ``count`` copies of ``template`` (a volume) in bulk."""
    with plugin.engine.connect() as conn:
        row = conn.execute(schema.volumes.select().where(
            schema.volumes.c.id == template.id)).one()._asdict()
    volumes = []
    for number in range(count):
        new_id = str(uuid.uuid4())
        volumes.append(dict(row, id=new_id, name=f'bulk-{number}',
                            backend_name=backend_name,
                            data=row['data'].replace(template.id, new_id)
                            .replace('"display_name":"template"',
                                     f'"display_name":"bulk-{number}"'),
                            type_data=row['type_data'].replace(template.id,
                                                               new_id)))
    with plugin.engine.begin() as conn:
        for start in range(0, count, 5000):
            conn.execute(schema.volumes.insert(),
                         volumes[start:start + 5000])
    # What the database's own maintenance (autovacuum...) does over time:
    # statistics for the planner about the rows just added.
    with plugin.engine.begin() as conn:
        conn.exec_driver_sql('ANALYZE')


LIST_CODE = '''
import sys, time
sys.path.insert(0, {root!r})
import cinderlib
start = time.perf_counter()
cinderlib.setup(state_path={state!r}, persistence_config={{
    'storage': 'db', 'connection': {url!r}}})
backend = cinderlib.Backend('listed', **{driver!r})
ready = time.perf_counter()
volumes = backend.volumes
done = time.perf_counter()
print(len(volumes), done - ready, ready - start)
'''


def measure(url, label, runs, state):
    cinderlib.setup(state_path=state, persistence_config={'storage': 'db',
                                                          'connection': url})
    plugin = cinderlib.Backend.persistence
    small = cinderlib.Backend('small', **DRIVER)
    template = small.create_volume(1, name='template',
                                   extra_specs={'thin': 'true'})
    bulk_fill(plugin, 'filler', 1000, template)
    at_1k = operations(small, runs)
    bulk_fill(plugin, 'filler', 99000, template)
    at_100k = operations(small, runs)

    bulk_fill(plugin, 'listed', 10000, template)
    listed = subprocess.run(
        [sys.executable, '-c', LIST_CODE.format(
            root=ROOT, state=state, url=url, driver=DRIVER)],
        capture_output=True, text=True, check=True).stdout.split()
    probe = plugin.get_volumes(backend_name='listed')[5000]
    cinderlib.Backend.set_persistence({'storage': 'db', 'connection': url})
    get_by_id = median(lambda: cinderlib.Volume.get_by_id(probe.id), runs)
    get_by_name = median(lambda: cinderlib.Volume.get_by_name(probe.name),
                         runs)
    listed_backend = cinderlib.Backend('listed', **DRIVER)
    start = time.perf_counter()
    text = listed_backend.dumps
    dumps_time = time.perf_counter() - start
    assert len(json.loads(text)['volumes']) == 10000
    for backend in list(cinderlib.Backend.backends.values()):
        backend.unload()
    return {'label': label, 'at_1k': at_1k, 'at_100k': at_100k,
            'list': float(listed[1]), 'listed': int(listed[0]),
            'get_by_id': get_by_id, 'get_by_name': get_by_name,
            'dumps': dumps_time}


def memory_baseline(runs, state):
    cinderlib.setup(state_path=state, persistence_config={'storage':
                                                          'memory'})
    results = operations(cinderlib.Backend('baseline', **DRIVER), runs)
    for backend in list(cinderlib.Backend.backends.values()):
        backend.unload()
    return results


def report(baseline, figures):
    print(f'\n== {figures["label"]}')
    print(f'{"operation":<12}{"memory ms":>11}{"db@1k ms":>10}'
          f'{"db@100k ms":>12}{"overhead@1k":>13}{"overhead@100k":>15}')
    for name, memory_time in baseline.items():
        small, large = figures['at_1k'][name], figures['at_100k'][name]
        print(f'{name:<12}{memory_time * 1e3:>11.3f}{small * 1e3:>10.3f}'
              f'{large * 1e3:>12.3f}{(small - memory_time) * 1e3:>13.3f}'
              f'{(large - memory_time) * 1e3:>15.3f}')
    print(f'list {figures["listed"]} volumes (fresh process): '
          f'{figures["list"]:.3f} s')
    print(f'get_by_id among 100k: {figures["get_by_id"] * 1e3:.3f} ms; '
          f'get_by_name: {figures["get_by_name"] * 1e3:.3f} ms')
    print(f'dumps() of 10,000 volumes: {figures["dumps"]:.3f} s')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=200)
    parser.add_argument('--postgresql', action='store_true')
    args = parser.parse_args()
    state = tempfile.mkdtemp(prefix='cinderlib-dbbench-')
    baseline = memory_baseline(args.runs, state)
    report(baseline, measure(f'sqlite:///{state}/bench.sqlite',
                             'SQLite file (WAL, synchronous=NORMAL)',
                             args.runs, state))
    if args.postgresql:
        servers = tempfile.mkdtemp(prefix='cinderlib-dbbench-servers-')
        started = subprocess.run(
            ['bash', os.path.join(ROOT, 'tools', 'db-servers.sh'), 'start',
             servers], capture_output=True, text=True).stdout
        urls = dict(line.split('=', 1) for line in started.splitlines()
                    if '=' in line)
        try:
            report(baseline, measure(urls['CINDERLIB_TEST_POSTGRES_URL'],
                                     'PostgreSQL 15 (127.0.0.1)',
                                     args.runs, state))
        finally:
            subprocess.run(['bash', os.path.join(ROOT, 'tools',
                                                 'db-servers.sh'),
                            'stop', servers])
            shutil.rmtree(servers, ignore_errors=True)


if __name__ == '__main__':
    main()
