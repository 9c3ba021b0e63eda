"""This library side by side with the retired cinderlib 5.2.0, in one run.

Both sides run the same operations through the public API, on the same
in-memory test driver (``tests/memory_driver.py``, copied unchanged next to
the worker; it does no I/O but a sparse file per connection), each in a
process of its own with its own venv: this checkout's ``.venv`` and a venv
with ``cinderlib==5.2.0`` and Cinder 23.5.0 that bench/retired_venv.py
builds once under ``~/.cache/cinderlib-bench/``.

For each persistence (memory; db on an SQLite file; db on PostgreSQL) and
each side, a worker process (bench/api_worker.py) times ``--ops`` of each
operation after ``--warmup`` untimed ones: create_volume, clone (of one
source volume), connect (one connection on each created volume), ``dumps``
of each of those volumes and ``cinderlib.load()`` of each result; then it
creates volumes up to ``--volumes`` and times ``Volume.get_by_name`` and
``Volume.get_by_id`` among them, and ``dumps`` of the volumes found (as
a process per operation serializes a volume it looked up); then reports
its peak RSS.  Then, for each persistence, fresh processes doing ``import
cinderlib; setup(); Backend(); create_volume(1)`` run ``--cold-runs``
times per side, after one untimed run each (it warms the page cache and
creates the db schema), the sides taking turns.  The sides take turns
for every scenario too, so that both see the same machine load.

Figures are medians; the ratio is ours / retired, from this run only.

    python bench/compare_retired.py [--ops 200] [--volumes 2000]
        [--cold-runs 5] [--scenarios memory,sqlite,postgresql]
        [--postgresql URL | --no-postgresql] [--retired-python 3.11]
        [--retired-cutoff 2023-12-01T00:00:00Z] [--json FILE]

PostgreSQL: ``--postgresql URL`` (``postgresql+psycopg://`` on a server where
the URL's user may create databases) or, by default, a throw-away server
started with tools/db-servers.sh.  Each side gets databases of its own; the
retired side connects with psycopg2, as SQLAlchemy 1.4 has no psycopg 3
dialect.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, 'bench')
sys.path.insert(0, ROOT)

from bench import retired_venv  # noqa: E402

SIDES = ('ours', 'retired')
SCENARIOS = ('memory', 'sqlite', 'postgresql')
TITLES = {'memory': 'memory persistence', 'sqlite': 'db on SQLite',
          'postgresql': 'db on PostgreSQL'}
ROWS = (('create', 'create_volume'), ('clone', 'clone'),
        ('connect', 'connect'), ('load', 'load() per volume'),
        ('dumps', 'dumps per volume'),
        ('get_by_name', 'get by name among {volumes:,}'),
        ('get_by_id', 'get by id among {volumes:,}'),
        ('dumps_read', 'dumps per volume got by id'))


def log(message):
    print(message, file=sys.stderr, flush=True)


class Sides:
    """Where each side's python and worker live, and how to run them."""

    def __init__(self, ours_python, retired_python, work):
        self.python = {'ours': ours_python, 'retired': retired_python}
        # The worker and the driver in a directory of their own: nothing of
        # this checkout on the retired side's sys.path.
        self.home = os.path.join(work, 'worker')
        os.makedirs(os.path.join(self.home, 'tests'))
        open(os.path.join(self.home, 'tests', '__init__.py'), 'w').close()
        shutil.copy(os.path.join(ROOT, 'tests', 'memory_driver.py'),
                    os.path.join(self.home, 'tests'))
        shutil.copy(os.path.join(BENCH, 'api_worker.py'), self.home)
        self.env = dict(os.environ, PYTHONPATH=self.home)
        self.work = work

    def run(self, side, *arguments, cwd=None):
        """Run the worker; the wall-clock time when it was started and
        when it had exited."""
        command = [self.python[side], os.path.join(self.home, 'api_worker.py')]
        begin = time.time()
        done = subprocess.run(command + [str(a) for a in arguments],
                              cwd=cwd or self.work, env=self.env,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        end = time.time()
        if done.returncode:
            tail = '\n'.join(done.stdout.strip().splitlines()[-6:])
            raise RuntimeError(f'{side} worker {arguments[0]} failed:\n'
                               f'{tail}')
        return begin, end

    def fresh_dir(self, name):
        return tempfile.mkdtemp(prefix=f'{name}-', dir=self.work)


class Databases:
    """A fresh database per side and purpose: an SQLite file, or a
    PostgreSQL database on the server given, dropped at the end."""

    def __init__(self, sides, postgresql_url):
        self.sides = sides
        self.postgresql_url = postgresql_url
        self.made = []

    def url(self, side, scenario, directory):
        if scenario == 'sqlite':
            return f'sqlite:///{directory}/bench.sqlite'
        name = f'bench_{side}_{uuid.uuid4().hex[:8]}'
        server = self.server_url(side)
        self.sides.run(side, 'createdb', server, name)
        self.made.append((side, server, name))
        return urllib.parse.urlsplit(server)._replace(
            path=f'/{name}').geturl()

    def server_url(self, side):
        if side == 'retired':
            return self.postgresql_url.replace('postgresql+psycopg://',
                                               'postgresql+psycopg2://', 1)
        return self.postgresql_url

    def drop_all(self):
        for side, server, name in self.made:
            try:
                self.sides.run(side, 'dropdb', server, name)
            except RuntimeError as error:
                log(f'could not drop database {name}: {error}')


def persistence_arguments(databases, side, scenario, directory):
    if scenario == 'memory':
        return ['--persistence', 'memory']
    return ['--persistence', 'db', '--url',
            databases.url(side, scenario, directory)]


def run_operations(sides, databases, scenario, side, args):
    directory = sides.fresh_dir(f'{side}-{scenario}')
    out = os.path.join(directory, 'result.json')
    log(f'{scenario}: {side}: {args.ops} of each operation, then '
        f'{args.volumes:,} volumes')
    sides.run(side, 'ops', *persistence_arguments(databases, side, scenario,
                                                  directory),
              '--ops', args.ops, '--volumes', args.volumes,
              '--warmup', args.warmup, '--workdir', directory, '--out', out,
              *(['--made-lock-files'] if side == 'ours' and
                not args.fresh_lock_files else []),
              cwd=directory)
    with open(out) as source:
        return json.load(source)


def run_cold(sides, databases, scenario, args):
    """Fresh processes, the sides taking turns; one untimed run each."""
    prepared = {}
    for side in SIDES:
        directory = sides.fresh_dir(f'{side}-{scenario}-cold')
        prepared[side] = (directory, persistence_arguments(
            databases, side, scenario, directory))
    runs = {side: [] for side in SIDES}
    log(f'{scenario}: cold starts, {args.cold_runs} per side')
    for number in range(args.cold_runs + 1):
        for side in SIDES if number % 2 else reversed(SIDES):
            directory, persistence = prepared[side]
            out = os.path.join(directory, 'cold.json')
            begin, end = sides.run(side, 'cold', *persistence, '--workdir',
                                   directory, '--out', out, cwd=directory)
            with open(out) as source:
                phases = json.load(source)
            phases['process_wall'] = end - begin
            # Python's start-up before the script's first line, and its
            # exit after the results were written.
            phases['interpreter_start'] = phases['script_started_at'] - begin
            phases['interpreter_exit'] = end - phases['script_ended_at']
            if number:
                runs[side].append(phases)
    return runs


def medians(cold_runs):
    keys = [key for key in cold_runs[0] if isinstance(
        cold_runs[0][key], (int, float)) and not key.endswith('_at')]
    return {key: statistics.median(run[key] for run in cold_runs)
            for key in keys}


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


def duration(seconds):
    if seconds < 1e-3:
        return f'{seconds * 1e6:.3g} us'
    if seconds < 1:
        return f'{seconds * 1e3:.3g} ms'
    return f'{seconds:.2f} s'


def cell(ours, retired, unit=duration):
    return f'{unit(ours)} / {unit(retired)} ({ours / retired:.2f}x)'


def table(results, volumes, cold_runs):
    scenarios = [s for s in SCENARIOS if s in results]
    lines = ['| operation | ' + ' | '.join(
        f'{TITLES[s]}: ours / retired' for s in scenarios) + ' |',
        '|---|' + '---|' * len(scenarios)]
    for key, title in ROWS:
        cells = []
        for scenario in scenarios:
            ops = {side: results[scenario][side]['operations'][key]['median']
                   for side in SIDES}
            cells.append(cell(ops['ours'], ops['retired']))
        lines.append(f'| {title.format(volumes=volumes)} | '
                     + ' | '.join(cells) + ' |')
    cells = [cell(*(results[s][side]['peak_rss_mib'] for side in SIDES),
                  unit=lambda mib: f'{mib:.0f} MiB') for s in scenarios]
    lines.append('| peak RSS | ' + ' | '.join(cells) + ' |')
    for key, title in () if not cold_runs else (
            ('startup', 'import + setup + first Backend'),
            ('process_wall', 'cold start: process running import, setup, '
                             f'Backend, create_volume(1) (median of '
                             f'{cold_runs})')):
        cells = [cell(*(results[s]['cold'][side][key] for side in SIDES))
                 for s in scenarios]
        lines.append(f'| {title} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def cold_phases(results):
    """Where each side's cold start goes (medians)."""
    phases = ('interpreter_start', 'import', 'setup', 'backend',
              'create_volume', 'interpreter_exit', 'process_wall')
    lines = ['Cold start phases, medians: ' + ', '.join(phases)]
    for scenario in (s for s in SCENARIOS if s in results):
        for side in SIDES:
            cold = results[scenario]['cold'][side]
            lines.append(f'- {TITLES[scenario]}, {side}: ' + ', '.join(
                duration(cold[phase]) for phase in phases))
    return '\n'.join(lines)


def load_average():
    return os.getloadavg()


def checkout_commit():
    done = subprocess.run(['git', '-C', ROOT, 'describe', '--always',
                           '--dirty'], capture_output=True, text=True)
    return done.stdout.strip() or 'unknown'


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--ops', type=int, default=200)
    parser.add_argument('--volumes', type=int, default=2000)
    parser.add_argument('--warmup', type=int, default=20)
    parser.add_argument('--cold-runs', type=int, default=5,
                        help='0: no cold starts')
    parser.add_argument('--scenarios', default=','.join(SCENARIOS))
    parser.add_argument('--fresh-lock-files', action='store_true',
                        help="time this library's operations in a lock "
                             "directory without files, each operation "
                             "making the files it is the first to use "
                             "(default: the files made beforehand, as on "
                             "a host after its first operations)")
    parser.add_argument('--postgresql', metavar='URL')
    parser.add_argument('--no-postgresql', action='store_true')
    parser.add_argument('--ours-python',
                        default=os.path.join(ROOT, '.venv', 'bin', 'python'))
    parser.add_argument('--retired-python',
                        default=retired_venv.DEFAULT_PYTHON,
                        help='X.Y: the retired venv\'s Python')
    parser.add_argument('--retired-cutoff',
                        default=retired_venv.DEFAULT_CUTOFF,
                        help='its dependencies as uploaded before this')
    parser.add_argument('--json', metavar='FILE',
                        help='also write every figure to FILE')
    args = parser.parse_args()
    args.scenarios = [s for s in args.scenarios.split(',') if s]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f'unknown scenarios: {", ".join(sorted(unknown))}')
    if args.no_postgresql and 'postgresql' in args.scenarios:
        args.scenarios.remove('postgresql')
    if args.postgresql and not args.postgresql.startswith(
            'postgresql+psycopg://'):
        parser.error('--postgresql takes a postgresql+psycopg:// URL')
    if args.volumes < 2 * (args.ops + args.warmup) + 1:
        parser.error('--volumes must exceed 2 * (--ops + --warmup)')
    if not os.path.exists(args.ours_python):
        parser.error(f'no {args.ours_python}: make the checkout\'s venv '
                     f'(python3 -m venv .venv && .venv/bin/pip install '
                     f'-e .) or give --ours-python')
    return args


def main():
    args = parse_arguments()
    try:
        retired_python = retired_venv.ensure(
            args.retired_python, args.retired_cutoff, log)
    except retired_venv.RetiredVenvError as error:
        sys.exit(f'cannot build the retired library\'s venv: {error}')
    work = tempfile.mkdtemp(prefix='cinderlib-compare-')
    servers = None
    databases = None
    results = {}
    try:
        sides = Sides(args.ours_python, retired_python, work)
        if 'postgresql' in args.scenarios and not args.postgresql:
            # Outside ``work`` (0700): the server runs as its own user.
            servers = tempfile.mkdtemp(prefix='cinderlib-compare-pg-')
            args.postgresql = start_postgresql(servers)
            if not args.postgresql:
                args.scenarios.remove('postgresql')
        databases = Databases(sides, args.postgresql)
        load_before = load_average()
        for number, scenario in enumerate(args.scenarios):
            order = SIDES if number % 2 == 0 else tuple(reversed(SIDES))
            results[scenario] = {side: run_operations(
                sides, databases, scenario, side, args) for side in order}
        for scenario in args.scenarios if args.cold_runs else ():
            cold = run_cold(sides, databases, scenario, args)
            results[scenario]['cold_runs'] = cold
            results[scenario]['cold'] = {side: medians(cold[side])
                                         for side in SIDES}
            for side in SIDES:
                results[scenario]['cold'][side]['startup'] = statistics.median(
                    run['import'] + run['setup'] + run['backend']
                    for run in cold[side])
        load_after = load_average()
    except RuntimeError as error:
        sys.exit(str(error))
    finally:
        if databases:
            databases.drop_all()
        if servers:
            subprocess.run(['bash', os.path.join(ROOT, 'tools',
                                                 'db-servers.sh'),
                            'stop', servers])
            shutil.rmtree(servers, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    report(args, results, retired_python, load_before, load_after)


def report(args, results, retired_python, load_before, load_after):
    first = results[args.scenarios[0]]
    versions = {side: first[side]['versions'] for side in SIDES}
    print(f'ours / retired, medians; {args.ops} of each operation after '
          f'{args.warmup} untimed; checkout {checkout_commit()}; load '
          f'average {load_before[0]:.1f} before, {load_after[0]:.1f} after')
    print('this library\'s lock files: ' + (
        'made by the operations that first use them' if
        args.fresh_lock_files else 'made before the operations'))
    for side in SIDES:
        print(f'- {side}: ' + ', '.join(
            f'{name} {version}' for name, version in versions[side].items()))
    print()
    print(table(results, args.volumes, args.cold_runs))
    if args.cold_runs:
        print()
        print(cold_phases(results))
    if args.json:
        document = {
            'settings': {key: getattr(args, key) for key in (
                'ops', 'volumes', 'warmup', 'cold_runs', 'scenarios',
                'fresh_lock_files',
                'retired_python', 'retired_cutoff')},
            'checkout': checkout_commit(),
            'retired_venv': retired_venv.manifest(retired_python),
            'load_average': {'before': load_before, 'after': load_after},
            'results': results,
        }
        with open(args.json, 'w') as out:
            json.dump(document, out, indent=1)
        print(f'\nJSON: {args.json}')


if __name__ == '__main__':
    main()
