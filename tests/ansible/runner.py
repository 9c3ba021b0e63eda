"""Run ansible-core's own tools on the cinderlib.storage collection: build
its tarball, install it, run ``ansible-doc``, ``ansible-test sanity`` and
playbooks (``ansible-playbook`` with the JSON stdout callback).

Everything Ansible writes goes to directories given by the caller: its
home, temporary files, the installed collection.  Shared by
tests/ansible, tests/functional/test_ansible_ceph.py and
bench/ansible_playbook.py.
"""

import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
COLLECTION = os.path.join(ROOT, 'ansible_collections', 'cinderlib',
                          'storage')
BIN = os.path.dirname(sys.executable)
MODULES = ('volume', 'snapshot', 'connection', 'backend_info')
PLAYBOOKS = os.path.join(COLLECTION, 'tests', 'playbooks')
DEMO = os.path.join(COLLECTION, 'playbooks', 'demo.yml')
# What Ansible shows of a value equal to a no_log value (a masked secret).
NO_LOG = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
# Our JSON stdout callback (ansible-core no longer ships one).
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         'callback_plugins')


def tool(name):
    """The path of an ansible-core command of this interpreter's env."""
    path = os.path.join(BIN, name)
    return path if os.path.exists(path) else shutil.which(name) or name


class Ansible:
    """ansible-core commands sharing one private work directory."""

    def __init__(self, work):
        self.work = work
        self.home = os.path.join(work, 'home')
        self.collections = os.path.join(work, 'collections')
        for path in (self.home, self.collections):
            os.makedirs(path, mode=0o700, exist_ok=True)
        # No ansible.cfg of the machine or of a current directory applies.
        self.config = os.path.join(work, 'ansible.cfg')
        with open(self.config, 'w'):
            pass
        self.extra_environment = {}

    @property
    def installed(self):
        return os.path.join(self.collections, 'ansible_collections',
                            'cinderlib', 'storage')

    def environment(self, **extra):
        env = dict(os.environ)
        for name in list(env):
            if name.startswith('ANSIBLE_'):
                del env[name]
        env.update(
            HOME=self.home, XDG_STATE_HOME=os.path.join(self.home, 'state'),
            ANSIBLE_CONFIG=self.config,
            ANSIBLE_HOME=os.path.join(self.home, '.ansible'),
            ANSIBLE_LOCAL_TEMP=os.path.join(self.home, 'tmp'),
            ANSIBLE_REMOTE_TEMP=os.path.join(self.home, 'remote-tmp'),
            ANSIBLE_COLLECTIONS_PATH=self.collections,
            ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0',
            # One process per task, without copying the module to a file.
            ANSIBLE_PIPELINING='1')
        env.update(self.extra_environment)
        env.update(extra)
        return env

    def run(self, command, timeout=600, cwd=None, **env):
        return subprocess.run(command, capture_output=True, text=True,
                              timeout=timeout, cwd=cwd or self.work,
                              env=self.environment(**env))

    def build_and_install(self):
        """``ansible-galaxy collection build`` of the checkout's
        collection, then ``collection install`` of the tarball; returns
        the tarball's path."""
        dist = os.path.join(self.work, 'dist')
        built = self.run([tool('ansible-galaxy'), 'collection', 'build',
                          '--output-path', dist, COLLECTION])
        if built.returncode:
            raise RuntimeError(f'build failed: {built.stderr[-2000:]}')
        [tarball] = [os.path.join(dist, name) for name in os.listdir(dist)]
        done = self.run([tool('ansible-galaxy'), 'collection', 'install',
                         '--force', '-p', self.collections, tarball])
        if done.returncode:
            raise RuntimeError(f'install failed: {done.stderr[-2000:]}')
        return tarball

    def doc(self, module):
        """``ansible-doc --json`` of a module of the collection."""
        done = self.run([tool('ansible-doc'), '--json', '-t', 'module',
                         f'cinderlib.storage.{module}'])
        if done.returncode:
            raise RuntimeError(f'ansible-doc failed: {done.stderr[-2000:]}')
        return json.loads(done.stdout)[f'cinderlib.storage.{module}']

    def sanity(self, cache_home):
        """``ansible-test sanity`` on the installed collection, run by this
        interpreter (``--local``: no containers)."""
        version = '%d.%d' % sys.version_info[:2]
        prepare_sanity_home(cache_home)
        return self.run([tool('ansible-test'), 'sanity', '--local',
                         '--python', version, '--color', 'no'],
                        timeout=1200, cwd=self.installed, HOME=cache_home)

    def playbook(self, playbook, extra_vars=(), check=False, diff=False):
        """Run ``playbook`` on localhost with this interpreter (so the
        modules import cinderlib); returns the JSON callback's output."""
        command = [tool('ansible-playbook'), '-i', 'localhost,', '-c',
                   'local', '-e',
                   f'ansible_python_interpreter={sys.executable}']
        for value in extra_vars:
            command += ['-e', value]
        if check:
            command.append('--check')
        if diff:
            command.append('--diff')
        done = self.run(command + [playbook],
                        ANSIBLE_CALLBACK_PLUGINS=CALLBACKS,
                        ANSIBLE_STDOUT_CALLBACK='json_results')
        try:
            output = json.loads(done.stdout)
        except ValueError:
            raise RuntimeError(f'ansible-playbook exited {done.returncode}:'
                               f'\n{done.stdout[-3000:]}'
                               f'\n{done.stderr[-3000:]}') from None
        output['returncode'] = done.returncode
        output['stdout'] = done.stdout
        return output


