"""Reverting to a snapshot and growing an attached volume, with real
bytes, on every backend of the configuration (the file driver and Ceph
in CI); on RBD also Cinder's generic revert, through a driver without
``revert_to_snapshot``, copying between two librbd attachments."""

import pytest

import cinderlib
from tests import no_revert_driver
from tests.functional.conftest import BACKENDS, SETUP, _expand
from tests.functional.device_io import BLOCK, GiB, opened, pattern, read
from tests.functional.device_io import write

MiB = 1024 ** 2
OFFSETS = (0, GiB // 2, GiB - BLOCK)


def write_all(volume, label):
    connection = volume.attach()
    try:
        for offset in OFFSETS:
            write(connection, offset, pattern(label))
    finally:
        volume.detach()


def read_all(volume):
    connection = volume.attach()
    try:
        return [read(connection, offset) for offset in OFFSETS]
    finally:
        volume.detach()


def delete_all(volume):
    volume.cleanup()
    for snapshot in list(volume.snapshots):
        snapshot.delete()
    volume.delete()


def check_revert(backend):
    volume = backend.create_volume(1, name='revert')
    try:
        write_all(volume, 'A')
        snapshot = volume.create_snapshot()
        write_all(volume, 'B')
        volume.revert_to_snapshot(snapshot)
        assert read_all(volume) == [pattern('A')] * len(OFFSETS)
        assert volume.status == snapshot.status == 'available'
        assert volume.snapshots == [snapshot]
        assert [v.id for v in backend.volumes] == [volume.id]
    finally:
        delete_all(volume)


def test_revert_to_snapshot(backend):
    check_revert(backend)


RBD_BACKENDS = [b for b in BACKENDS
                if b.get('volume_driver', '').endswith('.RBDDriver')]


@pytest.mark.parametrize('options', RBD_BACKENDS,
                         ids=[b['volume_backend_name'] for b in RBD_BACKENDS])
def test_generic_revert_on_rbd(options, environment, tmp_path):
    options = {key: _expand(value, environment)
               for key, value in options.items()}
    cinderlib.setup(state_path=str(tmp_path), **SETUP)
    options.pop('volume_backend_name')
    options['volume_driver'] = no_revert_driver.RBD_DRIVER
    check_revert(cinderlib.Backend('ceph-no-revert', **options))


def test_extend_attached_volume_writes_in_the_new_space(backend):
    volume = backend.create_volume(1, name='grow')
    try:
        connection = volume.attach()
        # One handle kept open across the extend, as a user of the device
        # would: a path opened once, or the librbd file-like object.
        with opened(connection) as device:
            device.seek(0)
            device.write(pattern('old'))
            assert volume.extend(2) == 2 * GiB
            last = 2 * GiB - MiB
            data = (b'new' * MiB)[:MiB]
            device.seek(last)
            device.write(data)
            device.flush()
            device.seek(last)
            assert device.read(MiB) == data
            device.seek(0)
            assert device.read(BLOCK) == pattern('old')
        volume.detach()
        connection = volume.attach()
        assert read(connection, 2 * GiB - MiB) == data[:BLOCK]
    finally:
        delete_all(volume)
