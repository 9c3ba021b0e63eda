"""This library with 100,000 volumes: create rate, listing, lookups, memory.

For each persistence (memory; db on an SQLite file; db on PostgreSQL), one
process creates ``--volumes`` volumes (uniquely named) through the public
API on the in-memory test driver, timing each.  The create rate is
reported over windows of ``--window`` creates (the window that ends at 1k,
10k, 100k, and a series across the run), so that a rate that falls as the
store grows shows.  Then, in that process: every volume listed
(``backend.volumes``), and ``--lookups`` random ``Volume.get_by_id`` and
``Volume.get_by_name`` (median, p95, after 50 untimed; each kind stops
after a minute, with at least 20 samples); its RSS at each
checkpoint and its peak.  With db, a fresh process then lists every volume
again (nothing cached).

    python bench/scale.py [--volumes 100000] [--window 1000]
        [--lookups 1000] [--scenarios memory,sqlite,postgresql]
        [--postgresql URL | --no-postgresql] [--time-limit 3600]
        [--json FILE] [--explain]

``--explain`` logs PostgreSQL's plan of the listing (``EXPLAIN ANALYZE``,
run after the timed listing) and when its tables were last analyzed.

A scenario whose creates pass ``--time-limit`` seconds stops there, and its
figures say how many volumes it reached.  PostgreSQL: ``--postgresql URL``,
or by default a throw-away server started with tools/db-servers.sh.
"""

import argparse
import array
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

SCENARIOS = ('memory', 'sqlite', 'postgresql')
TITLES = {'memory': 'memory persistence', 'sqlite': 'db on SQLite',
          'postgresql': 'db on PostgreSQL'}
DRIVER = dict(volume_driver='tests.memory_driver.MemoryVolumeDriver',
              memory_read_db=False, memory_capacity_gb=10 ** 9)
UNTIMED_LOOKUPS = 50
# A lookup that scans every volume would take minutes at 100k: each kind of
# lookup stops after this many seconds, with at least MIN_LOOKUPS samples.
LOOKUP_SECONDS = 60
MIN_LOOKUPS = 20


def log(message):
    print(message, file=sys.stderr, flush=True)


def rss_mib():
    with open('/proc/self/statm') as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf('SC_PAGE_SIZE') / 2 ** 20


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def checkpoints(total):
    """1k, 10k, 100k... up to ``total``, and ``total``."""
    points, point = [], 1000
    while point < total:
        points.append(point)
        point *= 10
    return points + [total]


def backend_for(args):
    import cinderlib
    persistence = ({'storage': 'memory'} if args.url is None else
                   {'storage': 'db', 'connection': args.url})
    cinderlib.setup(file_locks_path=args.workdir, disable_logs=True,
                    persistence_config=persistence)
    backend = cinderlib.Backend(
        volume_backend_name='scale', memory_attach_dir=args.workdir,
        **DRIVER)
    # The lock files made first, as on a host after its first operations
    # (see compare_retired.py).
    from cinderlib import locks
    locks.make_lock_files()
    return cinderlib, backend


def spread(samples):
    ordered = sorted(samples)
    return {'median': statistics.median(ordered),
            'p95': ordered[int(round(0.95 * (len(ordered) - 1)))],
            'max': ordered[-1], 'n': len(ordered)}


def create_all(backend, args):
    """Create the volumes; the time of each, and RSS at checkpoints."""
    times = array.array('d')
    ids = []
    rss = {}
    marks = set(checkpoints(args.volumes))
    deadline = time.monotonic() + args.time_limit
    for number in range(1, args.volumes + 1):
        begin = time.perf_counter()
        volume = backend.create_volume(1, name=f'scale-{number:07d}')
        times.append(time.perf_counter() - begin)
        ids.append(volume.id)
        if number in marks:
            rss[number] = rss_mib()
            rate = args.window / sum(times[-args.window:])
            log(f'  {number:,} volumes, {rate:.0f} creates/s')
        if number % args.window == 0 and time.monotonic() > deadline:
            log(f'  time limit: stopping at {number:,} volumes')
            rss[number] = rss_mib()
            break
    return times, ids, rss


def window_rates(times, window):
    """(volumes so far, creates/s over the window ending there)."""
    return [(end, window / sum(times[end - window:end]))
            for end in range(window, len(times) + 1, window)]


