"""``cinderlib volume migrate``, run as a user would (in-process main())."""

import json
import os

import pytest

from cinderlib import cli
from cinderlib import progress

FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'


@pytest.fixture
def configs(tmp_path):
    """files.yaml (the source), others.yaml (two backends)."""
    files = tmp_path / 'files.yaml'
    files.write_text(
        'backend:\n'
        '  volume_backend_name: files\n'
        f'  volume_driver: {FILE_DRIVER}\n'
        f'  file_volumes_dir: {tmp_path}/files\n')
    others = tmp_path / 'others.yaml'
    others.write_text(
        'backends:\n' + ''.join(
            f'  - volume_backend_name: {name}\n'
            f'    volume_driver: {FILE_DRIVER}\n'
            f'    file_volumes_dir: {tmp_path}/{name}\n'
            for name in ('archive', 'fast')))
    return str(files), str(others)


@pytest.fixture
def run(tmp_path, capsys):
    state = str(tmp_path / 'st.db')

    def run_command(config, *words):
        status = cli.main(['--format', 'json', *words, '--config', config,
                           '--state', state])
        out, err = capsys.readouterr()
        try:
            return status, json.loads(out), err
        except ValueError:
            return status, out, err
    return run_command


def test_volume_migrate_to_a_backend_of_another_file(
        run, configs, tmp_path, monkeypatch):
    files, others = configs
    said = []
    original = progress.Task.update

    def update(task, label):
        said.append(label)
        original(task, label)

    monkeypatch.setattr(progress.Task, 'update', update)
    volume = run(files, 'volume', 'create', '1', '--name', 'data')[1]
    status, moved, _ = run(files, 'volume', 'migrate', volume['id'],
                           '--to-config', others, '--to-backend', 'fast')
    assert status == 0
    assert moved['id'] == volume['id'] and moved['backend'] == 'fast'
    assert moved['status'] == 'available' and moved['pool'] == 'fast'
    assert moved['migration_status'] == 'success'
    assert any(label.endswith('100% (1024 of 1024 MiB)') for label in said)
    assert os.listdir(tmp_path / 'files') == []
    assert len(os.listdir(tmp_path / 'fast')) == 1
    # The state now lists it on the target backend.
    listed = run(others, 'volume', 'list', '--backend-name', 'fast')[1]
    assert [v['id'] for v in listed] == [volume['id']]
    assert run(files, 'volume', 'list')[1] == []


def test_volume_migrate_errors(run, configs):
    files, others = configs
    volume = run(files, 'volume', 'create', '1')[1]
    status, _, err = run(files, 'volume', 'migrate', volume['id'],
                         '--to-config', others)
    assert status != 0 and 'several backends' in err
    status, _, err = run(files, 'volume', 'migrate', volume['id'],
                         '--to-config', files)
    assert status != 0 and 'already on backend' in err
    assert len(err.strip().splitlines()) == 1
