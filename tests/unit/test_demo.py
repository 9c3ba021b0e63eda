"""The demo command: the project's main job, run as a user would."""

import io
import os
import subprocess
import sys

from cinderlib import demo


def test_demo_verifies_every_step(tmp_path):
    out = io.StringIO()
    assert demo.run_demo(str(tmp_path / 'work'), out=out) == 0
    text = out.getvalue()
    assert 'verify the clone (new data)' in text
    assert 'demo verified in' in text
    assert len([line for line in text.splitlines() if ' ms' in line]) >= 13
    assert os.listdir(tmp_path / 'work' / 'volumes') == []


def test_demo_fails_when_data_does_not_verify(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, '_read', lambda path, offset, length:
                        b'x' * length)
    errors = []
    assert demo.run_demo(str(tmp_path), out=io.StringIO(),
                         on_error=errors.append) == 1
    assert 'unexpected data' in errors[0]


def test_demo_command_line(tmp_path):
    done = subprocess.run(
        [sys.executable, '-m', 'cinderlib', 'demo', '--dir', str(tmp_path)],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert 'demo verified' in done.stdout
