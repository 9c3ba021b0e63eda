"""The Ember-CSI virtualenv cache keeps the ones used last."""

import fcntl
import os

from tests.compat.ember import venv


def test_prune_keeps_the_virtualenvs_used_last(tmp_path):
    base = tmp_path / 'cache'  # the library keeps its locks in tmp_path
    base.mkdir()
    for age in range(5):
        path = base / f'{venv.PREFIX}{age}'
        path.mkdir()
        for suffix in ('.lock', '.log', '.constraints.txt'):
            (base / f'{path.name}{suffix}').touch()
        os.utime(f'{path}.lock', (1000 - age, 1000 - age))
    # One being built (locked) is left alone, however old.
    (base / f'{venv.PREFIX}9').mkdir()
    with open(base / f'{venv.PREFIX}9.lock', 'w') as busy:
        os.utime(busy.name, (1, 1))
        fcntl.flock(busy, fcntl.LOCK_EX)
        venv._prune(str(base))
    assert sorted(os.listdir(base)) == sorted(
        f'{venv.PREFIX}{n}{suffix}' for n in (0, 1, 2)
        for suffix in ('', '.lock', '.log', '.constraints.txt')) + [
        f'{venv.PREFIX}9', f'{venv.PREFIX}9.lock']


def test_constraints_leave_out_the_pins_and_this_project():
    names = {line.split('==')[0] for line in venv.constraints()}
    assert 'cinder' in names
    assert not names & venv.UNCONSTRAINED
