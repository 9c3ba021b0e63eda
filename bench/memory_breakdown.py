"""Where the memory goes: resident set size step by step, this library and
the retired one side by side.

For each side (this checkout's ``.venv`` and the retired library's venv of
``bench/retired_venv.py``), fresh processes report their RSS (``VmRSS``):

- ``floor``: a bare ``import cinder.volume.driver`` (what any driver costs,
  per Cinder release);
- ``import``: after ``import cinderlib``; ``setup``: after ``setup()``
  (memory persistence); ``backend``: after the first ``Backend`` (the
  in-memory test driver: Cinder is imported here);
- ``ops``: after ``--ops`` of each of create, clone, connect, dumps and
  load (as ``compare_retired.py`` does);
- then volumes are created up to ``--volumes`` and the growth per 1,000
  volumes is reported, with the peak RSS (``ru_maxrss``).

    python bench/memory_breakdown.py [--ops 200] [--volumes 2000]
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Run in the measured venv: standard library and the API both libraries
# share only, Python 3.8 syntax.
PROBE = r'''
import json, os, resource, sys


def rss():
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024


mode, workdir, ops, volumes = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4])
if sys.argv[5] == 'no-ceph':
    # As if Ceph's bindings were not installed: their import fails.
    sys.modules['rados'] = sys.modules['rbd'] = None
out = {'start': rss()}
if mode == 'floor':
    import cinder.volume.driver  # noqa
    out['floor'] = rss()
    modules = len(sys.modules)
else:
    import cinderlib
    out['import'] = rss()
    cinderlib.setup(file_locks_path=workdir, disable_logs=True,
                    persistence_config={'storage': 'memory'})
    out['setup'] = rss()
    backend = cinderlib.Backend(
        volume_backend_name='bench',
        volume_driver='tests.memory_driver.MemoryVolumeDriver',
        memory_read_db=False, memory_capacity_gb=10 ** 9,
        memory_attach_dir=workdir)
    out['backend'] = rss()
    modules = len(sys.modules)
    connector = {'host': 'bench-node', 'initiator': 'iqn.2024-01.bench:n'}
    count = [0]

    def name():
        count[0] += 1
        return 'bench-%06d' % count[0]
    source = backend.create_volume(1, name=name())
    created = [backend.create_volume(1, name=name()) for _ in range(ops)]
    for _ in range(ops):
        source.clone(name=name())
    for volume in created:
        volume.connect(connector)
    dumped = [volume.dumps for volume in created]
    loaded = [cinderlib.load(text) for text in dumped]
    del dumped, loaded
    out['ops'] = rss()
    out['volumes_after_ops'] = count[0]
    steps = []
    while count[0] < volumes:
        backend.create_volume(1, name=name())
        if count[0] % 500 == 0:
            steps.append((count[0], rss()))
    out['steps'] = steps
out['modules'] = modules
out['peak'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
'''


def retired_python():
    found = sorted(glob.glob(os.path.expanduser(
        '~/.cache/cinderlib-bench/retired-*-py%d.%d-*/bin/python'
        % sys.version_info[:2])))
    if not found:
        raise SystemExit('no retired venv: run bench/retired_venv.py')
    return found[-1]


def probe(python, mode, home, ops, volumes, ceph):
    work = tempfile.mkdtemp(prefix='cinderlib-mem-')
    try:
        out = subprocess.run(
            [python, '-c', PROBE, mode, work, str(ops), str(volumes),
             'ceph' if ceph else 'no-ceph'],
            cwd=work, env=dict(os.environ, PYTHONPATH=home),
            capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(f'{python} {mode}: {out.stderr[-2000:]}')
        return json.loads(out.stdout.splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def growth(steps):
    """MiB per 1,000 volumes, from the first step to the last."""
    if len(steps) < 2:
        return float('nan')
    (first, first_rss), (last, last_rss) = steps[0], steps[-1]
    return (last_rss - first_rss) / (last - first) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--ops', type=int, default=200)
    parser.add_argument('--volumes', type=int, default=2000)
    parser.add_argument('--runs', type=int, default=1)
    parser.add_argument('--json')
    parser.add_argument(
        '--without-ceph-bindings', action='store_true',
        help="make Ceph's rados and rbd modules unimportable on both sides "
             "(os-brick's RBD connector loads librados, ~17 MiB, where "
             "they are installed: in this checkout's venv, not in the "
             "retired one's)")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix='cinderlib-mem-home-')
    try:
        os.mkdir(os.path.join(home, 'tests'))
        open(os.path.join(home, 'tests', '__init__.py'), 'w').close()
        shutil.copy(os.path.join(ROOT, 'tests', 'memory_driver.py'),
                    os.path.join(home, 'tests'))
        sides = {'ours': os.path.join(ROOT, '.venv', 'bin', 'python'),
                 'retired': retired_python()}
        results = {side: {'floor': [], 'api': []} for side in sides}
        for _ in range(args.runs):
            for side, python in sides.items():
                for mode in ('floor', 'api'):
                    results[side][mode].append(probe(
                        python, mode, home, args.ops, args.volumes,
                        not args.without_ceph_bindings))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if args.json:
        with open(args.json, 'w') as out:
            json.dump(results, out, indent=1)
    rows = [('python start', 'api', 'start'),
            ('import cinder.volume.driver', 'floor', 'floor'),
            ('  (modules)', 'floor', 'modules'),
            ('import cinderlib', 'api', 'import'),
            ('setup()', 'api', 'setup'),
            ('first Backend', 'api', 'backend'),
            ('  (modules)', 'api', 'modules'),
            (f'after {args.ops} ops of each kind', 'api', 'ops'),
            ('peak RSS', 'api', 'peak')]

    def value(side, mode, key):
        return min(run[key] for run in results[side][mode])
    print(f'{"RSS, MiB (min of runs)":<34}{"ours":>9}{"retired":>9}'
          f'{"ratio":>7}')
    for label, mode, key in rows:
        ours, retired = value('ours', mode, key), value('retired', mode, key)
        print(f'{label:<34}{ours:>9.1f}{retired:>9.1f}'
              f'{ours / retired:>7.2f}')
    ours = min(growth(run['steps']) for run in results['ours']['api'])
    retired = min(growth(run['steps']) for run in results['retired']['api'])
    print(f'{"growth per 1,000 volumes":<34}{ours:>9.1f}{retired:>9.1f}'
          f'{ours / retired:>7.2f}')


if __name__ == '__main__':
    main()
