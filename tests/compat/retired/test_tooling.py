"""The tooling that runs the retired suite: what it extracts, what it
checks, what it leaves out."""

import io
import tarfile

import pytest

from cinderlib import connectors
from tests.compat.retired import bootstrap
from tests.compat.retired import sdist
from tests.compat.retired import test_retired_suite as suite


def _sdist(path, names):
    with tarfile.open(path, 'w:gz') as archive:
        for name in names:
            data = f'# {name}\n'.encode()
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))


def test_only_the_functional_test_files_are_extracted(tmp_path):
    archive = tmp_path / sdist.SDIST
    _sdist(archive, [sdist.PREFIX + name for name in sdist.FILES] + [
        sdist.PREFIX + '__init__.py', sdist.PREFIX + 'cinderlib.py',
        sdist.PREFIX + 'tests/unit/test_cinderlib.py'])
    target = tmp_path / 'suite'
    sdist._extract(str(archive), str(target))
    found = sorted(str(path.relative_to(target))
                   for path in target.rglob('*') if path.is_file())
    assert found == sorted(sdist.FILES)
    assert (target / 'tests/functional/test_basic.py').read_text() == (
        f'# {sdist.PREFIX}tests/functional/test_basic.py\n')


def test_a_download_that_is_not_what_pypi_published_is_refused(tmp_path):
    download = tmp_path / sdist.SDIST
    download.write_bytes(b'not the sdist')
    with pytest.raises(sdist.FetchError, match='has sha256') as raised:
        sdist._check_hash(str(download), sdist.SHA256[sdist.SDIST])
    assert '\n' not in str(raised.value)


def test_cinder_to_yaml_reads_the_enabled_backends(tmp_path):
    conf = tmp_path / 'cinder.conf'
    conf.write_text('[DEFAULT]\nenabled_backends = a\n\n[a]\n'
                    'volume_driver = x.Driver\n\n[b]\nvolume_driver = y\n')
    out = tmp_path / 'out.yaml'
    expected = {'backends': [{'volume_backend_name': 'a',
                              'volume_driver': 'x.Driver'}]}
    assert bootstrap.convert(str(conf), str(out)) == expected
    assert bootstrap.yaml.safe_load(out.read_text()) == expected


def test_device_path_tests_run_on_ceph_where_the_kernel_has_rbd(
        monkeypatch):
    monkeypatch.setattr(connectors, 'kernel_rbd_available', lambda: True)
    assert sorted(suite._deselected('ceph', 'ceph')) == sorted(suite.LISTING)
    monkeypatch.setattr(connectors, 'kernel_rbd_available', lambda: False)
    assert sorted(suite._deselected('ceph', 'ceph')) == sorted(
        list(suite.LISTING) + [f'{name}_on_ceph'
                               for name in suite.DEVICE_PATH])
    assert suite._deselected('file', 'file') == {}
