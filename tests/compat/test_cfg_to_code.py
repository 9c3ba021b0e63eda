"""``cinder-cfg-to-cinderlib-code`` takes the retired tool's arguments:
``[SOURCE [DEST]]``, SOURCE defaulting to /etc/cinder/cinder.conf and DEST
to standard output."""

import os
import stat

import pytest

from cinderlib import conf_convert

CONF = """[DEFAULT]
enabled_backends = lvm, ceph

[lvm]
volume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver
volume_group = cinder-volumes

[ceph]
volume_driver = cinder.volume.drivers.rbd.RBDDriver
rbd_secret_uuid = s3cr3t
"""


@pytest.fixture
def cinder_conf(tmp_path):
    path = tmp_path / 'cinder.conf'
    path.write_text(CONF)
    return path


def backends_built_by(code):
    """The backends the generated code builds, against a stand-in."""
    built = {}

    class Library:
        @staticmethod
        def Backend(name, **options):
            built[name] = options
            return name

    namespace = {'__builtins__': {'__import__': lambda *a, **k: Library}}
    exec(compile(code, 'generated', 'exec'), namespace)
    return built


def test_source_alone_prints_the_code(cinder_conf, capsys):
    assert conf_convert.main([str(cinder_conf)]) == 0
    built = backends_built_by(capsys.readouterr().out)
    assert sorted(built) == ['ceph', 'lvm']
    assert built['lvm']['volume_group'] == 'cinder-volumes'


def test_dest_is_written_private_as_it_holds_secrets(
        cinder_conf, tmp_path, capsys):
    dest = tmp_path / 'backends.py'
    assert conf_convert.main([str(cinder_conf), str(dest)]) == 0
    assert capsys.readouterr().out == ''
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    built = backends_built_by(dest.read_text())
    assert built['ceph']['rbd_secret_uuid'] == 's3cr3t'


def test_dest_symlink_is_not_followed(cinder_conf, tmp_path, capsys):
    target = tmp_path / 'elsewhere'
    target.write_text('untouched')
    link = tmp_path / 'backends.py'
    link.symlink_to(target)
    assert conf_convert.main([str(cinder_conf), str(link)]) == 2
    assert 'cannot write' in capsys.readouterr().err
    assert target.read_text() == 'untouched'


def test_without_arguments_it_reads_the_system_cinder_conf(capsys,
                                                           monkeypatch):
    monkeypatch.setattr(conf_convert, 'DEFAULT_SOURCE',
                        '/nonexistent/cinder.conf')
    assert conf_convert.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith('cinder-cfg-to-cinderlib-code: cannot read '
                          '/nonexistent/cinder.conf')
    assert err.count('\n') == 1


def test_sections_are_chosen_with_an_option(cinder_conf, capsys):
    assert conf_convert.main(['--section', 'ceph', str(cinder_conf)]) == 0
    assert sorted(backends_built_by(capsys.readouterr().out)) == ['ceph']


@pytest.mark.parametrize('argv', [['a', 'b', 'c'], ['--bogus']])
def test_bad_arguments_are_usage_errors(argv, capsys):
    assert conf_convert.main(argv) == 2
    assert capsys.readouterr().err.count('\n') == 1
