"""oVirt's way of using the library: one process per operation
(``ovirt_client.py``, shaped like the engine's ``cinderlib-client.py``),
state in SQLite or PostgreSQL, the file driver as storage.  Every run
prints its result alone, or one line of error."""

import json
import os
import subprocess
import sys
import uuid

import pytest

import cinderlib

CLIENT = os.path.join(os.path.dirname(__file__), 'ovirt_client.py')
GiB = 1024 ** 3
# Runs the client (argv: STATE_DIR CLIENT ARGS...) with root's default
# state directory moved, so that the tests never make the host's
# /var/lib/cinderlib: the client, like oVirt's, does not choose one.
RUN_CLIENT = """
import runpy, sys
from cinderlib import directories
directories.ROOT_STATE_PATH = sys.argv.pop(1)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""


class Client:
    """Runs ``ovirt_client.py`` as the engine does, in a working directory
    of its own (which stays empty), under ``base_dir``."""

    def __init__(self, base_dir, db_url):
        self.work_dir = os.path.join(base_dir, 'engine')
        os.mkdir(self.work_dir)
        self.state_dir = os.path.join(base_dir, 'state')
        self.db_url = db_url
        self.volumes_dir = os.path.join(base_dir, 'volumes')
        self.driver = json.dumps({
            'volume_backend_name': 'ovirt-files',
            'volume_driver': 'cinderlib.drivers.file.FileVolumeDriver',
            'file_volumes_dir': self.volumes_dir})

    def run(self, command, *args):
        """(exit code, stdout, stderr)."""
        env = dict(os.environ, XDG_STATE_HOME=self.state_dir)
        done = subprocess.run(
            [sys.executable, '-c', RUN_CLIENT, self.state_dir, CLIENT, command,
             self.driver, self.db_url, *args], cwd=self.work_dir, env=env,
            capture_output=True, text=True, timeout=120)
        assert os.listdir(self.work_dir) == [], 'wrote in its working dir'
        return done.returncode, done.stdout, done.stderr

    def ok(self, command, *args):
        """Runs a command that must succeed: its result (stdout), with
        nothing on stderr."""
        code, out, err = self.run(command, *args)
        assert (code, err) == (0, ''), (command, code, out, err)
        return out

    def fails(self, command, *args):
        """Runs a command that must fail: its one-line error."""
        code, out, err = self.run(command, *args)
        assert (code, out) == (1, ''), (command, code, out, err)
        assert err.endswith('\n') and err.count('\n') == 1, err
        return err.strip()

    def file_size(self, volume_id):
        path = os.path.join(self.volumes_dir, f'volume-{volume_id}')
        return os.path.getsize(path) if os.path.exists(path) else None


def stored(db_url, volume_id):
    """The volume as this test process reads it from the database."""
    cinderlib.setup(persistence_config={'storage': 'db',
                                        'connection': db_url})
    found = cinderlib.Backend.persistence.get_volumes(volume_id=volume_id)
    return found[0] if found else None


@pytest.fixture(params=['sqlite', 'postgresql'])
def client(request, empty_database, tmp_path):
    return Client(str(tmp_path), empty_database(request.param))


def test_volume_life_one_process_per_operation(client):
    volume_id = str(uuid.uuid4())
    assert client.ok('create_volume', volume_id, '3') == ''
    assert client.file_size(volume_id) == 3 * GiB

    # The same id again: refused, the existing volume untouched.
    error = client.fails('create_volume', volume_id, '1')
    assert volume_id in error and 'already exists' in error
    assert client.file_size(volume_id) == 3 * GiB
    volume = stored(client.db_url, volume_id)
    assert (volume.size, volume.status) == (3, 'available')

    assert client.ok('extend_volume', volume_id, '4') == ''
    assert client.file_size(volume_id) == 4 * GiB

    connector = {'host': 'hypervisor-1', 'initiator': 'iqn.1994-05.x:1'}
    conn = json.loads(client.ok('connect_volume', volume_id,
                                json.dumps(connector)))
    assert conn['driver_volume_type'] == 'local'
    assert conn['data']['device_path'].endswith(volume_id)

    # The engine records what a hypervisor attached: nothing is probed
    # here, and the next process reads it.
    device = {'path': '/dev/rbd7', 'type': 'block'}
    assert client.ok('save_device', volume_id, json.dumps(device)) == ''
    info = json.loads(client.ok('get_connection_info', volume_id))
    assert info == {'conn': conn, 'connector': connector, 'device': device}

    # Connecting the same host again reuses its connection; another host
    # gets its own, listed after the first.
    assert json.loads(client.ok('connect_volume', volume_id,
                                json.dumps(connector))) == conn
    client.ok('connect_volume', volume_id,
              json.dumps(dict(connector, host='hypervisor-2')))
    info = json.loads(client.ok('get_connection_info', volume_id))
    assert info['device'] == device

    clone_id = str(uuid.uuid4())
    assert client.ok('clone_volume', volume_id, clone_id) == ''
    assert client.file_size(clone_id) == 4 * GiB

    stats = json.loads(client.ok('storage_stats', 'True'))
    assert stats['pools'][0]['pool_name']

    error = client.fails('delete_volume', volume_id)
    assert volume_id in error and 'disconnect' in error

    # Both connections go in one loop.
    assert client.ok('disconnect_volume', volume_id) == ''
    volume = stored(client.db_url, volume_id)
    assert volume.connections == [] and volume.status == 'available'

    assert client.ok('delete_volume', volume_id) == ''
    assert client.ok('delete_volume', clone_id) == ''
    assert client.file_size(volume_id) is None
    assert client.file_size(clone_id) is None
    assert stored(client.db_url, volume_id) is None


def test_disconnect_loop_in_its_own_process(empty_database, tmp_path):
    client = Client(str(tmp_path), empty_database('sqlite'))
    volume_id = str(uuid.uuid4())
    client.ok('create_volume', volume_id, '1')
    for index in range(5):
        client.ok('connect_volume', volume_id,
                  json.dumps({'host': f'hypervisor-{index}'}))
    client.ok('disconnect_volume', volume_id)
    volume = stored(client.db_url, volume_id)
    assert volume.connections == [] and volume.status == 'available'


def test_errors_are_one_line(client):
    volume_id = str(uuid.uuid4())
    assert 'size' in client.fails('create_volume', volume_id, '0')
    client.ok('create_volume', volume_id, '2')
    assert 'size' in client.fails('extend_volume', volume_id, '1')
    # A NUL: PostgreSQL cannot store it; refused before anything changes.
    error = client.fails('connect_volume', volume_id,
                         json.dumps({'host': 'h\x00st'}))
    assert 'host' in error
    client.ok('connect_volume', volume_id, json.dumps({'host': 'h1'}))
    assert 'device' in client.fails('save_device', volume_id, '"/dev/x"')
    error = client.fails('clone_volume', volume_id, volume_id)
    assert 'already exists' in error
    volume = stored(client.db_url, volume_id)
    assert (volume.size, volume.status) == (2, 'in-use')
    assert [c.attached_host for c in volume.connections] == ['h1']
    assert volume.connections[0].device is None
