"""Cold start, side by side with the retired cinderlib 5.2.0: where it goes.

A fresh process runs ``import cinderlib; setup(db on an SQLite file);
Backend(in-memory test driver); create_volume(1)`` (bench/api_worker.py
``cold``), ``--runs`` times per side after one untimed run each (it warms
the page cache and creates the schema), the sides taking turns, as in
bench/compare_retired.py (whose venv and worker this reuses).  Reported per
side: the median wall time of the process, and the median CPU time (user +
system) it used, which a busy machine disturbs less; the ratio ours /
retired of each.  Then one run per side under ``python -X importtime``:
the modules imported, the import time by top-level package (self times
summed), and the costliest imports by cumulative time.

    python bench/cold_start.py [--runs 7] [--top 15] [--json FILE]
        [--persistence db|memory] [--retired-python 3.11]
"""

import argparse
import collections
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench import compare_retired  # noqa: E402
from bench import retired_venv  # noqa: E402

SIDES = compare_retired.SIDES
IMPORT_LINE = re.compile(r'import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)')


def log(message):
    print(message, file=sys.stderr, flush=True)


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def worker_command(sides, side, persistence, directory, *python_options):
    arguments = ['--persistence', persistence]
    if persistence == 'db':
        arguments += ['--url', f'sqlite:///{directory}/bench.sqlite']
    return ([sides.python[side], *python_options,
             os.path.join(sides.home, 'api_worker.py'), 'cold', *arguments,
             '--workdir', directory,
             '--out', os.path.join(directory, 'cold.json')])


def run_once(sides, side, persistence, directory, *python_options):
    """Wall and CPU seconds of one cold-start process, and its stderr."""
    cpu = children_cpu()
    begin = time.perf_counter()
    done = subprocess.run(
        worker_command(sides, side, persistence, directory, *python_options),
        cwd=directory, env=sides.env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - begin
    if done.returncode:
        tail = '\n'.join(done.stderr.strip().splitlines()[-6:])
        raise SystemExit(f'{side} cold start failed:\n{tail}')
    return wall, children_cpu() - cpu, done.stderr


def import_costs(stderr, top):
    """From ``-X importtime`` output: module count, total, self time by
    top-level package, and the ``top`` costliest imports (cumulative)."""
    rows = []
    for line in stderr.splitlines():
        found = IMPORT_LINE.match(line)
        if found:
            rows.append((int(found.group(1)), int(found.group(2)),
                         found.group(4)))
    by_package = collections.Counter()
    for own, _, name in rows:
        by_package[name.partition('.')[0]] += own
    return {'modules': len(rows),
            'total_s': sum(own for own, _, _ in rows) / 1e6,
            'by_package_s': {name: us / 1e6 for name, us in
                             by_package.most_common(top)},
            'cumulative_s': {name: cumulative / 1e6 for _, cumulative, name in
                             sorted(rows, key=lambda row: -row[1])[:top]}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=7)
    parser.add_argument('--top', type=int, default=15)
    parser.add_argument('--persistence', choices=('db', 'memory'),
                        default='db')
    parser.add_argument('--ours-python',
                        default=os.path.join(ROOT, '.venv', 'bin', 'python'))
    parser.add_argument('--retired-python',
                        default=retired_venv.DEFAULT_PYTHON)
    parser.add_argument('--retired-cutoff',
                        default=retired_venv.DEFAULT_CUTOFF)
    parser.add_argument('--json', help='write the results there too')
    args = parser.parse_args()

    try:
        retired = retired_venv.ensure(args.retired_python,
                                      args.retired_cutoff, log)
    except retired_venv.RetiredVenvError as error:
        sys.exit(f'cannot build the retired library\'s venv: {error}')
    with tempfile.TemporaryDirectory(prefix='cinderlib-cold-') as work:
        sides = compare_retired.Sides(args.ours_python, retired, work)
        directories = {side: sides.fresh_dir(side) for side in SIDES}
        runs = {side: [] for side in SIDES}
        load_before = os.getloadavg()
        log(f'cold starts: {args.runs} per side ({args.persistence})')
        for number in range(args.runs + 1):
            for side in SIDES if number % 2 else tuple(reversed(SIDES)):
                wall, cpu, _ = run_once(sides, side, args.persistence,
                                        directories[side])
                if number:
                    runs[side].append({'wall_s': wall, 'cpu_s': cpu})
        imports = {}
        for side in SIDES:
            _, _, stderr = run_once(sides, side, args.persistence,
                                    directories[side], '-X', 'importtime')
            imports[side] = import_costs(stderr, args.top)
        load_after = os.getloadavg()

    results = {side: {key: statistics.median(run[key] for run in runs[side])
                      for key in ('wall_s', 'cpu_s')} for side in SIDES}
    print(f'Cold start ({args.persistence}), medians of {args.runs}; load '
          f'average {load_before[0]:.1f} before, {load_after[0]:.1f} after')
    for key, title in (('wall_s', 'wall'), ('cpu_s', 'CPU (user+sys)')):
        ours, old = results['ours'][key], results['retired'][key]
        print(f'- {title}: ours {ours:.2f} s / retired {old:.2f} s '
              f'({ours / old:.2f}x)')
    for side in SIDES:
        found = imports[side]
        print(f'\n{side}: {found["modules"]} modules imported, '
              f'{found["total_s"]:.2f} s of import (one run, -X importtime)')
        print('  by top-level package (self time): ' + ', '.join(
            f'{name} {seconds:.2f}'
            for name, seconds in found['by_package_s'].items()))
        print('  costliest imports (cumulative): ' + ', '.join(
            f'{name} {seconds:.2f}'
            for name, seconds in found['cumulative_s'].items()))
    if args.json:
        with open(args.json, 'w') as out:
            json.dump({'medians': results, 'runs': runs, 'imports': imports,
                       'load_average': [load_before, load_after],
                       'commit': compare_retired.checkout_commit()}, out,
                      indent=1)


if __name__ == '__main__':
    main()
