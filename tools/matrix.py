#!/usr/bin/env python3
"""The support matrix: every supported Cinder release on every Python it
supports, each cell tested in a virtualenv of its own.

    python3 tools/matrix.py list
        the cells, with their interpreters (a missing one is an error).
    python3 tools/matrix.py constraints [--release 27 ...]
        resolve each release's dependencies as they were shortly after it
        came out (pip's --uploaded-prior-to, on PyPI's upload dates) on every
        Python of its cells, and write constraints/cinder-NN.txt.
    python3 tools/matrix.py run [--cells py311-cinder27,... | --quick]
                                [--results F] [--main-venv .venv]
                                [-- PYTEST_ARGS]
        run the cells' suites and write the results file (Python, Cinder,
        os-brick and SQLAlchemy versions, test counts, wall time per cell).
        With --main-venv, the newest cell (MAIN_CELL) runs the full suite in
        that virtualenv, with PYTEST_ARGS; the other cells run CELL_SUITE,
        their virtualenvs made while the full suite runs.  --quick: the
        cells of QUICK_CELLS only.
        Then the JSON each cell wrote is loaded under every Cinder release
        (tests/compat/test_cinder_releases.py).

Cell virtualenvs are kept in $CINDERLIB_MATRIX_CACHE (default
~/.cache/cinderlib-matrix), one per cell, named by a hash of the cell's
constraints file, interpreter and requirements: a second run reuses them,
and a changed constraints file makes a new one.  pip's own cache
(~/.cache/pip) keeps the wheels between cells.  An interpreter is found as
$CINDERLIB_PYTHON3_NN, then under $PYENV_ROOT/versions, then as
``python3.NN`` on PATH.

Exit status: 0 when every cell passed, 1 when one failed, 2 when an
interpreter is missing or the usage is wrong.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import fcntl
import glob
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from typing import Callable, NamedTuple, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONSTRAINTS = os.path.join(ROOT, 'constraints')
COMMITTED_RESULTS = os.path.join(ROOT, 'doc', 'source', '_generated',
                                 'matrix.json')
# Where the results of a run of some cells go unless told (the committed
# file holds the whole matrix: the documentation shows every cell).
PARTIAL_RESULTS = os.path.join(ROOT, 'doc', 'build', 'matrix.json')
RELEASE_SAMPLES = os.path.join('tests', 'compat', 'releases')


class Release(NamedTuple):
    cinder: int
    series: str           # OpenStack's name for the release cycle
    released: str         # cinder N.0.0 on PyPI
    resolved_before: str  # the era of the dependencies in its constraints
    pythons: tuple[str, ...]


# Pythons: those the release's Requires-Python and classifiers accept,
# among the four this project supports.
RELEASES = (
    Release(27, '2025.2', '2025-10-01', '2025-10-15',
            ('3.10', '3.11', '3.12', '3.13')),
    Release(28, '2026.1', '2026-04-01', '2026-04-15',
            ('3.10', '3.11', '3.12', '3.13')),
    Release(29, '2026.2', '2026-09-30', '2026-10-14',
            ('3.11', '3.12', '3.13')),
)
# The cell of the full suite: the newest Cinder, on the Python that
# Debian's Ceph bindings (rados, rbd) are built for.
MAIN_CELL = 'py311-cinder29'
# A quicker check than every cell (``run --quick``): the full suite on
# MAIN_CELL and the cell suite on every release and every Python at least
# once, with the oldest and the newest Python on the oldest Cinder.  CI
# (tools/test.sh) runs every cell.
QUICK_CELLS = (MAIN_CELL, 'py310-cinder27', 'py313-cinder27',
               'py312-cinder28', 'py313-cinder29')
# What the other cells run: the unit and persistence suites, and the
# JSON round trip between releases and the schema check.
CELL_SUITE = ('tests/unit', 'tests/persistence',
              'tests/compat/test_cinder_releases.py')
# Left to the full suite, to keep CI's time: tests of the library's own
# processes, terminal output and database servers, which do not depend on
# the Cinder release, and MariaDB (SQLite and PostgreSQL run everywhere).
CELL_EXCLUDED = {
    'tests/unit/test_progress.py': 'progress lines on a terminal',
    'tests/unit/test_examples.py': 'the examples, in processes of their own',
    'tests/persistence/test_dbms_concurrency.py': 'processes racing',
    'tests/persistence/test_dbms_outage.py': 'database servers going down',
    'tests/persistence/test_stress.py': 'load on the database',
}
# Tests left out by name (pytest -k): MariaDB's, and processes sharing
# a database or restarting on it.
CELL_EXCLUDED_KEYWORDS = ('mysql', 'mariadb', 'processes_',
                          'process_restart')
CROSS_RELEASE_TEST = 'tests/compat/test_cinder_releases.py'
# Fewer hypothesis examples in the other cells than in the main one (the
# fuzzers' inputs do not depend on the Cinder release).
CELL_FUZZ_EXAMPLES = '40'
EXTRAS = 'test,docs'
# Versions some cells need beyond their release's era, with the reason,
# by (release, python): written into the constraints file.
NEWER_FOR_PYTHON: dict[tuple[int, str], list[tuple[str, str]]] = {}
# Packages whose versions every results file records.
RECORDED = {'cinder': 'cinder', 'os-brick': 'os_brick',
            'sqlalchemy': 'sqlalchemy', 'oslo.versionedobjects':
            'oslo_versionedobjects', 'eventlet': 'eventlet'}


class Cell(NamedTuple):
    release: Release
    python: str

    @property
    def name(self) -> str:
        return f'py{self.python.replace(".", "")}-cinder{self.release.cinder}'

    @property
    def constraints(self) -> str:
        return constraints_file(self.release.cinder)


def constraints_file(cinder: int) -> str:
    return os.path.join(CONSTRAINTS, f'cinder-{cinder}.txt')


def all_cells() -> list[Cell]:
    return [Cell(release, python) for release in RELEASES
            for python in release.pythons]


class MissingInterpreter(Exception):
    pass


def find_python(version: str) -> str:
    """The path of a CPython ``version`` interpreter, or MissingInterpreter
    saying how to provide one."""
    env_name = 'CINDERLIB_PYTHON' + version.replace('.', '_')
    candidates = []
    if os.environ.get(env_name):
        candidates.append(os.environ[env_name])
    pyenv = os.environ.get('PYENV_ROOT', os.path.expanduser('~/.pyenv'))
    candidates += sorted(
        glob.glob(os.path.join(pyenv, 'versions', f'{version}.*', 'bin',
                               f'python{version}')),
        key=_patch_level, reverse=True)
    on_path = shutil.which(f'python{version}')
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        try:
            found = subprocess.run(
                [candidate, '-c', 'import sys; print("%d.%d" % '
                                  'sys.version_info[:2])'],
                capture_output=True, text=True, timeout=60).stdout.strip()
        except OSError:
            continue
        if found == version:
            return candidate
    raise MissingInterpreter(
        f'Python {version} not found (looked at ${env_name}, '
        f'{pyenv}/versions/{version}.*, python{version} on PATH): install '
        f'it (pyenv install {version}) or set {env_name}')


def _patch_level(path: str) -> tuple[int, ...]:
    version = path.split(os.sep)[-3]
    return tuple(int(part) if part.isdigit() else -1
                 for part in version.split('.'))


def select_cells(names: Optional[str]) -> list[Cell]:
    cells = all_cells()
    if not names:
        return cells
    by_name = {cell.name: cell for cell in cells}
    chosen = []
    for name in names.split(','):
        if name.strip() not in by_name:
            raise SystemExit(f'matrix: no cell {name!r}; cells: '
                             f'{", ".join(by_name)}')
        chosen.append(by_name[name.strip()])
    return chosen


# ---------------------------------------------------------------------------
# Constraints files
# ---------------------------------------------------------------------------

def clean_pip_env(index_url: str) -> dict[str, str]:
    """pip's environment for resolving from ``index_url`` alone: no
    configuration file, find-links or extra index, whose files may have no
    upload date (pip would then take them whatever their age)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith('PIP_') or key in ('PIP_CERT',
                                                    'PIP_DEFAULT_TIMEOUT')}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=index_url,
               PIP_DISABLE_PIP_VERSION_CHECK='1')
    return env


