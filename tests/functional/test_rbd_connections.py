"""The RBD backend's kept cluster connection (cinderlib/cinder/
rbd_connections.py), on a real cluster: one connection serves many
operations and threads, survives a monitor restart, is made again when it
was shut down behind the library's back, and is shut down on unload; and
Ceph's bindings, deferred until the first Ceph backend uses them."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import cinderlib
from cinderlib.cinder import rbd_connections
from tests.functional.conftest import _expand

OPTIONS = {'volume_driver': 'cinder.volume.drivers.rbd.RBDDriver',
           'rbd_pool': '${CINDERLIB_CEPH_POOL}',
           'rbd_user': '${CINDERLIB_CEPH_USER}',
           'rbd_ceph_conf': '${CINDERLIB_CEPH_CONF}',
           'rbd_keyring_conf': '${CINDERLIB_CEPH_KEYRING}'}


@pytest.fixture
def ceph(environment, tmp_path):
    options = {key: _expand(value, environment)
               for key, value in OPTIONS.items()}
    cinderlib.setup(state_path=str(tmp_path), disable_logs=True)
    backend = cinderlib.Backend('rbd-kept', **options)
    yield backend
    if cinderlib.Backend.backends.get('rbd-kept') is backend:
        for volume in backend.volumes:
            volume.delete()
        backend.unload()


def count_connects(backend):
    """Count the new cluster connections the backend's driver makes."""
    kept = backend.driver._cinderlib_rados
    made = []
    connect = kept.connect

    def counted(*args):
        made.append(args)
        return connect(*args)
    kept.connect = counted
    return made


def exercise(backend):
    volume = backend.create_volume(1)
    volume.extend(2)
    snapshot = volume.create_snapshot()
    clone = snapshot.create_volume()
    clone.delete()
    snapshot.delete()
    volume.delete()


def test_one_connection_serves_every_operation(ceph):
    made = count_connects(ceph)
    for _ in range(3):
        exercise(ceph)
    assert len(made) <= 1
    assert rbd_connections.is_kept(ceph.driver)


def test_threads_share_the_connection(ceph):
    exercise(ceph)  # the connection is made
    made = count_connects(ceph)
    errors = []

    def work():
        try:
            for _ in range(3):
                exercise(ceph)
        except Exception as error:  # reported below
            errors.append(error)
    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert errors == []
    assert made == []


def test_connection_shut_down_behind_our_back_is_made_again(ceph):
    exercise(ceph)
    ceph.driver._cinderlib_rados.client.shutdown()
    made = count_connects(ceph)
    exercise(ceph)
    assert len(made) == 1


def _pid(environment, daemon):
    run = os.path.join(os.path.dirname(environment['CINDERLIB_CEPH_CONF']),
                       'run')
    with open(os.path.join(run, f'{daemon}.pid')) as pid_file:
        return int(pid_file.read())


def _restart_mon(environment):
    pid = _pid(environment, 'mon.a')
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError('the monitor did not stop')
    subprocess.run(['ceph-mon', '-c', environment['CINDERLIB_CEPH_CONF'],
                    '-i', 'a'], check=True, timeout=60)


def test_operations_succeed_after_a_monitor_restart(ceph, environment):
    exercise(ceph)
    client = ceph.driver._cinderlib_rados.client
    _restart_mon(environment)
    exercise(ceph)
    # librados found the restarted monitor: the same connection.
    assert ceph.driver._cinderlib_rados.client is client


def test_unload_shuts_the_connection_down(ceph):
    exercise(ceph)
    client = ceph.driver._cinderlib_rados.client
    assert client.state == 'connected'
    driver = ceph.driver
    ceph.unload()
    assert client.state == 'shutdown'
    assert not rbd_connections.is_kept(driver)


_DEFERRED_BINDINGS = '''
import json, os, sys, tempfile
sys.path.append(os.environ.get('CINDERLIB_CEPH_PYTHONPATH', ''))
import cinderlib
from cinderlib.cinder import deferred
options = json.loads(sys.argv[1])
work = tempfile.mkdtemp()
cinderlib.setup(state_path=work, disable_logs=True)
cinderlib.Backend('files',
                  volume_driver='cinderlib.drivers.file.FileVolumeDriver',
                  file_volumes_dir=os.path.join(work, 'volumes'))
found = {'before': [deferred.is_deferred('rados'),
                    deferred.is_deferred('rbd')]}
backend = cinderlib.Backend('rbd-deferred', **options)
volume = backend.create_volume(1)
volume.extend(2)
snapshot = volume.create_snapshot()
snapshot.create_volume().delete()
snapshot.delete()
volume.delete()
import rados, rbd
found['after'] = [deferred.is_deferred('rados'), deferred.is_deferred('rbd'),
                  type(sys.modules['rbd'].Image) is type(rbd.Image)]
backend.unload()
print(json.dumps(found))
'''


def test_deferred_bindings_load_for_the_first_ceph_backend(environment):
    """Ceph's bindings, which os-brick's RBD connector imports, are
    handed out deferred (cinderlib/cinder/deferred.py) while no Ceph
    backend exists; the first one loads them and works, in a fresh
    interpreter (here they may have loaded before)."""
    options = {key: _expand(value, environment)
               for key, value in OPTIONS.items()}
    done = subprocess.run(
        [sys.executable, '-c', _DEFERRED_BINDINGS, json.dumps(options)],
        capture_output=True, text=True, timeout=300, env=environment,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))))
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {'before': [True, True], 'after': [False, False, True]}
