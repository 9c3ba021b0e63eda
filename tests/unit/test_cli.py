"""The cinderlib command, run as a user would (in-process main())."""

import json

import pytest

import cinderlib
from cinderlib import cli
from cinderlib.cli import command

FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
MEMORY_DRIVER = 'tests.memory_driver.MemoryVolumeDriver'
MISSING = '11111111-1111-1111-1111-111111111111'


@pytest.fixture
def run(tmp_path, capsys):
    """Run the command with a file backend and a state file; returns
    (exit status, parsed JSON output or text, stderr)."""
    config = tmp_path / 'files.yaml'
    config.write_text(
        'backend:\n'
        '  volume_backend_name: files\n'
        f'  volume_driver: {FILE_DRIVER}\n'
        f'  file_volumes_dir: {tmp_path}/volumes\n')
    state = ['--config', str(config), '--state', str(tmp_path / 'st.db')]

    def run_command(*words, backend=True):
        """``backend``: True for the file backend, or the backend
        options to give instead."""
        options = state if backend is True else backend or []
        status = cli.main(['--format', 'json', *words, *options])
        out, err = capsys.readouterr()
        try:
            return status, json.loads(out), err
        except ValueError:
            return status, out, err
    return run_command


def test_volume_lifecycle(run, tmp_path):
    status, volume, _ = run('volume', 'create', '1', '--name', 'data')
    assert status == 0 and volume['status'] == 'available'
    volume_id = volume['id']
    assert run('volume', 'list')[1] == [volume]
    status, extended, _ = run('volume', 'extend', volume_id, '2')
    assert extended == {'id': volume_id, 'size': 2, 'bytes': 2 * 1024 ** 3}
    shown = run('volume', 'show', volume_id)[1]
    assert shown['ovo']['versioned_object.data']['size'] == 2
    clone = run('volume', 'clone', volume_id, '--size', '3')[1]
    assert clone['size'] == 3 and clone['status'] == 'available'
    status, snapshot, _ = run('snapshot', 'create', volume_id)
    assert snapshot['volume_id'] == volume_id
    assert [s['id'] for s in run('snapshot', 'list')[1]] == [snapshot['id']]
    status, _, err = run('volume', 'delete', volume_id)
    assert status == cli.EXIT_FAILED and 'has snapshots' in err
    assert run('snapshot', 'delete', snapshot['id'])[0] == 0
    for vid in (volume_id, clone['id']):
        assert run('volume', 'delete', vid)[1]['status'] == 'deleted'
    assert run('volume', 'list')[1] == []
    assert list((tmp_path / 'volumes').iterdir()) == []


def test_volume_revert(run, tmp_path):
    volume_id = run('volume', 'create', '1')[1]['id']
    volume_file = tmp_path / 'volumes' / f'volume-{volume_id}'
    with open(volume_file, 'r+b') as data:
        data.write(b'before')
    first = run('snapshot', 'create', volume_id)[1]['id']
    latest = run('snapshot', 'create', volume_id)[1]['id']
    with open(volume_file, 'r+b') as data:
        data.write(b'after!')
    status, reverted, err = run('volume', 'revert', volume_id, latest)
    assert status == 0 and err == ''
    assert reverted['id'] == volume_id and reverted['snapshot_id'] == latest
    assert reverted['status'] == 'available'
    with open(volume_file, 'rb') as data:
        assert data.read(6) == b'before'
    status, _, err = run('volume', 'revert', volume_id, first)
    assert status == cli.EXIT_USAGE and 'not the latest' in err
    assert len(err.strip().splitlines()) == 1
    status, _, err = run('volume', 'revert', volume_id, MISSING)
    assert status == cli.EXIT_NOT_FOUND and MISSING in err


def test_volume_from_snapshot(run):
    volume_id = run('volume', 'create', '1')[1]['id']
    snapshot_id = run('snapshot', 'create', volume_id)[1]['id']
    status, volume, err = run('volume', 'create', '--from-snapshot',
                              snapshot_id, '--name', 'restored')
    assert status == 0 and err == ''   # no progress line off a terminal
    assert (volume['size'], volume['name']) == (1, 'restored')
    status, bigger, _ = run('volume', 'create', '2', '--from-snapshot',
                            snapshot_id)
    assert status == 0 and bigger['size'] == 2
    status, _, err = run('volume', 'create')
    assert status == cli.EXIT_USAGE and 'SIZE' in err
    missing = '11111111-1111-1111-1111-111111111111'
    status, _, err = run('volume', 'create', '--from-snapshot', missing)
    assert status == cli.EXIT_NOT_FOUND and missing in err


