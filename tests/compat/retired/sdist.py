"""The retired cinderlib 5.2.0's functional tests, fetched from PyPI.

``pip download`` fetches the sdist (and ``ddt``, the one test library the
suite needs that this project does not) into
``$CINDERLIB_TEST_CACHE/retired-cinderlib-5.2.0`` (default
``~/.cache/cinderlib-tests``); both are checked against the hashes PyPI
published, and only the functional test files are extracted, never the
retired library itself.  Later runs use the cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

from tests.compat.ember import venv

SDIST = 'cinderlib-5.2.0.tar.gz'
DDT = 'ddt-1.7.2-py2.py3-none-any.whl'
# sha256 of the files PyPI serves for cinderlib==5.2.0 and ddt==1.7.2.
SHA256 = {
    SDIST: '0806efe4f65b0a3f28057d2bfed064dfcda46baa858a56c8ee2f7cbc740f1134',
    DDT: '6adcfaf9785f0a36f9e73a89b91e412de9ef8649e289b750e3683bc79d5e2354',
}
# What the suite is made of, inside the sdist's cinderlib/ folder.
FILES = ('tests/__init__.py', 'tests/functional/__init__.py',
         'tests/functional/base_tests.py', 'tests/functional/test_basic.py')
PREFIX = 'cinderlib-5.2.0/cinderlib/'
COMPLETE = '.complete'


class FetchError(Exception):
    """The suite could not be fetched (the message says why)."""


def suite_dir() -> str:
    """A folder holding ``tests/functional/...`` of the retired sdist and
    the ``ddt`` wheel; fetched on first use."""
    path = os.path.join(venv.cache_dir(), 'retired-cinderlib-5.2.0')
    os.makedirs(path, mode=0o700, exist_ok=True)
    with open(os.path.join(path, '.lock'), 'w') as lock:
        # One fetch at a time; a second pytest waits for the first.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _listing(path) != _expected_listing():
            _fetch(path)
    return path


def ddt_wheel(path: str) -> str:
    return os.path.join(path, DDT)


def _fetch(path: str) -> None:
    with tempfile.TemporaryDirectory() as download:
        _pip_download(download, 'cinderlib==5.2.0', '--no-binary')
        _pip_download(download, 'ddt==1.7.2', '--only-binary')
        for name, digest in SHA256.items():
            _check_hash(os.path.join(download, name), digest)
        shutil.rmtree(os.path.join(path, 'tests'), ignore_errors=True)
        _extract(os.path.join(download, SDIST), path)
        shutil.copyfile(os.path.join(download, DDT), ddt_wheel(path))
    with open(os.path.join(path, COMPLETE), 'w') as mark:
        mark.write(_expected_listing())


def _expected_listing() -> str:
    return '\n'.join((*FILES, *SHA256.values())) + '\n'


def _listing(path: str) -> str:
    """What a complete fetch recorded ('' if none did)."""
    try:
        with open(os.path.join(path, COMPLETE)) as mark:
            return mark.read()
    except FileNotFoundError:
        return ''


def _pip_download(folder: str, requirement: str, binary_option: str) -> None:
    command = [sys.executable, '-m', 'pip', 'download', '-q', '--no-input',
               '--no-deps', binary_option, ':all:', '-d', folder, requirement]
    done = subprocess.run(command, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300,
                          cwd=folder)
    if done.returncode:
        lines = [line for line in done.stderr.splitlines()
                 if 'is ignored: it is neither' not in line]
        raise FetchError(f'pip download {requirement} failed (exit '
                         f'{done.returncode}): ' + ' | '.join(lines[-5:]))


def _check_hash(path: str, expected: str) -> None:
    if not os.path.exists(path):
        raise FetchError(f'pip download did not give {os.path.basename(path)}')
    with open(path, 'rb') as downloaded:
        found = hashlib.sha256(downloaded.read()).hexdigest()
    if found != expected:
        raise FetchError(f'{os.path.basename(path)} has sha256 {found}, '
                         f'PyPI published {expected}')


def _extract(sdist: str, path: str) -> None:
    """Write the suite's files (and nothing else) under ``path``."""
    with tarfile.open(sdist) as archive:
        for name in FILES:
            member = archive.getmember(PREFIX + name)
            source = archive.extractfile(member)
            if source is None:
                raise FetchError(f'{SDIST}: {name} is not a file')
            target = os.path.join(path, name)
            os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
            with source, open(target, 'wb') as out:
                out.write(source.read())
