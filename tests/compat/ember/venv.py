"""The virtualenv Ember-CSI 0.9.1 runs in: this checkout installed
(editable) with Ember-CSI and the dependency versions it works with.

Building it takes about a minute, so it is kept under
``$CINDERLIB_TEST_CACHE`` (default ``~/.cache/cinderlib-tests``) in a
directory named by a hash of what it is made of: the interpreter, the
checkout's path and ``pyproject.toml``, Ember-CSI's pins and the versions
of the packages installed in the test environment (given to pip as
constraints, so that Cinder and its libraries are the versions the rest of
the suite tests).  An editable install sees the checkout's code as it is,
so editing the library needs no rebuild; changing its dependencies does.
The three virtualenvs used last are kept, older ones removed.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
EMBER = 'ember-csi==0.9.1'
# Ember-CSI 0.9.1 breaks with newer grpcio, protobuf 4.25+ and
# kubernetes 12+; it imports pkg_resources (setuptools), six and pytz.
PINS = ('grpcio==1.59.3', 'kubernetes==11.0.0', 'protobuf==4.22.3',
        'setuptools<81', 'six', 'pytz')
# The pins decide these; the test environment's versions must not.
UNCONSTRAINED = {'cinderlib', 'ember-csi', 'pip', 'grpcio', 'kubernetes',
                 'protobuf', 'setuptools', 'six', 'pytz'}
COMPLETE = '.complete'
PREFIX = 'ember-csi-0.9.1-'
KEEP = 3  # virtualenvs kept in the cache
CHECK = ('import cinderlib, kubernetes, pkg_resources; '
         'from ember_csi.v1_1_0 import csi_pb2, csi_pb2_grpc; '
         "pkg_resources.get_distribution('cinderlib'); "
         "print(cinderlib.__file__)")


class BuildError(Exception):
    """The virtualenv could not be built (the message says why)."""


def cache_dir() -> str:
    base = os.environ.get('CINDERLIB_TEST_CACHE')
    if not base:
        xdg = os.environ.get('XDG_CACHE_HOME') or os.path.expanduser(
            '~/.cache')
        base = os.path.join(xdg, 'cinderlib-tests')
    return base


def _normalize(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def constraints() -> list[str]:
    """``name==version`` of the test environment's packages installed from
    an index (editable and local installs left out)."""
    found = {}
    for dist in metadata.distributions():
        name = dist.metadata['Name']
        if not name or _normalize(name) in UNCONSTRAINED:
            continue
        if dist.read_text('direct_url.json'):
            continue
        found[_normalize(name)] = f'{_normalize(name)}=={dist.version}'
    return sorted(found.values())


def _key(pins: list[str]) -> str:
    with open(os.path.join(ROOT, 'pyproject.toml'), 'rb') as project:
        pyproject = project.read()
    material = json.dumps({
        'python': [sys.version, os.path.realpath(sys.executable)],
        'checkout': ROOT, 'pyproject': hashlib.sha256(pyproject).hexdigest(),
        'ember': EMBER, 'pins': PINS, 'constraints': pins})
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _run(what: str, command: list[str], log: str) -> None:
    with open(log, 'a') as out:
        out.write(f'$ {" ".join(command)}\n')
        out.flush()
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=900,
                              cwd=tempfile.gettempdir())
    if done.returncode:
        with open(log) as out:
            lines = [line for line in out.read().splitlines()
                     if 'is ignored: it is neither' not in line]
        raise BuildError(f'{what} failed (exit {done.returncode}, log '
                         f'{log}): ' + ' | '.join(lines[-12:]))


def ember_venv() -> str:
    """The path of the virtualenv, built if needed; BuildError if not."""
    pins = constraints()
    base = cache_dir()
    os.makedirs(base, mode=0o700, exist_ok=True)
    path = os.path.join(base, f'{PREFIX}{_key(pins)}')
    with open(path + '.lock', 'w') as lock:
        # One build at a time; a second pytest waits for the first.
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.utime(path + '.lock')  # last use, for _prune()
        if not os.path.exists(os.path.join(path, COMPLETE)):
            _build(path, pins)
    _prune(base)
    return path


def _build(path: str, pins: list[str]) -> None:
    # Built in place (scripts and the privsep helper carry the path in
    # their first line), so a half-built one is started again.
    shutil.rmtree(path, ignore_errors=True)
    log = path + '.log'
    if os.path.exists(log):
        os.remove(log)
    constraints_file = path + '.constraints.txt'
    with open(constraints_file, 'w') as out:
        out.write('\n'.join(pins) + '\n')
    python = os.path.join(path, 'bin', 'python')
    _run('python -m venv', [sys.executable, '-m', 'venv', path], log)
    pip = [python, '-m', 'pip', 'install', '-q', '--no-input']
    _run('installing cinderlib',
         pip + ['-c', constraints_file, '-e', ROOT, *PINS], log)
    _run('installing Ember-CSI', pip + ['--no-deps', EMBER], log)
    done = subprocess.run([python, '-c', CHECK], capture_output=True,
                          text=True, timeout=300, env=_clean_env())
    if done.returncode or not done.stdout.startswith(ROOT):
        raise BuildError('the virtualenv does not import Ember-CSI and '
                         'this checkout\'s cinderlib: '
                         + (done.stderr.strip().splitlines() or
                            [done.stdout.strip()])[-1])
    with open(os.path.join(path, COMPLETE), 'w') as mark:
        mark.write(log + '\n')


def _prune(base: str) -> None:
    """Remove all but the KEEP virtualenvs used last (each checkout path
    has its own, ~400 MB); the lock file's time is the last use."""
    locks = glob.glob(os.path.join(base, f'{PREFIX}*.lock'))
    locks.sort(key=os.path.getmtime, reverse=True)
    for lock_path in locks[KEEP:]:
        with open(lock_path) as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # being built
            path = lock_path[:-len('.lock')]
            shutil.rmtree(path, ignore_errors=True)
            for suffix in ('.log', '.constraints.txt', '.lock'):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)


def _clean_env() -> dict[str, str]:
    """The environment without this process's Python settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV')}
    env['PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION'] = 'python'
    return env