def test_connect_disconnect_attach_detach(run):
    volume_id = run('volume', 'create', '1')[1]['id']
    status, connected, _ = run('connect', volume_id, '{"host": "node-9"}')
    assert status == 0
    assert connected['connection_info']['connector'] == {'host': 'node-9'}
    assert run('disconnect', connected['connection_id'])[0] == 0
    attached = run('attach', volume_id)[1]
    with open(attached['path'], 'rb') as device:
        assert device.read(4) == bytes(4)
    assert run('detach', volume_id)[1]['status'] == 'available'
    status, _, err = run('detach', volume_id)
    assert status == cli.EXIT_FAILED and 'not locally attached' in err


def test_errors_have_exit_codes(run):
    missing = '11111111-1111-1111-1111-111111111111'
    status, _, err = run('volume', 'show', missing)
    assert status == cli.EXIT_NOT_FOUND and missing in err
    status, _, err = run('volume', 'create', '0')
    assert status == cli.EXIT_USAGE and 'size' in err
    status, _, err = run('volume', 'list', backend=False)
    assert status == cli.EXIT_USAGE and '--config' in err
    status, _, err = run('connect', missing, 'not json')
    assert status in (cli.EXIT_USAGE, cli.EXIT_NOT_FOUND)


def test_table_output_after_the_command(run, capsys, tmp_path):
    run('volume', 'create', '1', '--name', 'tabled')
    status = cli.main(['volume', 'list', '--format', 'table', '--config',
                       str(tmp_path / 'files.yaml'), '--state',
                       str(tmp_path / 'st.db')])
    out = capsys.readouterr().out
    assert status == 0
    assert out.splitlines()[0].split()[:4] == ['ID', 'NAME', 'SIZE',
                                               'STATUS']
    assert 'tabled' in out


CINDER_CONF = '''[DEFAULT]
enabled_backends = lvm, ceph
debug = True

[lvm]
volume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver
volume_group = cinder-volumes
volume_backend_name = lvm_backend

[ceph]
volume_driver = cinder.volume.drivers.rbd.RBDDriver
rbd_pool = volumes
'''


def test_convert_cinder_conf(run, tmp_path):
    conf = tmp_path / 'cinder.conf'
    conf.write_text(CINDER_CONF)
    status, code, _ = run('convert', str(conf), backend=False)
    assert status == 0
    compile(code, 'converted', 'exec')
    assert "lvm_backend = cinderlib.Backend('lvm_backend', **{" in code
    assert "'rbd_pool': 'volumes'," in code and 'debug' not in code
    status, config, _ = run('convert', str(conf), '--to', 'json',
                            '--section', 'ceph', backend=False)
    assert config == {'backends': [{
        'volume_driver': 'cinder.volume.drivers.rbd.RBDDriver',
        'rbd_pool': 'volumes', 'volume_backend_name': 'ceph'}]}
    status, _, err = run('convert', str(conf), '--section', 'nope',
                         backend=False)
    assert status == cli.EXIT_USAGE and '[nope]' in err


def test_converted_yaml_is_a_cli_config(run, tmp_path, capsys):
    conf = tmp_path / 'cinder.conf'
    conf.write_text(f'[DEFAULT]\nenabled_backends = files\n[files]\n'
                    f'volume_driver = {FILE_DRIVER}\n'
                    f'file_volumes_dir = {tmp_path}/conv\n')
    assert cli.main(['convert', str(conf), '--to', 'yaml']) == 0
    (tmp_path / 'conv.yaml').write_text(capsys.readouterr().out)
    status = cli.main(['--format', 'json', 'volume', 'create', '1',
                       '--config', str(tmp_path / 'conv.yaml'),
                       '--state', str(tmp_path / 'conv.db')])
    assert status == 0
    assert json.loads(capsys.readouterr().out)['pool'] == 'files'


def test_drivers_filter(capsys):
    status = cli.main(['--format', 'json', 'drivers', '--name', 'rbd'])
    drivers = json.loads(capsys.readouterr().out)
    assert status == 0
    assert 'RBDDriver' in drivers
    assert all('rbd' in name.lower() for name in drivers)


# -- regression tests ---------------------------------------------------------


def test_a_backend_from_the_command_line_alone(run, tmp_path):
    backend = ['--driver', FILE_DRIVER, '--backend-name', 'files', '-o',
               f'file_volumes_dir={tmp_path}/cmdline', '--state',
               str(tmp_path / 'cmdline.db')]
    status, volume, err = run('volume', 'create', '1', backend=backend)
    assert status == 0, err
    assert volume['pool'] == 'files'
    assert run('volume', 'list', backend=backend)[1] == [volume]


