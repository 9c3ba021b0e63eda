"""Lock directories on a shared host: private by default and never the
working directory, refused when another user could write in them, and no
symbolic link followed where a lock file is created.  Each scenario runs
in a process of its own, as root and as the unprivileged ``nobody``."""

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
USERS = ['root', 'nobody']


@pytest.fixture(params=USERS)
def user(request):
    if request.param == 'nobody' and (
            os.geteuid() != 0 or not shutil.which('setpriv')):
        pytest.skip('running as another user needs root and setpriv')
    if request.param == 'root' and os.geteuid() != 0:
        pytest.skip('not running as root')
    return request.param


@pytest.fixture
def work(user):
    """A directory of ``user`` (outside pytest's directories, which
    nobody cannot enter), with an empty ``cwd`` in it."""
    path = tempfile.mkdtemp(prefix='cinderlib-lock-dirs-')
    os.mkdir(os.path.join(path, 'cwd'))
    os.mkdir(os.path.join(path, 'home'), 0o700)
    if user == 'nobody':
        entry = pwd.getpwnam('nobody')
        for name in ('', 'cwd', 'home'):
            os.chown(os.path.join(path, name), entry.pw_uid, entry.pw_gid)
    yield path
    shutil.rmtree(path)


def run(user, work, scenario, *args, home=None):
    env = dict(os.environ, PYTHONPATH=ROOT,
               HOME=home or os.path.join(work, 'home'))
    env.pop('XDG_STATE_HOME', None)
    command = [sys.executable, '-m', 'tests.reliability.lock_dir_worker',
               scenario, work, *args]
    if user == 'nobody':
        command = ['setpriv', '--reuid=nobody', '--regid=nogroup',
                   '--clear-groups'] + command
    done = subprocess.run(command, cwd=os.path.join(work, 'cwd'), env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_default_directory_is_private_and_not_the_working_one(user, work):
    result = run(user, work, 'default')
    assert result['cwd'] == []
    if user == 'root':
        assert result['root_default'] == '/var/lib/cinderlib'
        expected = os.path.join(work, 'root-state')
    else:
        expected = os.path.join(work, 'home', '.local', 'state',
                                'cinderlib')
    assert result['state_path'] == expected
    info = os.stat(expected)
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == pwd.getpwnam(user).pw_uid
    modes = result['modes']
    assert modes['cinderlib-locks'] == 0o700
    ours = [name for name in modes if '/cinderlib-lock-' in name]
    assert ours and all(modes[name] == 0o600 for name in ours)
    # The drivers' locks went there too: oslo.concurrency's in the state
    # directory, Cinder's coordinator's in cinderlib-locks.
    assert any('oslo-lock' in name and '/' not in name for name in modes)
    assert any(name.startswith('cinderlib-locks/') and
               'coordinator-lock' in name for name in modes)
    assert not any(mode & 0o022 for mode in modes.values())


@pytest.mark.parametrize('mode', [0o777, 0o1777, 0o770],
                         ids=['0777', '1777', '0770'])
def test_directories_others_can_write_in_are_refused(user, work, mode):
    shared = os.path.join(work, 'shared')
    os.mkdir(shared)
    os.chmod(shared, mode)
    if user == 'nobody':
        os.chown(shared, pwd.getpwnam('nobody').pw_uid, -1)
    private = os.path.join(work, 'home', 'state')
    who = 'its group' if mode == 0o770 else 'others'
    for arguments, field in (
            ({'state_path': shared}, 'state_path'),
            ({'state_path': private, 'file_locks_path': shared},
             'file_locks_path'),
            ({'state_path': private,
              'coordination_backend_url': f'file://{shared}'},
             'coordination_backend_url')):
        result = run(user, work, 'refused', json.dumps(arguments))
        error = result['error']
        assert error is not None, arguments
        assert f'Invalid {field}: directory {shared} is writable by ' \
               f'{who} (mode {mode:04o})' in error
        assert f'chmod go-w {shared}' in error
        assert result['listing']['shared'] == []


def test_a_directory_of_another_user_is_refused(user, work):
    other = os.path.join(work, 'others')
    os.mkdir(other, 0o755)
    owner = 'root' if user == 'nobody' else 'nobody'
    os.chown(other, pwd.getpwnam(owner).pw_uid, -1)
    for arguments, field in (({'state_path': other}, 'state_path'),
                             ({'file_locks_path': other},
                              'file_locks_path')):
        result = run(user, work, 'refused', json.dumps(arguments))
        assert (f'InvalidArgument: Invalid {field}: directory {other} '
                f'belongs to uid {pwd.getpwnam(owner).pw_uid}, not to this '
                f'process (uid {pwd.getpwnam(user).pw_uid})'
                in result['error'])
        assert result['listing']['others'] == []


@pytest.mark.parametrize('user', ['nobody'], indirect=True)
def test_an_unusable_default_directory_is_a_clear_error(user, work):
    # nobody's home, as on most systems, does not exist.
    result = run(user, work, 'refused', '{}', home='/nonexistent')
    assert result['error'] == (
        'InvalidArgument: Invalid state_path: cannot create directory '
        '/nonexistent/.local/state/cinderlib: Permission denied; give '
        'setup() a state_path this user can create')


def test_a_symlink_at_a_lock_file_is_not_followed(user, work):
    result = run(user, work, 'symlink')
    assert result['target_created'] is False
    assert 'is a symbolic link; cinderlib never creates a file through ' \
           'one: remove it' in result['error']
    assert result['error'].startswith(
        'InvalidArgument: Invalid state_path: lock file ')
    assert result['volumes'] == []  # refused before anything was stored
    assert result['then'] == 'available'


def test_default_state_path_follows_xdg_for_users(monkeypatch, tmp_path):
    from cinderlib import directories
    monkeypatch.setattr(directories.os, 'geteuid', lambda: 1000)
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.setenv('XDG_STATE_HOME', '/srv/state')
    assert directories.default_state_path() == '/srv/state/cinderlib'
    # A relative XDG_STATE_HOME is invalid and ignored (XDG spec).
    monkeypatch.setenv('XDG_STATE_HOME', 'state')
    assert directories.default_state_path() == str(
        tmp_path / '.local' / 'state' / 'cinderlib')
    monkeypatch.setattr(directories.os, 'geteuid', lambda: 0)
    assert directories.default_state_path() == directories.ROOT_STATE_PATH
