"""Where this library's time goes: a profile of create_volume, and of the
imports of a cold start.

``create``: ``--runs`` create_volume calls (memory persistence, in-memory
test driver, after 50 untimed) under cProfile; the top functions by own
time and by cumulative time.

``imports``: a fresh process doing ``import cinderlib; setup();
Backend(); create_volume(1)`` under ``python -X importtime``; the imports
with the largest cumulative time, and the own import time summed per
top-level package.

    python bench/profile_ops.py create [--runs 300] [--top 25]
    python bench/profile_ops.py imports [--top 25]
"""

import argparse
import collections
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

DRIVER = dict(volume_driver='tests.memory_driver.MemoryVolumeDriver',
              memory_read_db=False, memory_capacity_gb=10 ** 9)
COLD_START = f"""
import os, cinderlib
directory = os.getcwd()
cinderlib.setup(file_locks_path=directory, disable_logs=True)
backend = cinderlib.Backend(volume_backend_name='profile',
                            memory_attach_dir=directory, **{DRIVER!r})
backend.create_volume(1)
"""


def profile_create(runs, top):
    import cinderlib
    with tempfile.TemporaryDirectory(prefix='cinderlib-profile-') as work:
        profile_backend(cinderlib, work, runs, top)


def profile_backend(cinderlib, directory, runs, top):
    cinderlib.setup(file_locks_path=directory, disable_logs=True)
    backend = cinderlib.Backend(volume_backend_name='profile',
                                memory_attach_dir=directory, **DRIVER)
    for _ in range(50):
        backend.create_volume(1)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        backend.create_volume(1)
    profiler.disable()
    for order in ('tottime', 'cumulative'):
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.strip_dirs().sort_stats(order).print_stats(top)
        print(f'== {runs} create_volume, by {order}')
        print(text.getvalue().split('\n\n', 1)[-1].strip())
        print()


def profile_imports(top):
    with tempfile.TemporaryDirectory(prefix='cinderlib-profile-') as cwd:
        done = subprocess.run(
            [sys.executable, '-X', 'importtime', '-c', COLD_START],
            cwd=cwd, env=dict(os.environ, PYTHONPATH=ROOT),
            capture_output=True, text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith('import time:') or 'cumulative' in line:
            continue
        own, cumulative, name = line[len('import time:'):].split('|')
        name = name.rstrip()[1:]
        depth = (len(name) - len(name.lstrip())) // 2
        rows.append((int(cumulative), int(own), depth, name.strip()))
    report_imports(rows, top)


def importer_chain(rows, index):
    """The modules whose import brought in ``rows[index]``, outermost
    first (-X importtime lists a module after everything it imported)."""
    chain, depth = [], rows[index][2]
    for _, _, level, name in rows[index + 1:]:
        if level < depth:
            chain.append(name)
            depth = level
    return list(reversed(chain))


def report_imports(rows, top):
    total = sum(own for _, own, _, _ in rows)
    print(f'== imports: {len(rows)} modules, {total / 1e6:.2f} s of own '
          f'import time (inflated by -X importtime)')
    print('\n== the outermost imports, by cumulative time')
    for cumulative, own, _, name in sorted(
            (row for row in rows if row[2] == 0), reverse=True)[:top]:
        print(f'{cumulative / 1e3:8.0f}ms  {name}')
    packages = collections.Counter()
    counts = collections.Counter()
    first = {}
    for index, (_, own, _, name) in enumerate(rows):
        package = name.split('.')[0]
        packages[package] += own
        counts[package] += 1
        first.setdefault(package, index)
    print('\n== own import time per top-level package, and the chain that '
          'first imported it')
    for package, own in packages.most_common(top):
        chain = ' < '.join(reversed(importer_chain(rows, first[package])))
        print(f'{own / 1e3:8.0f}ms {counts[package]:5} modules  {package}'
              + (f'  < {chain}' if chain else ''))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('what', choices=('create', 'imports'))
    parser.add_argument('--runs', type=int, default=300)
    parser.add_argument('--top', type=int, default=25)
    args = parser.parse_args()
    if args.what == 'create':
        profile_create(args.runs, args.top)
    else:
        profile_imports(args.top)


if __name__ == '__main__':
    main()
