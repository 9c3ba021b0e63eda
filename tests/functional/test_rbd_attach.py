"""How an RBD volume attaches on this host: through the kernel's RBD client
(a ``/dev`` path, as the retired library always did) where the host has
it, through librbd (a file-like object) elsewhere.

Runs against the RBD backends of the YAML configuration (see conftest.py),
e.g. the throw-away Ceph cluster.  The machines of the project's CI have no
kernel RBD client: there the librbd branch runs for real, and the kernel
branch with the kernel faked where os-brick meets it (``/sys/bus/rbd`` and
the ``rbd`` command).
"""

import os
import stat

import pytest

import cinderlib
from cinderlib import connectors
from tests.functional.conftest import BACKENDS, SETUP, _expand
from tests.functional.device_io import BLOCK, GiB, pattern, read, write

RBD_BACKENDS = [b for b in BACKENDS
                if b.get('volume_driver', '').endswith('.RBDDriver')]


@pytest.fixture(params=RBD_BACKENDS or [None],
                ids=[b['volume_backend_name'] for b in RBD_BACKENDS] or
                ['no-rbd-backend'])
def rbd_volume(request, environment, tmp_path):
    if request.param is None:
        pytest.skip('no RBD backend in the configuration')
    options = {key: _expand(value, environment)
               for key, value in request.param.items()}
    cinderlib.setup(state_path=str(tmp_path), **SETUP)
    name = options.pop('volume_backend_name')
    backend = cinderlib.Backend(name, **options)
    volume = backend.create_volume(1, name='rbd-attach')
    yield volume
    volume.cleanup()
    volume.delete()


def test_without_kernel_rbd_attach_gives_a_librbd_file_object(
        rbd_volume, monkeypatch, tmp_path):
    monkeypatch.setattr(connectors, 'KERNEL_RBD_SYSFS',
                        str(tmp_path / 'no-kernel-rbd'))
    connection = rbd_volume.attach()
    try:
        assert connection.connector.do_local_attach is False
        assert not isinstance(connection.path, str)
        write(connection, GiB - BLOCK, pattern('librbd'))
        assert read(connection, GiB - BLOCK) == pattern('librbd')
    finally:
        rbd_volume.detach()
    assert rbd_volume.connections == []
    assert rbd_volume.status == 'available'


FAKE_RBD = '''#!/bin/sh
echo "$@" >> "$(dirname "$0")/calls"
if [ "$1" = showmapped ]; then echo '[]'; fi
'''


@pytest.mark.skipif(os.geteuid() != 0,
                    reason='the kernel branch runs privileged os-brick code')
def test_with_kernel_rbd_attach_maps_the_volume_through_the_kernel(
        rbd_volume, monkeypatch, tmp_path):
    sysfs = tmp_path / 'sys-bus-rbd'
    sysfs.mkdir()
    monkeypatch.setattr(connectors, 'KERNEL_RBD_SYSFS', str(sysfs))
    fake_bin = tmp_path / 'bin'
    fake_bin.mkdir()
    (fake_bin / 'rbd').write_text(FAKE_RBD)
    (fake_bin / 'rbd').chmod(stat.S_IRWXU)
    monkeypatch.setenv('PATH', f'{fake_bin}:{os.environ["PATH"]}')
    # The faked kernel maps nothing, so no /dev/rbd device appears: the
    # attach fails its device check and is undone.
    with pytest.raises(cinderlib.exception.VolumeDriverException):
        rbd_volume.attach()
    calls = (fake_bin / 'calls').read_text().splitlines()
    pool = rbd_volume.backend.driver.configuration.rbd_pool
    user = rbd_volume.backend.driver.configuration.rbd_user
    assert calls[0].startswith(
        f'map {rbd_volume.name_in_storage} --pool {pool} --id {user} ')
    assert '--mon_host 127.0.0.1:' in calls[0]
    assert calls[1].startswith('showmapped --format=json')
    assert rbd_volume.connections == []
    assert rbd_volume.status == 'available'
    assert rbd_volume.local_attach is None