def child(args):
    """One scenario, in this process."""
    cinderlib, backend = backend_for(args)
    started_rss = rss_mib()
    times, ids, rss = create_all(backend, args)
    count = len(ids)
    result = {'volumes': count, 'rss_start_mib': started_rss,
              'rss_mib': rss,
              'create_seconds_total': sum(times),
              'rates': window_rates(times, args.window)}
    begin = time.perf_counter()
    listed = backend.volumes
    result['list_all'] = time.perf_counter() - begin
    if len(listed) != count:
        raise SystemExit(f'listed {len(listed)} volumes, created {count}')
    del listed
    if args.explain and args.url and args.url.startswith('postgresql'):
        result['explain'] = explain_listing(cinderlib)
    chosen = random.Random(15).sample(range(count), min(
        count, args.lookups + UNTIMED_LOOKUPS))
    for what, function, keys in (
            ('get_by_id', cinderlib.Volume.get_by_id,
             [ids[i] for i in chosen]),
            ('get_by_name', cinderlib.Volume.get_by_name,
             [f'scale-{i + 1:07d}' for i in chosen])):
        samples = []
        deadline = time.monotonic() + LOOKUP_SECONDS
        for number, key in enumerate(keys):
            if len(samples) >= MIN_LOOKUPS and time.monotonic() > deadline:
                break
            begin = time.perf_counter()
            found = function(key)
            elapsed = time.perf_counter() - begin
            if what == 'get_by_name' and len(found) != 1:
                raise SystemExit(f'get_by_name({key}): {len(found)} found')
            if number >= UNTIMED_LOOKUPS:
                samples.append(elapsed)
        result[what] = spread(samples)
    result['peak_rss_mib'] = peak_rss_mib()
    return result


def explain_listing(cinderlib):
    """PostgreSQL's plan of the listing (EXPLAIN ANALYZE, BUFFERS), run
    once more after the timed one, and when the tables were last
    analyzed."""
    import sqlalchemy
    from cinderlib.persistence import dbms, schema
    query = dbms._query(schema.volumes, ('backend_name',), 'postgresql')
    statement = query.statement.params(
        backend_name='scale')
    engine = cinderlib.Backend.persistence.engine
    sql = str(statement.compile(dialect=engine.dialect,
                                compile_kwargs={'literal_binds': True}))
    with engine.connect() as conn:
        plan = [row[0] for row in conn.execute(sqlalchemy.text(
            'EXPLAIN (ANALYZE, BUFFERS) ' + sql))]
        analyzed = [list(map(str, row)) for row in conn.execute(
            sqlalchemy.text(
                "SELECT relname, last_analyze, last_autoanalyze, n_live_tup,"
                " n_dead_tup FROM pg_stat_user_tables WHERE relname = "
                "'cinderlib_volumes'"))]
    log('\n'.join(['  listing plan:'] + plan + [
        '  analyzed: ' + repr(analyzed)]))
    return {'plan': plan, 'analyzed': analyzed}


def list_child(args):
    """A fresh process lists every volume."""
    _, backend = backend_for(args)
    begin = time.perf_counter()
    count = len(backend.volumes)
    return {'list_all_fresh': time.perf_counter() - begin, 'listed': count}


def run_scenario(scenario, url, args, work):
    directory = tempfile.mkdtemp(prefix=f'{scenario}-', dir=work)
    if scenario == 'sqlite':
        url = f'sqlite:///{directory}/scale.sqlite'
    base = [sys.executable, os.path.abspath(__file__), '--volumes',
            str(args.volumes), '--window', str(args.window), '--lookups',
            str(args.lookups), '--time-limit', str(args.time_limit),
            *(['--explain'] if args.explain else []),
            '--workdir', directory]
    if url:
        base += ['--url', url]
    out = os.path.join(directory, 'result.json')
    log(f'{scenario}: creating {args.volumes:,} volumes')
    env = dict(os.environ, PYTHONPATH=ROOT)
    subprocess.run(base + ['--child', 'create', '--out', out], check=True,
                   cwd=directory, env=env)
    with open(out) as source:
        result = json.load(source)
    if scenario != 'memory':
        subprocess.run(base + ['--child', 'list', '--out', out], check=True,
                       cwd=directory, env=env)
        with open(out) as source:
            result.update(json.load(source))
    return result


def rate_at(result, point):
    for end, rate in result['rates']:
        if end == point:
            return rate
    return None


def table(results, args):
    scenarios = [s for s in SCENARIOS if s in results]
    lines = ['| | ' + ' | '.join(TITLES[s] for s in scenarios) + ' |',
             '|---|' + '---|' * len(scenarios)]

    def row(title, render):
        lines.append(f'| {title} | ' + ' | '.join(
            render(results[s]) for s in scenarios) + ' |')

    def rate(point):
        def render(result):
            value = rate_at(result, point)
            return '-' if value is None else f'{value:,.0f}/s'
        return render

    for point in checkpoints(args.volumes):
        row(f'create rate over the {args.window:,} creates ending at '
            f'{point:,}', rate(point))
    row('slowest / fastest window', lambda r: '{:,.0f} / {:,.0f}/s'.format(
        min(rate for _, rate in r['rates']),
        max(rate for _, rate in r['rates'])))
    row('volumes created', lambda r: f'{r["volumes"]:,}')
    row('list all (the creating process)',
        lambda r: seconds(r['list_all']))
    row('list all (a fresh process)', lambda r: seconds(
        r['list_all_fresh']) if 'list_all_fresh' in r else '-')
    for what in ('get_by_id', 'get_by_name'):
        row(f'{what} median / p95 (samples)',
            lambda r, what=what: '{} / {} ({})'.format(
                seconds(r[what]['median']), seconds(r[what]['p95']),
                r[what]['n']))
    row('RSS after setup / at the end / peak', lambda r: '{:.0f} / {:.0f} '
        '/ {:.0f} MiB'.format(r['rss_start_mib'], max(
            r['rss_mib'].values()), r['peak_rss_mib']))
    return '\n'.join(lines)