def test_invalid_yaml_is_a_usage_error_on_one_line(run, tmp_path):
    config = tmp_path / 'bad.yaml'
    config.write_text('backend:\n  volume_driver: [unclosed\n')
    status, _, err = run('volume', 'list', backend=['--config',
                                                    str(config)])
    assert status == cli.EXIT_USAGE
    assert err.startswith(f'cinderlib: UsageError: {config} is not valid '
                          f'YAML')
    assert 'line 3' in err and err.count('\n') == 1


def test_an_extra_spec_without_a_value_is_a_usage_error(run):
    status, _, err = run('volume', 'create', '1', '--extra-spec', 'novalue')
    assert status == cli.EXIT_USAGE
    assert err == ("cinderlib: UsageError: --extra-spec takes KEY=VALUE, "
                   "got 'novalue'\n")
    status, volume, _ = run('volume', 'create', '1', '--extra-spec', 'a=b=c')
    assert status == 0


def test_tables_escape_control_characters(run, capsys, tmp_path):
    name = 'evil\x1b[2J\x07\u202etxt.exe'
    status, created, _ = run('volume', 'create', '1', '--name', name)
    assert created['name'] == name   # JSON output is exact (and escaped)
    status = cli.main(['volume', 'list', '--format', 'table', '--config',
                       str(tmp_path / 'files.yaml'), '--state',
                       str(tmp_path / 'st.db')])
    out = capsys.readouterr().out
    assert status == 0
    assert all(line.isprintable() for line in out.splitlines())
    assert 'evil\\x1b[2J\\x07\\u202etxt.exe' in out


@pytest.fixture
def two_backends(tmp_path):
    """Backend options choosing backend a or b of one configuration, with
    one state file."""
    config = tmp_path / 'two.yaml'
    config.write_text(''.join(
        f'- volume_backend_name: {name}\n'
        f'  volume_driver: {FILE_DRIVER}\n'
        f'  file_volumes_dir: {tmp_path}/{name}\n' for name in 'ab'))
    config.write_text('backends:\n' + config.read_text())
    return {name: ['--config', str(config), '--backend-name', name,
                   '--state', str(tmp_path / 'two.db')] for name in 'ab'}


def test_snapshots_and_connections_of_another_backend_are_not_found(
        run, two_backends):
    a, b = two_backends['a'], two_backends['b']
    volume_id = run('volume', 'create', '1', backend=a)[1]['id']
    snapshot_id = run('snapshot', 'create', volume_id, backend=a)[1]['id']
    connection_id = run('connect', volume_id, '{"host": "node-1"}',
                        backend=a)[1]['connection_id']
    status, _, err = run('snapshot', 'delete', snapshot_id, backend=b)
    assert status == cli.EXIT_NOT_FOUND and snapshot_id in err
    status, _, err = run('disconnect', connection_id, backend=b)
    assert status == cli.EXIT_NOT_FOUND and connection_id in err
    # Both are still there, and belong to backend a.
    assert run('disconnect', connection_id, backend=a)[0] == 0
    assert run('snapshot', 'delete', snapshot_id, backend=a)[0] == 0


@pytest.fixture
def memory_backend(tmp_path):
    config = tmp_path / 'memory.yaml'
    config.write_text(f'backend: {{volume_backend_name: mem, volume_driver: '
                      f'{MEMORY_DRIVER}, memory_attach_dir: {tmp_path}}}\n')
    return ['--config', str(config), '--state', str(tmp_path / 'mem.db')]


@pytest.mark.parametrize('bug', [ValueError('bad\nvalue'),
                                 TypeError('bad type'), KeyError('key')])
def test_a_driver_bug_is_a_failure_not_a_usage_error(
        run, memory_backend, bug):
    assert run('stats', backend=memory_backend)[0] == 0
    driver = cinderlib.Backend.backends['mem'].driver
    driver.fail_on['create_volume'] = bug
    status, _, err = run('volume', 'create', '1', backend=memory_backend)
    assert status == cli.EXIT_FAILED
    assert err.startswith(f'cinderlib: {type(bug).__name__}: ')
    assert err.count('\n') == 1 and 'Traceback' not in err
    status, _, err = run('--debug', 'volume', 'create', '1',
                         backend=memory_backend)
    assert status == cli.EXIT_FAILED and 'Traceback' in err


