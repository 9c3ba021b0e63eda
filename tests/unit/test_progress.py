"""Progress lines on a terminal: the Progress class, and the command run
in a subprocess whose stderr is a real pseudo-terminal."""

import fcntl
import io
import json
import os
import re
import struct
import subprocess
import sys
import termios
import time

import pytest

import cinderlib
from cinderlib import progress

FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
# The checkout (or installed package) this test imports, for the children.
IMPORT_ROOT = os.path.dirname(os.path.dirname(cinderlib.__file__))
SPINNER = re.compile(r'\r[|/\\-] (?P<label>[^\r\x1b]*?) \d+\.\d s\x1b\[K')

# Runs the command with some file driver methods made slow (the names in
# argv[1], comma separated), so that it lasts long enough to show progress.
SLOW_CLI = '''
import sys, time
from cinderlib.cinder import config as cinder_config
cinder_config.load()
from cinderlib.drivers import file
def slow(name):
    original = getattr(file.FileVolumeDriver, name)
    def slowed(self, *args, **kwargs):
        time.sleep(float(sys.argv[2]))
        return original(self, *args, **kwargs)
    setattr(file.FileVolumeDriver, name, slowed)
for name in filter(None, sys.argv[1].split(',')):
    slow(name)
from cinderlib import cli
sys.exit(cli.main(sys.argv[3:]))
'''


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


# -- the Progress class -------------------------------------------------------


def test_a_task_spins_then_erases_its_line(monkeypatch):
    monkeypatch.setenv('TERM', 'xterm')
    terminal = FakeTerminal()
    lines = progress.Progress(terminal, interval=0.02)
    assert lines.enabled
    with lines.task('cloning') as task:
        time.sleep(0.1)
        task.update('still cloning')
        time.sleep(0.1)
    text = terminal.getvalue()
    labels = [m.group('label') for m in SPINNER.finditer(text)]
    assert labels[0] == 'cloning' and labels[-1] == 'still cloning'
    assert len(labels) >= 4
    assert text.endswith(progress.ERASE)
    after = terminal.getvalue()
    time.sleep(0.05)
    assert terminal.getvalue() == after   # nothing draws after the end


def test_a_failing_task_erases_its_line_too(monkeypatch):
    monkeypatch.setenv('TERM', 'xterm')
    terminal = FakeTerminal()
    with pytest.raises(KeyError):
        with progress.Progress(terminal).task('working'):
            raise KeyError('x')
    assert terminal.getvalue().endswith(progress.ERASE)


def test_a_quick_task_draws_nothing_after_a_delay(monkeypatch):
    monkeypatch.setenv('TERM', 'xterm')
    terminal = FakeTerminal()
    with progress.Progress(terminal, delay=5).task('quick'):
        pass
    assert terminal.getvalue() == ''


def test_no_progress_off_a_terminal(monkeypatch):
    monkeypatch.setenv('TERM', 'xterm')
    stream = io.StringIO()
    lines = progress.Progress(stream, interval=0.01)
    assert not lines.enabled
    with lines.task('working') as task:
        task.update('more')
        time.sleep(0.05)
    assert stream.getvalue() == ''
    monkeypatch.setenv('TERM', 'dumb')
    assert not progress.Progress(FakeTerminal()).enabled
    assert not progress.Progress(FakeTerminal(), enabled=False).enabled


def test_long_labels_are_cut_to_the_terminal_width(monkeypatch):
    monkeypatch.setattr(progress, '_width', lambda stream: 30)
    terminal = FakeTerminal()
    with progress.Progress(terminal, enabled=True).task('x' * 100):
        pass
    first = terminal.getvalue().split('\r')[1]
    assert first == '| ' + 'x' * 18 + '... 0.0 s' + progress.CLEAR_TO_END


# -- the command --------------------------------------------------------------


@pytest.fixture(scope='module')
def command(tmp_path_factory):
    """Runs ``cinderlib`` in a subprocess on a file backend (one for the
    module's tests): stdout is a pipe; stderr a pseudo-terminal
    (``tty=True``) or a pipe."""
    tmp_path = tmp_path_factory.mktemp('command')
    config = tmp_path / 'files.yaml'
    config.write_text(
        'backend:\n'
        '  volume_backend_name: files\n'
        f'  volume_driver: {FILE_DRIVER}\n'
        f'  file_volumes_dir: {tmp_path}/volumes\n')
    backend = ['--config', str(config), '--state', str(tmp_path / 'st.db')]
    env = dict(os.environ, PYTHONPATH=IMPORT_ROOT, TERM='xterm')

    def run(*words, tty=False, slow=(), seconds=1.0):
        argv = [sys.executable, '-c', SLOW_CLI, ','.join(slow),
                str(seconds), *words, *backend]
        if not tty:
            done = subprocess.run(argv, capture_output=True, env=env,
                                  cwd=str(tmp_path), timeout=240)
            return done.returncode, done.stdout.decode(), done.stderr
        return _run_on_terminal(argv, env, str(tmp_path))
    return run