def seconds(value):
    if value < 1e-3:
        return f'{value * 1e6:.3g} us'
    if value < 1:
        return f'{value * 1e3:.3g} ms'
    return f'{value:.2f} s'


def series(results, args):
    """Creates/s at ten points across each run: flat or not."""
    lines = []
    for scenario in (s for s in SCENARIOS if s in results):
        rates = results[scenario]['rates']
        step = max(1, len(rates) // 10)
        picked = rates[step - 1::step]
        lines.append(f'- {TITLES[scenario]}: ' + ', '.join(
            f'{end // 1000}k {rate:,.0f}' for end, rate in picked))
    return '\n'.join(lines)


def start_postgresql(servers):
    started = subprocess.run(
        ['bash', os.path.join(ROOT, 'tools', 'db-servers.sh'), 'start',
         servers, 'postgresql'], capture_output=True, text=True)
    for line in started.stdout.splitlines():
        if line.startswith('CINDERLIB_TEST_POSTGRES_URL='):
            return line.partition('=')[2]
    log('PostgreSQL did not start, its column is left out: '
        + ' '.join(started.stderr.split())[:300])
    return None


def fresh_postgresql_database(url):
    """A database of its own on the server of ``url``."""
    import sqlalchemy
    name = f'scale_{os.getpid()}'
    engine = sqlalchemy.create_engine(url, isolation_level='AUTOCOMMIT')
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS {name}'))
        conn.execute(sqlalchemy.text(f'CREATE DATABASE {name}'))
    engine.dispose()
    return urllib.parse.urlsplit(url)._replace(path=f'/{name}').geturl(), name


def drop_postgresql_database(url, name):
    import sqlalchemy
    engine = sqlalchemy.create_engine(url, isolation_level='AUTOCOMMIT')
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS {name}'))
    engine.dispose()


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--volumes', type=int, default=100000)
    parser.add_argument('--window', type=int, default=1000)
    parser.add_argument('--lookups', type=int, default=1000)
    parser.add_argument('--time-limit', type=float, default=3600,
                        help='seconds of creates per scenario')
    parser.add_argument('--scenarios', default=','.join(SCENARIOS))
    parser.add_argument('--postgresql', metavar='URL')
    parser.add_argument('--no-postgresql', action='store_true')
    parser.add_argument('--json', metavar='FILE')
    parser.add_argument('--explain', action='store_true',
                        help="log PostgreSQL's plan of the listing")
    # Used by the parent for its child processes.
    parser.add_argument('--child', choices=('create', 'list'),
                        help=argparse.SUPPRESS)
    parser.add_argument('--url', help=argparse.SUPPRESS)
    parser.add_argument('--workdir', help=argparse.SUPPRESS)
    parser.add_argument('--out', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.volumes < args.window:
        parser.error('--volumes must be at least --window')
    args.scenarios = [s for s in args.scenarios.split(',') if s]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f'unknown scenarios: {", ".join(sorted(unknown))}')
    if args.no_postgresql and 'postgresql' in args.scenarios:
        args.scenarios.remove('postgresql')
    return args


def main():
    args = parse_arguments()
    if args.child:
        result = child(args) if args.child == 'create' else list_child(args)
        with open(args.out, 'w') as out:
            json.dump(result, out)
        return
    work = tempfile.mkdtemp(prefix='cinderlib-scale-')
    servers = database = url = None
    results = {}
    try:
        if 'postgresql' in args.scenarios:
            if not args.postgresql:
                servers = tempfile.mkdtemp(prefix='cinderlib-scale-pg-')
                args.postgresql = start_postgresql(servers)
            if args.postgresql:
                url, database = fresh_postgresql_database(args.postgresql)
            else:
                args.scenarios.remove('postgresql')
        for scenario in args.scenarios:
            results[scenario] = run_scenario(
                scenario, url if scenario == 'postgresql' else None, args,
                work)
    finally:
        if database:
            drop_postgresql_database(args.postgresql, database)
        if servers:
            subprocess.run(['bash', os.path.join(ROOT, 'tools',
                                                 'db-servers.sh'),
                            'stop', servers])
            shutil.rmtree(servers, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f'{args.volumes:,} volumes per persistence, in-memory test driver; '
          f'load average {os.getloadavg()[0]:.1f}')
    print()
    print(table(results, args))
    print()
    print('Creates/s across the run:')
    print(series(results, args))
    if args.json:
        with open(args.json, 'w') as out:
            json.dump({'settings': vars(args), 'results': results}, out,
                      indent=1)
        print(f'\nJSON: {args.json}')


if __name__ == '__main__':
    main()
