"""The collection, built with ``ansible-galaxy`` and installed in a
temporary collections path, once for the tests of this directory."""

import shutil
import tempfile

import pytest

from tests.ansible.runner import Ansible


@pytest.fixture(scope='session')
def ansible():
    work = tempfile.mkdtemp(prefix='cinderlib-ansible-')
    runner = Ansible(work)
    runner.tarball = runner.build_and_install()
    yield runner
    shutil.rmtree(work, ignore_errors=True)