def resolve(cell: Cell, index_url: str, work: str) -> dict[str, str]:
    """{distribution: version} pip installs for the cell, as of its
    release's era."""
    venv = os.path.join(work, cell.name)
    subprocess.run([find_python(cell.python), '-m', 'venv', venv],
                   check=True)
    env = clean_pip_env(index_url)
    pip = [os.path.join(venv, 'bin', 'python'), '-m', 'pip']
    # --uploaded-prior-to is pip 26's.
    subprocess.run(pip + ['install', '-q', 'pip>=26'], check=True, env=env)
    report = os.path.join(work, f'{cell.name}.json')
    release = cell.release
    requirements = [f'cinder>={release.cinder},<{release.cinder + 1}',
                    f'{ROOT}[{EXTRAS}]']
    requirements += [req for req, _ in
                     NEWER_FOR_PYTHON.get((release.cinder, cell.python), [])]
    subprocess.run(
        pip + ['install', '--dry-run', '--ignore-installed', '--quiet',
               '--report', report, '--uploaded-prior-to',
               f'{release.resolved_before}T00:00:00Z'] + requirements,
        check=True, env=env)
    with open(report, encoding='utf-8') as stream:
        installed = json.load(stream)['install']
    return {item['metadata']['name']: item['metadata']['version']
            for item in installed
            if item['metadata']['name'].lower() != 'cinderlib'}


