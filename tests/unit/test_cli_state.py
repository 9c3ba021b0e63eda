"""The command's state at rest: its SQLite file lives in a directory only
its user can enter (connection rows hold credentials)."""

import os
import stat

import pytest

from cinderlib import cli

FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    """The usual umask (022): what is not made private is readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def run(tmp_path, capsys):
    def run_command(*words):
        status = cli.main(['--format', 'json', 'volume', 'list', '--driver',
                           FILE_DRIVER, '-o',
                           f'file_volumes_dir={tmp_path}/volumes', *words])
        assert status == 0, capsys.readouterr().err
    return run_command


def test_the_state_directories_are_created_private(run, tmp_path, umask):
    state = tmp_path / 'new' / 'state' / 'st.db'
    run('--state', str(state))
    assert _mode(tmp_path / 'new') == 0o700
    assert _mode(tmp_path / 'new' / 'state') == 0o700
    assert state.exists()


def test_a_persistence_file_of_the_configuration_too(run, tmp_path, umask):
    config = tmp_path / 'config.yaml'
    config.write_text(f'persistence:\n  storage: db\n  connection: '
                      f'sqlite:///{tmp_path}/conf/st.db\n')
    run('--config', str(config))
    assert _mode(tmp_path / 'conf') == 0o700


def test_an_existing_directory_is_left_as_it_is(run, tmp_path, umask):
    shared = tmp_path / 'shared'
    shared.mkdir(mode=0o755)
    run('--state', str(shared / 'st.db'))
    assert _mode(shared) == 0o755


def test_the_default_directory_is_made_private(run, tmp_path, umask,
                                               monkeypatch):
    """An earlier version created it open to everyone."""
    default = tmp_path / 'xdg' / 'cinderlib' / 'state.sqlite'
    monkeypatch.setattr(cli.config, 'DEFAULT_STATE', str(default))
    default.parent.mkdir(parents=True, mode=0o755)
    run()
    assert default.exists() and _mode(default.parent) == 0o700
