"""Wall time of a 10-task playbook of the cinderlib.storage collection.

Each task of a playbook is a new Python process that imports the library
(and Cinder) and loads the backend: this is where the library's cold start
shows.  On the file backend with its state in SQLite, the collection built
and installed in a temporary directory, the playbook runs twice: first it
creates, snapshots, clones, grows and exports volumes, then it finds all
done (nothing changes: every task states the end result).

Reported: the wall time of each ``ansible-playbook`` run (and the CPU time
of all its processes), of each task, and, for comparison, of a bare
process that only imports cinderlib and loads the same backend.  On a
busy machine, the CPU times tell more than the wall times.

    python bench/ansible_playbook.py [--json]
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.ansible import runner  # noqa: E402

PLAYBOOK = '''\
- name: Ten tasks on a file backend
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/cinderlib.storage.all:
      backend: "{{ cinderlib_backend }}"
      persistence: "{{ cinderlib_persistence }}"
      setup: "{{ cinderlib_setup }}"
  tasks:
    - name: 1 create volume a
      cinderlib.storage.volume: {name: a, size: 1}
    - name: 2 create volume b
      cinderlib.storage.volume: {name: b, size: 1}
    - name: 3 snapshot volume a
      cinderlib.storage.snapshot: {volume: a, name: a-snap}
    - name: 4 volume c from the snapshot
      cinderlib.storage.volume: {name: c, snapshot: a-snap}
    - name: 5 clone b as d, larger
      cinderlib.storage.volume: {name: d, source_volume: b, size: 2}
    - name: 6 grow volume c
      cinderlib.storage.volume: {name: c, size: 2}
    - name: 7 set metadata of d
      cinderlib.storage.volume: {name: d, metadata: {role: bench}}
    - name: 8 export a to node-1
      cinderlib.storage.connection:
        volume: a
        connector: {host: node-1, initiator: iqn.bench}
    - name: 9 export d to node-1
      cinderlib.storage.connection:
        volume: d
        connector: {host: node-1, initiator: iqn.bench}
    - name: 10 backend info
      cinderlib.storage.backend_info:
'''

COLD_START = '''
import sys, cinderlib
cinderlib.setup(state_path=sys.argv[1], persistence_config={
    'storage': 'db', 'connection': f'sqlite:///{sys.argv[1]}/state.sqlite'})
backend = cinderlib.Backend(
    'files', volume_driver='cinderlib.drivers.file.FileVolumeDriver',
    file_volumes_dir=sys.argv[1] + '/volumes')
backend.volumes_filtered(volume_name='a')
'''


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_playbook(ansible, playbook, extra):
    start, cpu = time.perf_counter(), _children_cpu()
    output = ansible.playbook(playbook, [extra])
    wall = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    if output['returncode']:
        raise SystemExit(f'the playbook failed:\n{output["stdout"][-3000:]}')
    tasks = runner.tasks(output)
    return {'wall_s': round(wall, 2), 'cpu_s': round(cpu, 2),
            'changed': runner.stats(output)['changed'],
            'tasks': [{'name': name, 'seconds': round(seconds, 2),
                       'changed': bool(result.get('changed'))}
                      for name, result, seconds in tasks]}


def cold_start(work, runs=3):
    """Median wall and CPU seconds of a process that only loads."""
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), _children_cpu()
        subprocess.run([sys.executable, '-c', COLD_START, work], check=True)
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - cpu)
    return {'wall_s': round(statistics.median(walls), 2),
            'cpu_s': round(statistics.median(cpus), 2)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--json', action='store_true',
                        help='print the results as JSON')
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix='cinderlib-bench-ansible-')
    try:
        ansible = runner.Ansible(os.path.join(work, 'ansible'))
        ansible.build_and_install()
        state = os.path.join(work, 'state')
        values = runner.file_backend_vars(state)
        extra = runner.write_vars(os.path.join(work, 'vars.json'),
                                  values['backend'], values['persistence'],
                                  values['setup'])
        playbook = os.path.join(work, 'ten-tasks.yml')
        with open(playbook, 'w') as playbook_file:
            playbook_file.write(PLAYBOOK)
        results = {'first run': timed_playbook(ansible, playbook, extra),
                   'second run': timed_playbook(ansible, playbook, extra),
                   'cold start': cold_start(state)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for run in ('first run', 'second run'):
        result = results[run]
        print(f'{run}: {result["wall_s"]} s for 10 tasks, '
              f'{result["cpu_s"]} s of CPU ({result["changed"]} changed)')
        for task in result['tasks']:
            state = 'changed' if task['changed'] else 'ok'
            print(f'  {task["seconds"]:6.2f} s  {state:8} {task["name"]}')
    cold = results['cold start']
    print(f'cold start of one process (import cinderlib, load the '
          f'backend): {cold["wall_s"]} s, {cold["cpu_s"]} s of CPU')


if __name__ == '__main__':
    main()