def write_constraints(release: Release,
                      by_python: dict[str, dict[str, str]]) -> str:
    """The constraints file: one pin per distribution, with a marker where
    the version (or whether it is installed) depends on the Python."""
    names: dict[str, str] = {}
    for versions in by_python.values():
        for name in versions:
            names.setdefault(name.lower(), name)
    lines = [
        f'# The versions tested with Cinder {release.cinder} '
        f'({release.series}) on Python {", ".join(release.pythons)}.',
        f'# cinder {release.cinder}.0.0 was released on {release.released};'
        f' its dependencies are',
        f'# those on PyPI before {release.resolved_before}, resolved by '
        f'"python3 tools/matrix.py constraints"',
        '# (pip --uploaded-prior-to).  Reproduce a cell of the matrix with:',
        f'#   pip install -c constraints/cinder-{release.cinder}.txt '
        f"'.[{EXTRAS}]'",
    ]
    for (cinder, python), newer in sorted(NEWER_FOR_PYTHON.items()):
        if cinder == release.cinder:
            for requirement, reason in newer:
                lines.append(f'# On Python {python}: {requirement} '
                             f'({reason}).')
    pythons = list(release.pythons)
    for key in sorted(names):
        name = names[key]
        versions = {python: next((v for n, v in by_python[python].items()
                                  if n.lower() == key), None)
                    for python in pythons}
        distinct = {v for v in versions.values() if v is not None}
        if len(distinct) == 1 and None not in versions.values():
            lines.append(f'{name}=={distinct.pop()}')
            continue
        for version in sorted(distinct):
            where = [p for p in pythons if versions[p] == version]
            marker = ' or '.join(f'python_version == "{p}"' for p in where)
            lines.append(f'{name}=={version} ; {marker}')
    path = constraints_file(release.cinder)
    os.makedirs(CONSTRAINTS, exist_ok=True)
    with open(path, 'w', encoding='utf-8') as stream:
        stream.write('\n'.join(lines) + '\n')
    return path


def command_constraints(args: argparse.Namespace) -> int:
    releases = [r for r in RELEASES
                if not args.release or r.cinder in args.release]
    with tempfile.TemporaryDirectory(prefix='cinderlib-constraints-') as work:
        for release in releases:
            by_python = {}
            for python in release.pythons:
                cell = Cell(release, python)
                print(f'== resolving {cell.name}', flush=True)
                by_python[python] = resolve(cell, args.index_url, work)
            print('wrote', write_constraints(release, by_python))
    return 0


# ---------------------------------------------------------------------------
# Cell virtualenvs
# ---------------------------------------------------------------------------

def cache_dir() -> str:
    return os.environ.get('CINDERLIB_MATRIX_CACHE') or os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'),
        'cinderlib-matrix')


def venv_key(cell: Cell, python: str) -> str:
    digest = hashlib.sha256()
    with open(cell.constraints, 'rb') as stream:
        digest.update(stream.read())
    version = subprocess.run([python, '-c', 'import sys; print(sys.version)'],
                             capture_output=True, text=True,
                             check=True).stdout
    digest.update(f'{python}\0{version}\0{EXTRAS}'.encode())
    return digest.hexdigest()[:12]