def _run_on_terminal(argv, env, cwd, stdout=subprocess.PIPE):
    """(status, stdout text, bytes the terminal received) of a child
    whose stderr (and with stdout=None, stdout) is a pseudo-terminal."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
    try:
        child = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL,
            stdout=slave if stdout is None else stdout, stderr=slave,
            env=env, cwd=cwd)
    finally:
        os.close(slave)
    received = b''
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    out = child.stdout.read().decode() if child.stdout else ''
    status = child.wait(timeout=240)
    return status, out, received


def _screen(received):
    """The lines a terminal shows after ``received``: carriage returns go
    back to the line's start, CLEAR_TO_END erases the rest of the line."""
    lines, line, column = [], [], 0
    text = received.decode().replace('\r\n', '\n')
    for token in re.findall(r'\x1b\[K|\r|\n|[^\r\n\x1b]+', text):
        if token == '\n':
            lines.append(''.join(line))
            line, column = [], 0
        elif token == '\r':
            column = 0
        elif token == '\x1b[K':
            del line[column:]
        else:
            line[column:column + len(token)] = token
            column += len(token)
    return lines + ([''.join(line)] if line else [])


@pytest.fixture(scope='module')
def ids(command):
    """A volume and a snapshot of it."""
    status, out, _ = command('volume', 'create', '1')
    assert status == 0
    volume_id = json.loads(out)['id']
    status, out, _ = command('snapshot', 'create', volume_id)
    assert status == 0
    return {'id': volume_id, 'snap': json.loads(out)['id']}


@pytest.mark.parametrize('words, slow, label', [
    (('volume', 'clone', '{id}'), 'create_cloned_volume',
     'cloning volume {id}'),
    (('attach', '{id}'), 'initialize_connection', 'attaching volume {id}'),
    (('volume', 'create', '--from-snapshot', '{snap}'),
     'create_volume_from_snapshot', 'creating a volume from snapshot {snap}'),
])
def test_long_operations_show_progress_on_a_terminal(command, ids, words,
                                                     slow, label):
    words = [word.format(**ids) for word in words]
    status, out, received = command(*words, tty=True, slow=[slow])
    assert status == 0, received
    result = json.loads(out)   # stdout holds the result only
    assert result.get('status', 'available') == 'available'
    labels = [m.group('label')
              for m in SPINNER.finditer(received.decode())]
    assert label.format(**ids) in labels
    elapsed = [float(s) for s in re.findall(
        rf'{re.escape(label.format(**ids))} (\d+\.\d) s', received.decode())]
    assert elapsed == sorted(elapsed) and elapsed[-1] >= 0.9
    assert received.endswith(progress.ERASE.encode())
    assert _screen(received) == []   # the terminal is left blank


def test_no_progress_when_stderr_is_not_a_terminal(command, ids):
    status, out, err = command('volume', 'clone', ids['id'],
                               slow=['create_cloned_volume'])
    assert status == 0
    assert json.loads(out)['status'] == 'available'
    assert err == b''


def test_no_progress_with_no_progress_or_debug(command, ids):
    status, out, received = command('volume', 'clone', ids['id'],
                                    '--no-progress', tty=True,
                                    slow=['create_cloned_volume'],
                                    seconds=1)
    assert status == 0 and received == b''
    status, out, received = command('--debug', 'volume', 'list', tty=True,
                                    slow=['get_volume_stats'], seconds=1)
    assert status == 0 and not SPINNER.search(received.decode())


def test_errors_print_on_a_clean_line(command):
    missing = '11111111-1111-1111-1111-111111111111'
    status, _, received = command('volume', 'clone', missing, tty=True,
                                  slow=['do_setup'], seconds=1)
    assert status == 3
    assert SPINNER.search(received.decode())
    assert _screen(received) == [
        f'cinderlib: VolumeNotFound: Volume {missing} could not be found.']


def test_the_demo_shows_each_step_on_a_terminal(tmp_path):
    env = dict(os.environ, PYTHONPATH=IMPORT_ROOT, TERM='xterm')
    argv = [sys.executable, '-c', SLOW_CLI, 'create_cloned_volume', '1',
            'demo', '--dir', str(tmp_path / 'demo')]
    # stdout and stderr on one terminal, as in a shell.
    status, _, received = _run_on_terminal(argv, env, str(tmp_path),
                                           stdout=None)
    assert status == 0, received
    text = received.decode()
    labels = [m.group('label') for m in SPINNER.finditer(text)]
    assert labels[0].startswith(' 1. set up a file backend in /')
    assert ' 8. clone the volume' in labels
    # A label too long for the terminal's 80 columns is cut.
    assert all(len(line) < 80 for line in re.findall(
        r'\r([|/\\-] [^\r\x1b]*)\x1b\[K', text))
    screen = _screen(received)
    assert len(screen) == 14 and screen[-1].startswith('demo verified in')
    assert all(re.match(r'^[ \d]\d\. .* ms$', line) for line in screen[:-1])
    assert screen[7].startswith(' 8. clone the volume')


def test_the_demo_prints_no_progress_off_a_terminal(tmp_path):
    env = dict(os.environ, PYTHONPATH=IMPORT_ROOT, TERM='xterm')
    done = subprocess.run(
        [sys.executable, '-m', 'cinderlib', 'demo', '--dir',
         str(tmp_path / 'demo')], capture_output=True, env=env,
        timeout=240, cwd=str(tmp_path))
    assert done.returncode == 0
    assert done.stderr == b''
    assert b'\r' not in done.stdout and b'\x1b' not in done.stdout
