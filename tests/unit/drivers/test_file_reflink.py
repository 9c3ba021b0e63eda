"""Copy-on-write clones on a filesystem with reflinks (XFS on a loop file).

Needs root and mkfs.xfs (tools/test.sh installs xfsprogs); skipped with the
reason otherwise.
"""

import os
import shutil
import subprocess

import pytest

import cinderlib

GiB = 1024 ** 3


@pytest.fixture(scope='module')
def xfs_dir(tmp_path_factory):
    if os.geteuid() != 0 or not shutil.which('mkfs.xfs'):
        pytest.skip('needs root and mkfs.xfs to mount an XFS loop file')
    base = tmp_path_factory.mktemp('xfs')
    image, mount = base / 'xfs.img', base / 'mnt'
    mount.mkdir()
    subprocess.run(['truncate', '-s', '2G', str(image)], check=True)
    subprocess.run(['mkfs.xfs', '-q', '-m', 'reflink=1', str(image)],
                   check=True)
    mounted = subprocess.run(['mount', '-o', 'loop', str(image), str(mount)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f'cannot mount a loop file here: {mounted.stderr}')
    yield mount
    subprocess.run(['umount', str(mount)], check=True)


def test_clone_and_snapshot_are_reflinks(xfs_dir):
    backend = cinderlib.Backend(
        'xfs', volume_driver='cinderlib.drivers.file.FileVolumeDriver',
        file_volumes_dir=str(xfs_dir / 'volumes'))
    volume = backend.create_volume(1)
    path = backend.driver.volume_path(volume)
    with open(path, 'r+b') as device:
        device.write(b'a' * 65536)
        device.seek(GiB - 65536)
        device.write(b'z' * 65536)
    clone = volume.clone(size=2)
    assert backend.driver.last_copy_reflinked
    assert backend.driver.last_copy_bytes == 0
    with open(backend.driver.volume_path(clone), 'rb') as copied:
        assert copied.read(65536) == b'a' * 65536
        copied.seek(GiB - 65536)
        assert copied.read(65536) == b'z' * 65536
    snapshot = volume.create_snapshot()
    assert backend.driver.last_copy_reflinked
    with open(path, 'r+b') as device:
        device.write(b'b' * 65536)
    restored = snapshot.create_volume()
    with open(backend.driver.volume_path(restored), 'rb') as copied:
        assert copied.read(65536) == b'a' * 65536
    for item in (restored, snapshot, clone, volume):
        item.delete()
    backend.unload()