@pytest.mark.parametrize('words, code, text', [
    (['volume', 'create', '0'], cli.EXIT_USAGE, 'InvalidArgument: '),
    (['volume', 'list', '--backend-name', 'x', '-o', 'nope=1'],
     cli.EXIT_USAGE,
     'InvalidDriverOption: '),
    (['connect', '{id}', '[]'], cli.EXIT_USAGE, 'InvalidArgumentType: '),
    (['connect', '{id}', '@missing.json'], cli.EXIT_USAGE,
     'cannot read missing.json'),
    (['volume', 'clone', '{id}', '--size', '0'], cli.EXIT_USAGE,
     'Invalid size'),
    (['volume', 'show', MISSING], cli.EXIT_NOT_FOUND, 'VolumeNotFound: '),
    (['snapshot', 'delete', MISSING], cli.EXIT_NOT_FOUND,
     'SnapshotNotFound: '),
    (['disconnect', MISSING], cli.EXIT_NOT_FOUND, 'NotFound: '),
    (['volume', 'delete', '{id}'], cli.EXIT_FAILED, 'InvalidVolume: '),
])
def test_exit_codes_follow_the_exception_classes(run, words, code, text):
    volume_id = run('volume', 'create', '1')[1]['id']
    run('snapshot', 'create', volume_id)
    status, _, err = run(*(w.format(id=volume_id) for w in words))
    assert status == code and text in err, err


def test_invalid_persistence_is_a_usage_error(run, tmp_path):
    config = tmp_path / 'persistence.yaml'
    config.write_text(f'backend: {{volume_driver: {FILE_DRIVER}}}\n'
                      f'persistence: {{storage: nosuch}}\n')
    status, _, err = run('volume', 'list', backend=['--config',
                                                    str(config)])
    assert status == cli.EXIT_USAGE and 'InvalidPersistence' in err


def test_a_command_can_hand_its_command_line_to_another_main(capsys):
    """As ``migrate-db`` will hand its own to the legacy migration tool."""
    received = []

    def delegate_main(argv):
        received.append(argv)
        return 7

    delegated = command.Commands()
    delegated.delegate('other', 'run another tool', delegate_main)
    table = cli.table.COMMANDS + (delegated,)
    argv = ['other', '--from', 'x', '--debug', 'y', '--help']
    assert cli.main(argv, table) == 7
    assert received == [argv[1:]]
    assert cli.main(['--debug', 'other'], table) == 7
    assert received[-1] == []
    with pytest.raises(SystemExit) as exited:   # other commands: as before
        cli.main(['connector', 'extra'], table)
    assert exited.value.code == cli.EXIT_USAGE
    assert 'unrecognized arguments: extra' in capsys.readouterr().err


def test_volume_manage_unmanage_and_manageable(run, tmp_path):
    volumes = tmp_path / 'volumes'
    status, created, _ = run('volume', 'create', '1')
    outside = volumes / 'outside.img'
    with open(outside, 'wb') as file:
        file.write(b'outside data')
    status, entries, _ = run('volume', 'manageable', '--sort',
                             'reference:asc')
    assert status == 0
    assert [(e['reference']['source-name'], e['safe_to_manage'])
            for e in entries] == [('outside.img', True),
                                  (f'volume-{created["id"]}', False)]
    status, adopted, _ = run('volume', 'manage', 'outside.img', '--name',
                             'adopted')
    assert status == 0
    assert adopted['name'] == 'adopted' and adopted['size'] == 1
    assert adopted['status'] == 'available'
    adopted_file = volumes / f'volume-{adopted["id"]}'
    assert adopted_file.read_bytes()[:12] == b'outside data'
    status, _, err = run('volume', 'manage',
                         f'{{"source-name": "volume-{created["id"]}"}}')
    assert status == cli.EXIT_USAGE and 'already managed' in err
    status, _, err = run('volume', 'manage', '{"source-name": ')
    assert status == cli.EXIT_USAGE
    status, released, _ = run('volume', 'unmanage', adopted['id'])
    assert status == 0 and released['id'] == adopted['id']
    assert [v['id'] for v in run('volume', 'list')[1]] == [created['id']]
    assert adopted_file.read_bytes()[:12] == b'outside data'


def test_snapshot_manage_unmanage_and_manageable(run, tmp_path):
    status, created, _ = run('volume', 'create', '1')
    (tmp_path / 'volumes' / 'snapshot-old').write_bytes(b'old')
    entries = run('snapshot', 'manageable')[1]
    assert [e['reference'] for e in entries] == [
        {'source-name': 'snapshot-old'}]
    status, adopted, _ = run('snapshot', 'manage', created['id'],
                             'snapshot-old', '--name', 'old')
    assert status == 0 and adopted['name'] == 'old'
    assert adopted['volume_id'] == created['id']
    status, released, _ = run('snapshot', 'unmanage', adopted['id'])
    assert status == 0
    assert run('snapshot', 'list')[1] == []
    assert (tmp_path / 'volumes' / f'snapshot-{adopted["id"]}').read_bytes(
    ) == b'old'