def tasks(output):
    """[(task name, result on localhost, seconds)] of a playbook run."""
    found = []
    for play in output['plays']:
        for task in play['tasks']:
            duration = task['task'].get('duration') or {}
            found.append((task['task']['name'],
                          task['hosts'].get('localhost', {}),
                          _seconds(duration)))
    return found


def results(output):
    """{task name: its result on localhost} of a playbook run."""
    return {name: result for name, result, _ in tasks(output)}


def _seconds(duration):
    from datetime import datetime
    try:
        start, end = (datetime.fromisoformat(duration[key].replace(
            'Z', '+00:00')) for key in ('start', 'end'))
    except (KeyError, ValueError):
        return None
    return (end - start).total_seconds()


def stats(output):
    """The play recap of localhost (ok, changed, failures, ignored...)."""
    return output['stats']['localhost']


def write_vars(path, backend, persistence, setup, **others):
    """A JSON file of extra variables for the collection's playbooks."""
    with open(path, 'w') as vars_file:
        json.dump(dict(cinderlib_backend=backend,
                       cinderlib_persistence=persistence,
                       cinderlib_setup=setup, **others), vars_file)
    return '@' + path


def file_backend_vars(work_dir):
    """The variables playbooks/demo.yml uses by default."""
    return {
        'backend': {
            'volume_backend_name': 'files',
            'volume_driver': 'cinderlib.drivers.file.FileVolumeDriver',
            'file_volumes_dir': f'{work_dir}/volumes'},
        'persistence': {'storage': 'db',
                        'connection': f'sqlite:///{work_dir}/state.sqlite'},
        'setup': {'state_path': work_dir},
        'work_dir': work_dir,
    }


# -- ansible-test without the network of Ansible's CI -------------------------

# ansible-test bootstraps pip in each sanity test's virtualenv with a script
# it downloads from Ansible's CI file server, which is out of reach here.
# This stand-in does the same with the standard library's ensurepip; the
# pinned packages of each test then come from the package index, as usual.
GET_PIP_STAND_IN = '''\
"""Stand-in for get-pip.py: pip from ensurepip, then the packages asked
for (written by cinderlib's tests/ansible/runner.py)."""
import subprocess
import sys

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
arguments = [argument for argument in sys.argv[1:]
             if argument not in ('--no-setuptools', '--no-wheel')]
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] +
                         arguments))
'''


def _bootstrap_pip_version():
    """The pip version ansible-test bootstraps, asked of ansible-test in a
    child process: importing it lowers the process's limit of open files."""
    code = ('import sys, types\n'
            'from ansible_test._internal import python_requirements as p\n'
            'version = "%d.%d" % sys.version_info[:2]\n'
            'print(p.get_venv_packages(types.SimpleNamespace('
            'version=version))["pip"])\n')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, check=True, timeout=60)
    return done.stdout.strip()


def prepare_sanity_home(home):
    """Make ``home`` a HOME for ansible-test: its virtualenvs are cached
    in ``home/.ansible/test`` and pip is bootstrapped offline."""
    cache = os.path.join(home, '.ansible', 'test', 'cache')
    os.makedirs(cache, mode=0o700, exist_ok=True)
    version = _bootstrap_pip_version().replace('.', '_')
    with open(os.path.join(cache, f'get_pip_{version}.py'), 'w') as script:
        script.write(GET_PIP_STAND_IN)


def sanity_cache_home(fallback):
    """Where ansible-test keeps its sanity virtualenvs between runs: in the
    project's virtualenv (gone with it), else in ``fallback``."""
    if sys.prefix != sys.base_prefix:
        home = os.path.join(sys.prefix, 'ansible-test-home')
        os.makedirs(home, mode=0o700, exist_ok=True)
        return home
    return fallback
