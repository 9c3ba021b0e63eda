"""kill -9 of a process in the middle of a revert to a snapshot, on the
file driver (its own revert, and the generic way of a driver without
one) with the db plugin on SQLite: ``Backend.recover()`` leaves the
volume ``error``, the snapshot ``available``, no temporary volume nor
connection, and reverting again brings the snapshot's data back."""

import os
import signal
import subprocess
import sys

import pytest

import cinderlib
from tests import no_revert_driver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
BLOCK = 4096
GiB = 1024 ** 3

# (driver, where the worker dies) -> what recover() reports besides the
# volume (reverting -> error) and the snapshot (restoring -> available).
CRASHES = {
    (FILE_DRIVER, 'revert_to_snapshot'): set(),
    (FILE_DRIVER, 'revert_to_snapshot:after'): set(),
    (no_revert_driver.DRIVER, 'create_volume_from_snapshot'):
        {('volume', 'creating', 'deleted')},
    (no_revert_driver.DRIVER, 'create_volume_from_snapshot:after'):
        {('volume', 'creating', 'deleted')},
    (no_revert_driver.DRIVER, 'copy'): {('volume', 'in-use', 'deleted')},
}


def write_block(volume, data):
    connection = volume.attach()
    try:
        with open(connection.path, 'r+b', buffering=0) as device:
            device.write(data)
            device.seek(GiB - BLOCK)
            device.write(data)
    finally:
        volume.detach()


def read_blocks(volume):
    connection = volume.attach()
    try:
        with open(connection.path, 'rb', buffering=0) as device:
            first = device.read(BLOCK)
            device.seek(GiB - BLOCK)
            return first, device.read(BLOCK)
    finally:
        volume.detach()


@pytest.mark.parametrize('driver,crash_in', sorted(CRASHES),
                         ids=[f'{d.rsplit(".", 1)[1]}-{c}'
                              for d, c in sorted(CRASHES)])
def test_crash_inside_a_revert_is_recovered(tmp_path, driver, crash_in):
    state = str(tmp_path)
    url = f'sqlite:///{tmp_path}/revert.sqlite'
    cinderlib.setup(state_path=state, persistence_config={
        'storage': 'db', 'connection': url})
    backend = cinderlib.Backend('revert', volume_driver=driver,
                                file_volumes_dir=str(tmp_path / 'vols'))
    volume = backend.create_volume(1, name='data')
    write_block(volume, b'A' * BLOCK)
    snapshot = volume.create_snapshot()
    write_block(volume, b'B' * BLOCK)

    worker = subprocess.run(
        [sys.executable, '-m', 'tests.reliability.revert_worker', state,
         url, driver, crash_in], cwd=ROOT, capture_output=True, text=True,
        timeout=300, env=dict(os.environ, PYTHONPATH=ROOT))
    assert worker.returncode == -signal.SIGKILL, worker.stderr[-2000:]

    report = {(e['resource'], e['was'], e['now']) for e in backend.recover()}
    assert report == {('volume', 'reverting', 'error'),
                      ('snapshot', 'restoring', 'available')} | (
        CRASHES[driver, crash_in])
    assert backend.recover() == []
    volume = cinderlib.Volume.get_by_id(volume.id)
    assert volume.status == 'error' and volume.connections == []
    assert cinderlib.Snapshot.get_by_id(snapshot.id).status == 'available'
    assert [v.id for v in backend.volumes] == [volume.id]
    # The backup snapshot of the generic driver keeps the data as it was.
    backups = [s for s in volume.snapshots if s.id != snapshot.id]
    for backup in backups:
        backup.delete()
    files = sorted(os.listdir(tmp_path / 'vols'))
    assert files == sorted([f'volume-{volume.id}',
                            f'snapshot-{snapshot.id}'])

    volume.revert_to_snapshot(cinderlib.Snapshot.get_by_id(snapshot.id))
    assert volume.status == 'available'
    assert read_blocks(volume) == (b'A' * BLOCK, b'A' * BLOCK)