class CellVenv:
    """A cell's cached virtualenv, locked while in use (two checkouts on
    one machine share the cache)."""

    def __init__(self, cell: Cell, python: str) -> None:
        self.cell = cell
        self.python = python
        self.path = os.path.join(cache_dir(), 'venvs',
                                 f'{cell.name}-{venv_key(cell, python)}')
        self.bin = os.path.join(self.path, 'bin')
        self._lock: Optional[int] = None

    def __enter__(self) -> 'CellVenv':
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        self._lock = os.open(self.path + '.lock',
                             os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            os.close(self._lock)

    @property
    def ready_marker(self) -> str:
        return os.path.join(self.path, 'cinderlib-matrix-ready')

    def prepare(self, log: 'Log') -> float:
        """Create the virtualenv if it is not there (or was left half
        made), then install this checkout into it; returns the seconds
        it took."""
        start = time.monotonic()
        pip = [os.path.join(self.bin, 'python'), '-m', 'pip']
        # --no-compile: most of the modules are never imported (byte code
        # is written on first import), and compiling them all is most of
        # an installation's time.
        install = pip + ['install', '-q', '--no-compile', '-c',
                         self.cell.constraints]
        if not os.path.exists(self.ready_marker):
            self._remove_stale()
            shutil.rmtree(self.path, ignore_errors=True)
            log.run([self.python, '-m', 'venv', self.path])
            log.run(pip + ['install', '-q', '--upgrade', 'pip'])
            # setuptools: to install this checkout without build isolation
            # in later runs.
            log.run(install + ['setuptools', '-e', f'{ROOT}[{EXTRAS}]'])
            with open(self.ready_marker, 'w', encoding='utf-8'):
                pass
        else:
            # This checkout, whichever it is (the venv may have been made
            # for another), and what its requirements added since.
            log.run(install + ['--no-build-isolation', '-e',
                               f'{ROOT}[{EXTRAS}]'])
        return time.monotonic() - start

    def _remove_stale(self) -> None:
        """Other virtualenvs of this cell (from older constraints)."""
        for other in glob.glob(os.path.join(os.path.dirname(self.path),
                                            f'{self.cell.name}-*')):
            if other != self.path and not other.endswith('.lock'):
                shutil.rmtree(other, ignore_errors=True)
                if os.path.exists(other + '.lock'):
                    os.unlink(other + '.lock')


def installed_versions(venv_bin: str) -> dict[str, str]:
    """The Python and the RECORDED distributions' versions of a venv."""
    script = ('import json, platform\n'
              'from importlib import metadata\n'
              f'names = {list(RECORDED)!r}\n'
              'found = {"python": platform.python_version()}\n'
              'for name in names:\n'
              '    found[name] = metadata.version(name)\n'
              'print(json.dumps(found))\n')
    return json.loads(subprocess.run(
        [os.path.join(venv_bin, 'python'), '-c', script],
        capture_output=True, text=True, check=True).stdout)


class Log:
    """Commands' output goes to a log file, shown when one fails."""

    def __init__(self, path: str) -> None:
        self.path = path

    def run(self, command: list[str], **kwargs: object) -> None:
        with open(self.path, 'a', encoding='utf-8') as stream:
            stream.write(f'$ {" ".join(command)}\n')
            stream.flush()
            done = subprocess.run(command, stdout=stream,
                                  stderr=subprocess.STDOUT, **kwargs)
        if done.returncode:
            with open(self.path, encoding='utf-8') as stream:
                tail = stream.read()[-3000:]
            raise RuntimeError(f'{" ".join(command[:6])}... failed '
                               f'({done.returncode}):\n{tail}')


# ---------------------------------------------------------------------------
# Running the matrix
# ---------------------------------------------------------------------------

class Servers:
    """PostgreSQL, MariaDB and Redis for the cells' tests
    (tools/db-servers.sh, tools/redis-server.sh), started when first
    needed; one set per cell running at a time, as tests empty their
    databases.  Under CI a server that cannot start fails the tests that
    need it, which say why."""

    WANTED = ('CINDERLIB_TEST_POSTGRES_URL', 'CINDERLIB_TEST_MYSQL_URL',
              'CINDERLIB_TEST_REDIS_URL')

    def __init__(self) -> None:
        self.work: Optional[str] = None
        self.env: dict[str, str] = {}

    def start(self) -> None:
        if self.work is not None:
            return
        self.work = tempfile.mkdtemp(prefix='cinderlib-matrix-servers-')
        for script in ('db-servers.sh', 'redis-server.sh'):
            if all(os.environ.get(name) for name in self.WANTED):
                break
            started = subprocess.run(
                ['bash', os.path.join(ROOT, 'tools', script), 'start',
                 os.path.join(self.work, script)],
                capture_output=True, text=True, timeout=900)
            for line in started.stdout.splitlines():
                name, _, value = line.partition('=')
                if name in self.WANTED and not os.environ.get(name):
                    self.env[name] = value

    def stop(self) -> None:
        if self.work is None:
            return
        for script in ('redis-server.sh', 'db-servers.sh'):
            directory = os.path.join(self.work, script)
            if os.path.isdir(directory):
                subprocess.run(['bash', os.path.join(ROOT, 'tools', script),
                                'stop', directory], capture_output=True,
                               timeout=300)
        shutil.rmtree(self.work, ignore_errors=True)
        self.work = None


class Slots:
    """At most ``jobs`` cells at a time, each with a set of servers."""

    def __init__(self, jobs: int) -> None:
        self.all = [Servers() for _ in range(max(1, jobs))]
        self.free: queue.Queue[Servers] = queue.Queue()
        for servers in self.all:
            self.free.put(servers)

    def run(self, function: Callable[[Servers], dict]) -> dict:
        servers = self.free.get()
        try:
            servers.start()
            return function(servers)
        finally:
            self.free.put(servers)

    def stop(self) -> None:
        for servers in self.all:
            servers.stop()


def junit_counts(path: str) -> dict[str, int]:
    counts = {'passed': 0, 'failed': 0, 'errors': 0, 'skipped': 0}
    if not os.path.exists(path):
        return counts
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == 'testsuite' else list(root)
    for suite in suites:
        tests = int(suite.get('tests', 0))
        failed = int(suite.get('failures', 0))
        errors = int(suite.get('errors', 0))
        skipped = int(suite.get('skipped', 0))
        counts['passed'] += tests - failed - errors - skipped
        counts['failed'] += failed
        counts['errors'] += errors
        counts['skipped'] += skipped
    return counts


def run_pytest(python: str, paths: list[str], junit: str,
               env: dict[str, str], log_path: str,
               echo: bool) -> tuple[int, dict[str, int], float]:
    command = [python, '-m', 'pytest', '-p', 'no:cacheprovider',
               f'--junitxml={junit}'] + paths
    start = time.monotonic()
    with open(log_path, 'a', encoding='utf-8') as stream:
        stream.write(f'$ {" ".join(command)}\n')
        stream.flush()
        if echo:
            done = subprocess.run(command + ['-q'], cwd=ROOT, env=env)
        else:
            done = subprocess.run(command + ['-q'], cwd=ROOT, env=env,
                                  stdout=stream, stderr=subprocess.STDOUT)
    return done.returncode, junit_counts(junit), time.monotonic() - start


def cell_pytest_args() -> list[str]:
    keywords = ' and '.join(f'not {word}' for word in CELL_EXCLUDED_KEYWORDS)
    return list(CELL_SUITE) + [f'--ignore={path}' for path in
                               CELL_EXCLUDED] + ['-k', keywords]


def cell_env(servers: Servers, fixtures: str, fuzz: Optional[str],
             venv_bin: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(servers.env)
    env['CINDERLIB_CROSS_RELEASE_DIR'] = fixtures
    env['PATH'] = venv_bin + os.pathsep + env.get('PATH', '')
    env.pop('PYTHONPATH', None)
    if fuzz:
        env.setdefault('CINDERLIB_FUZZ_EXAMPLES', fuzz)
    return env


def results_file(given: Optional[str], cells: list[Cell]) -> str:
    """Where a run's results go: ``given``, else the committed file when
    every cell runs, else PARTIAL_RESULTS."""
    if given:
        return os.path.abspath(given)
    return COMMITTED_RESULTS if set(cells) == set(all_cells()) else (
        PARTIAL_RESULTS)


def command_run(args: argparse.Namespace) -> int:
    cells = select_cells(','.join(QUICK_CELLS) if args.quick else args.cells)
    pythons, missing = {}, []
    for cell in cells:
        if args.main_venv and cell.name == MAIN_CELL:
            continue
        try:
            pythons[cell.python] = pythons.get(
                cell.python) or find_python(cell.python)
        except MissingInterpreter as exc:
            missing.append(f'{cell.name}: {exc}')
    if missing:
        for line in missing:
            print(f'matrix: {line}', file=sys.stderr)
        return 2
    results_path = results_file(args.results, cells)
    # Stopped (CI's time out): the servers are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = tempfile.mkdtemp(prefix='cinderlib-matrix-')
    fixtures = os.path.join(work, 'cross-release')
    os.makedirs(fixtures)
    done: dict[str, dict] = {}
    started = time.monotonic()
    slots = Slots(args.jobs)

    def record_results(final: bool = False) -> list[dict]:
        """The results so far in the work directory (tests may read the
        results file while the cells run), at the end in results_path."""
        records = [done[cell.name] for cell in cells if cell.name in done]
        write_results(results_path if final else os.path.join(
            work, 'matrix.json'), records, started)
        return records

    # While the full suite runs, the other cells' virtualenvs are made:
    # making one is mostly waiting on downloads, and the full suite
    # leaves a core idle.
    makers = concurrent.futures.ThreadPoolExecutor(args.jobs)
    made: dict[str, concurrent.futures.Future[float]] = {}

    def cell_runner(cell: Cell) -> Callable[[Servers], dict]:
        return lambda servers: run_cell(cell, pythons, args, servers,
                                        fixtures, work, made.get(cell.name))
    try:
        # The full suite first, alone: it prints its output.
        main = [cell for cell in cells
                if args.main_venv and cell.name == MAIN_CELL]
        if main:
            for cell in cells:
                if cell not in main:
                    made[cell.name] = makers.submit(
                        make_venv, cell, pythons[cell.python],
                        os.path.join(work, f'{cell.name}.log'))
        for cell in main:
            done[cell.name] = slots.run(cell_runner(cell))
            record_results()
        pool = concurrent.futures.ThreadPoolExecutor(args.jobs)
        try:
            running = {pool.submit(slots.run, cell_runner(cell)): cell
                       for cell in cells if cell not in main}
            for future in concurrent.futures.as_completed(running):
                done[running[future].name] = future.result()
                record_results()
        finally:
            # Stopped (SIGTERM): the cells not started yet never start.
            pool.shutdown(wait=True, cancel_futures=True)
        records = record_results()
        cross_release(cells, pythons, args, slots, fixtures, work, records)
        records = record_results(final=True)
        if args.update_fixtures:
            update_fixtures(cells, fixtures)
    finally:
        makers.shutdown(wait=True, cancel_futures=True)
        slots.stop()
        if args.keep_logs:
            print(f'matrix: logs in {work}')
        else:
            shutil.rmtree(work, ignore_errors=True)
    print_table(records)
    print(f'matrix: results in {results_path}')
    return 0 if all(r['status'] == 'passed' for r in records) else 1


def make_venv(cell: Cell, python: str, log_path: str) -> float:
    """Make a cell's virtualenv if it is not there; the seconds it took."""
    with CellVenv(cell, python) as venv:
        if os.path.exists(venv.ready_marker):
            return 0.0
        return venv.prepare(Log(log_path))


def run_cell(cell: Cell, pythons: dict[str, str], args: argparse.Namespace,
             servers: Servers, fixtures: str, work: str,
             made: Optional[concurrent.futures.Future[float]] = None) -> dict:
    log_path = os.path.join(work, f'{cell.name}.log')
    log = Log(log_path)
    record: dict = {'cell': cell.name, 'cinder_release': cell.release.cinder,
                    'python_series': cell.python}
    main = bool(args.main_venv) and cell.name == MAIN_CELL
    print(f'== {cell.name}: ' + ('full suite' if main else
                                 'unit and persistence'), flush=True)
    if main:
        venv_bin = os.path.join(os.path.abspath(args.main_venv), 'bin')
        paths = list(args.pytest_args)
        record['suite'] = ' '.join(['pytest'] + paths) if paths else 'full'
        record['setup_seconds'] = 0.0
        return _run_in(cell, venv_bin, paths, record, servers, fixtures,
                       work, log_path, None, echo=True)
    record['suite'] = 'unit+persistence'
    try:
        made_seconds = made.result() if made is not None else 0.0
        with CellVenv(cell, pythons[cell.python]) as venv:
            record['setup_seconds'] = round(
                made_seconds + venv.prepare(log), 1)
            return _run_in(cell, venv.bin, cell_pytest_args(), record, servers,
                           fixtures, work, log_path, CELL_FUZZ_EXAMPLES,
                           echo=False)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f'matrix: {cell.name}: set-up failed: {exc}', file=sys.stderr)
        record.update(status='failed', error=str(exc).splitlines()[0])
        return record


def _run_in(cell: Cell, venv_bin: str, paths: list[str], record: dict,
            servers: Servers, fixtures: str, work: str, log_path: str,
            fuzz: Optional[str], echo: bool) -> dict:
    python = os.path.join(venv_bin, 'python')
    record.update(installed_versions(venv_bin))
    found = (record['python'].rpartition('.')[0],
             record['cinder'].partition('.')[0])
    if found != (cell.python, str(cell.release.cinder)):
        print(f'matrix: {cell.name}: {venv_bin} has Python {found[0]} and '
              f'Cinder {found[1]}', file=sys.stderr)
        record.update(status='failed', error='wrong virtualenv')
        return record
    env = cell_env(servers, fixtures, fuzz, venv_bin)
    env['CINDERLIB_MATRIX_CELL'] = cell.name
    junit = os.path.join(work, f'{cell.name}.xml')
    code, counts, seconds = run_pytest(python, paths, junit, env, log_path,
                                       echo)
    record.update(counts)
    record['seconds'] = round(seconds, 1)
    record['status'] = 'passed' if code == 0 else 'failed'
    print(f'   {_summary(record)}', flush=True)
    if code and not echo:
        with open(log_path, encoding='utf-8') as stream:
            print(stream.read()[-6000:], file=sys.stderr)
    return record


def cross_release(cells: list[Cell], pythons: dict[str, str],
                  args: argparse.Namespace, slots: Slots,
                  fixtures: str, work: str, records: list[dict]) -> None:
    """Load the JSON every cell wrote under one cell of each release: in
    their own runs, cells could load only the JSON of the cells that had
    run before them."""
    first: dict[int, Cell] = {}
    for cell in cells:
        first.setdefault(cell.release.cinder, cell)
    if len(first) < 2:
        return
    print('== JSON of every release, loaded under each release', flush=True)
    for cell in first.values():
        record = next(r for r in records if r['cell'] == cell.name)
        if 'python' not in record:  # its set-up failed
            continue
        log_path = os.path.join(work, f'{cell.name}-cross.log')
        junit = os.path.join(work, f'{cell.name}-cross.xml')
        if args.main_venv and cell.name == MAIN_CELL:
            venv_bin = os.path.join(os.path.abspath(args.main_venv), 'bin')
        else:
            with CellVenv(cell, pythons[cell.python]) as venv:
                venv_bin = venv.bin
        env = cell_env(slots.all[0], fixtures, None, venv_bin)
        env['CINDERLIB_MATRIX_CELL'] = cell.name
        code, counts, seconds = run_pytest(
            os.path.join(venv_bin, 'python'),
            [CROSS_RELEASE_TEST, '-k', 'every_release'], junit, env,
            log_path, echo=False)
        record['cross_release'] = {'status': 'passed' if code == 0 else
                                   'failed', 'seconds': round(seconds, 1),
                                   **counts}
        if code:
            record['status'] = 'failed'
            with open(log_path, encoding='utf-8') as stream:
                print(stream.read()[-6000:], file=sys.stderr)
        print(f'   {cell.name}: {record["cross_release"]["status"]} '
              f'({counts["passed"]} passed)', flush=True)


def update_fixtures(cells: list[Cell], fixtures: str) -> None:
    """Keep the JSON sample of each release's first cell in the tests."""
    done = set()
    for cell in cells:
        source = os.path.join(fixtures, f'{cell.name}.json')
        if cell.release.cinder in done or not os.path.exists(source):
            continue
        target = os.path.join(ROOT, RELEASE_SAMPLES,
                              f'cinder-{cell.release.cinder}.json')
        shutil.copyfile(source, target)
        done.add(cell.release.cinder)
        print(f'matrix: wrote {os.path.relpath(target, ROOT)}')


def _summary(record: dict) -> str:
    return (f'{record["cell"]}: {record["status"]}, {record["passed"]} '
            f'passed, {record["failed"] + record["errors"]} failed, '
            f'{record["skipped"]} skipped in {record["seconds"]} s '
            f'(set-up {record.get("setup_seconds", 0)} s)')


def write_results(path: str, records: list[dict], started: float) -> None:
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                            cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    results = {
        'generated_by': 'tools/matrix.py run',
        'date': datetime.datetime.now(datetime.timezone.utc).strftime(
            '%Y-%m-%d'),
        'commit': commit or None,
        'main_cell': MAIN_CELL,
        'cell_suite': cell_pytest_args(),
        'total_seconds': round(time.monotonic() - started, 1),
        'releases': [{'cinder': r.cinder, 'series': r.series,
                      'released': r.released, 'pythons': list(r.pythons)}
                     for r in RELEASES],
        'cells': records,
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + '.tmp'
    with open(temporary, 'w', encoding='utf-8') as stream:
        json.dump(results, stream, indent=1, sort_keys=True)
        stream.write('\n')
    os.replace(temporary, path)


def print_table(records: list[dict]) -> None:
    print(f'{"cell":16} {"status":7} {"cinder":8} {"os-brick":9} '
          f'{"SQLAlchemy":11} {"pass":>5} {"fail":>5} {"skip":>5} '
          f'{"test s":>7} {"setup s":>7}')
    for r in records:
        print(f'{r["cell"]:16} {r["status"]:7} {r.get("cinder", "?"):8} '
              f'{r.get("os-brick", "?"):9} {r.get("sqlalchemy", "?"):11} '
              f'{r.get("passed", 0):5} '
              f'{r.get("failed", 0) + r.get("errors", 0):5} '
              f'{r.get("skipped", 0):5} {r.get("seconds", 0):7} '
              f'{r.get("setup_seconds", 0):7}')


def command_list(args: argparse.Namespace) -> int:
    status = 0
    for cell in all_cells():
        try:
            where = find_python(cell.python)
        except MissingInterpreter as exc:
            where, status = f'MISSING: {exc}', 2
        print(f'{cell.name:16} {where}')
    return status


def command_python(args: argparse.Namespace) -> int:
    try:
        print(find_python(args.version))
    except MissingInterpreter as exc:
        print(f'matrix: {exc}', file=sys.stderr)
        return 2
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description='The Cinder x Python support matrix.')
    commands = parser.add_subparsers(dest='command', required=True)
    commands.add_parser('list', help='the cells and their interpreters')
    python = commands.add_parser('python', help="an interpreter's path")
    python.add_argument('version', help='3.10, 3.11...')
    constraints = commands.add_parser(
        'constraints', help='write constraints/cinder-NN.txt')
    constraints.add_argument('--release', type=int, action='append',
                             help='a Cinder release (27, 28...); all if '
                                  'none')
    constraints.add_argument('--index-url', default='https://pypi.org/simple',
                             help='an index giving upload dates (PyPI)')
    run = commands.add_parser('run', help='run the matrix')
    cells = run.add_mutually_exclusive_group()
    cells.add_argument('--cells', help='comma-separated cells (all if none)')
    cells.add_argument('--quick', action='store_true',
                       help='every release and Python once: '
                            f'{", ".join(QUICK_CELLS)}')
    run.add_argument('--results',
                     help='the results file (default: the one the '
                          'documentation shows when every cell runs, '
                          'else doc/build/matrix.json)')
    run.add_argument('--main-venv',
                     help=f'run {MAIN_CELL} in this virtualenv, with the '
                          f'full suite')
    run.add_argument('--keep-logs', action='store_true')
    run.add_argument('--jobs', type=int, default=1,
                     help='cells run at the same time (after the full '
                          'suite, which runs alone)')
    run.add_argument('--update-fixtures', action='store_true',
                     help=f'copy the JSON samples of the first cell of '
                          f'each release to {RELEASE_SAMPLES}')
    run.add_argument('pytest_args', nargs='*',
                     help=f'pytest arguments of {MAIN_CELL} with '
                          f'--main-venv')
    args = parser.parse_args(argv)
    return {'list': command_list, 'python': command_python,
            'constraints': command_constraints,
            'run': command_run}[args.command](args)


if __name__ == '__main__':
    sys.exit(main())
