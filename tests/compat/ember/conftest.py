"""Ember-CSI deployments for the tests: per persistence plugin, a
controller process and a node process sharing that plugin's store.

- ``db``: a SQLite file, which the test process opens too;
- ``crd``: Ember's own Kubernetes CRD plugin, on the fake Kubernetes API
  of ``fake_kube.py`` (a kubeconfig file tells the plugin where it is);
- ``memory_db``: private to one process, so only the controller.

The processes start on first use and serve every test of the module.
The backend is the library's file driver; its volumes are on a tmpfs
(``/dev/shm``) where there is one, because Ember-CSI recognizes a staged
volume by the source of its bind mounts, which on a disk filesystem is
the disk itself, shared by every other mount of it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Any, Optional

import pytest

from tests.compat.ember import fake_kube
from tests.compat.ember import plugin
from tests.compat.ember import stores
from tests.compat.ember import venv

KINDS = ('db', 'crd', 'memory_db')
SHARED_KINDS = ('db', 'crd')
FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'


def _tmpfs_dir() -> Optional[str]:
    """A private directory on /dev/shm when that is a tmpfs."""
    try:
        with open('/proc/self/mountinfo') as info:
            tmpfs = any(line.split()[4] == '/dev/shm' and
                        line.split(' - ')[1].split()[0] == 'tmpfs'
                        for line in info)
    except OSError:
        return None
    if not tmpfs or not os.access('/dev/shm', os.W_OK):
        return None
    return tempfile.mkdtemp(prefix='cinderlib-ember-', dir='/dev/shm')


def _private_mounts_reason() -> Optional[str]:
    """Why a node cannot run in a private mount namespace, or None."""
    if os.geteuid() != 0:
        return 'staging bind-mounts volumes: needs root'
    if not shutil.which('unshare'):
        return 'needs unshare (util-linux)'
    done = subprocess.run(['unshare', '--mount', '--propagation', 'private',
                           'true'], capture_output=True, text=True)
    if done.returncode:
        return f'cannot make a mount namespace: {done.stderr.strip()}'
    return None


class Deployment:
    """One persistence plugin's store, and the Ember processes using it."""

    def __init__(self, kind: str, venv_path: str, workdir: str) -> None:
        self.kind = kind
        self.venv_path = venv_path
        self.workdir = workdir
        self.kube: Optional[fake_kube.FakeKube] = None
        self.env: dict[str, str] = {}
        self.on_tmpfs = False
        shm = _tmpfs_dir()
        if shm:
            self.volumes_dir = os.path.join(shm, 'volumes')
            self.on_tmpfs = True
        else:
            self.volumes_dir = os.path.join(workdir, 'volumes')
        self.private_mounts_reason = _private_mounts_reason()
        name = f'ember-{kind.replace("_", "-")}'
        if kind == 'db':
            self.url = f'sqlite:///{workdir}/ember.sqlite'
            self.persistence: dict[str, Any] = {'storage': 'db',
                                                'connection': self.url}
            # Ember-CSI's short names for the two options.
            self.backend = {'name': name, 'driver': FILE_DRIVER,
                            'file_volumes_dir': self.volumes_dir}
        else:
            self.backend = {'volume_backend_name': name,
                            'volume_driver': FILE_DRIVER,
                            'file_volumes_dir': self.volumes_dir}
            self.persistence = {'storage': kind}
        if kind == 'crd':
            self.kube = fake_kube.FakeKube().start()
            kubeconfig = os.path.join(workdir, 'kubeconfig')
            with open(kubeconfig, 'w') as out:
                out.write(self.kube.kubeconfig())
            self.env['KUBECONFIG'] = kubeconfig
            self.persistence['namespace'] = stores.NAMESPACE
        self.backend_name = name
        self._plugins: dict[str, plugin.Ember] = {}
        self._errors: dict[str, str] = {}

    def _plugin(self, mode: str, **kwargs: Any) -> plugin.Ember:
        """The running plugin process of this mode, started on first use.
        A failed start fails the test with the plugin's own traceback,
        and every later use the same way, at once."""
        if mode in self._errors:
            pytest.fail(self._errors[mode], pytrace=False)
        if mode not in self._plugins:
            ember = plugin.Ember(self.venv_path,
                                 os.path.join(self.workdir, mode), mode,
                                 self.persistence, env=self.env, **kwargs)
            self._plugins[mode] = ember
            try:
                ember.start()
            except plugin.StartError as exc:
                self._errors[mode] = str(exc)
                pytest.fail(self._errors[mode], pytrace=False)
        return self._plugins[mode]

    def controller(self) -> plugin.Ember:
        return self._plugin('controller', backend=self.backend)

    def node(self) -> plugin.Ember:
        assert self.kind in SHARED_KINDS, 'a node needs a shared store'
        return self._plugin('node', node_id='node1',
                            private_mounts=self.private_mounts_reason is None)

    def store(self, state_path: str) -> Any:
        """The library's view of the store (None for memory_db)."""
        if self.kind == 'db':
            return stores.DBStore(self.url, state_path)
        if self.kind == 'crd':
            assert self.kube is not None
            return stores.CRDStore(self.kube, stores.NAMESPACE, state_path)
        return None

    def volume_file(self, volume_id: str) -> str:
        return os.path.join(self.volumes_dir, f'volume-{volume_id}')

    def snapshot_file(self, snapshot_id: str) -> str:
        return os.path.join(self.volumes_dir, f'snapshot-{snapshot_id}')

    def terminate(self) -> None:
        for ember in self._plugins.values():
            ember.terminate()

    def stop(self) -> None:
        self.terminate()
        for ember in self._plugins.values():
            ember.wait()
        if self.kube is not None:
            self.kube.stop()
        if self.on_tmpfs:
            shutil.rmtree(os.path.dirname(self.volumes_dir),
                          ignore_errors=True)


@pytest.fixture(scope='session')
def ember_venv() -> str:
    """The Ember-CSI virtualenv; under CI a failed build fails the tests,
    elsewhere they are skipped with the reason."""
    try:
        return venv.ember_venv()
    except (venv.BuildError, OSError, subprocess.SubprocessError) as exc:
        reason = f'cannot build the Ember-CSI virtualenv: {exc}'
        if os.environ.get('CI'):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope='module')
def deployments(ember_venv, tmp_path_factory):
    """Deployments by persistence kind, made on first use; their processes
    stop when the module's tests are done."""
    made: dict[str, Deployment] = {}

    def get(kind: str) -> Deployment:
        if kind not in made:
            made[kind] = Deployment(kind, ember_venv, str(
                tmp_path_factory.mktemp(f'ember-{kind}')))
        return made[kind]

    yield get
    for deployment in made.values():  # all stop at once
        deployment.terminate()
    for deployment in made.values():
        deployment.stop()


@pytest.fixture(params=KINDS)
def deployment(request, deployments) -> Deployment:
    """Each persistence plugin in turn."""
    return deployments(request.param)


@pytest.fixture(params=SHARED_KINDS)
def shared_deployment(request, deployments) -> Deployment:
    """Each persistence plugin a controller and a node can share."""
    return deployments(request.param)
