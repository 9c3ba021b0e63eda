"""kill -9 of a process in the middle of Volume.migrate's copy: the source
stays the volume of record, with its data, and Backend.recover() (of
either backend) deletes the partial target and restores the source."""

import os
import signal
import subprocess
import sys
import zlib

import pytest

import cinderlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
MiB = 1024 ** 2
GiB = 1024 ** 3

# The worker migrates the volume and stops for good in the middle of the
# copy, once it has said so.
WORKER = '''
import sys, time
sys.path.insert(0, {root!r})
from tests.reliability.test_migrate_crash import open_backends
source, target = open_backends({state!r})
volume = source.volumes[0]

def progress(done, total):
    if done > total // 2:
        print('HALF', flush=True)
        time.sleep(600)

volume.migrate(target, progress=progress)
'''


def open_backends(state):
    cinderlib.setup(state_path=state, disable_logs=True, persistence_config={
        'storage': 'db', 'connection': f'sqlite:///{state}/state.sqlite'})
    return [cinderlib.Backend(name, volume_driver=FILE_DRIVER,
                              file_volumes_dir=os.path.join(state, name))
            for name in ('source', 'target')]


def crc(path):
    with open(path, 'rb', buffering=0) as device:
        value, buffer = 0, bytearray(8 * MiB)
        while count := device.readinto(buffer):
            value = zlib.crc32(memoryview(buffer)[:count], value)
    return value


@pytest.mark.parametrize('recovering', ['source', 'target'])
def test_kill_during_copy_loses_nothing(tmp_path, recovering):
    state = str(tmp_path)
    source, target = open_backends(state)
    volume = source.create_volume(1, name='precious')
    path = source.driver.volume_path(volume._ovo)
    with open(path, 'r+b') as device:
        for offset in (0, 300 * MiB, GiB - 3 * MiB):
            device.seek(offset)
            device.write(os.urandom(2 * MiB))
    before = crc(path)
    worker = subprocess.Popen(
        [sys.executable, '-c', WORKER.format(root=ROOT, state=state)],
        stdout=subprocess.PIPE, cwd=state, text=True)
    try:
        assert worker.stdout.readline().strip() == 'HALF'
        # Mid-copy: the target exists, partly written, both attached.
        assert os.listdir(target.driver.directory)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        worker.stdout.close()
    left = cinderlib.Volume.get_by_id(volume.id)
    assert left.status == 'maintenance'
    assert left.migration_status.startswith('migrating:')
    report = {'source': source, 'target': target}[recovering].recover()
    assert sorted((e['was'], e['now']) for e in report) == [
        ('in-use', 'deleted'), ('maintenance', 'available')]
    volume = cinderlib.Volume.get_by_id(volume.id)
    assert volume.status == 'available' and volume.backend_name == 'source'
    assert volume.migration_status == 'error'
    assert volume.connections == []
    assert os.listdir(target.driver.directory) == []
    assert target.volumes == []
    assert crc(path) == before
    # Recovering again finds nothing; migrating again works.
    assert source.recover() == [] and target.recover() == []
    volume.migrate(target)
    assert crc(target.driver.volume_path(volume._ovo)) == before
