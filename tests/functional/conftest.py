"""Backends for the functional suite, from a YAML file.

The file (``CINDERLIB_FUNCTIONAL_CONFIG``, default ``backends.yaml`` here)
lists backends with their cinder.conf options.  ``${NAME}`` expands from
the environment; when a backend needs ``CINDERLIB_CEPH_*`` and they are
not set, a throw-away Ceph cluster is started with tools/ceph-up.sh for
the session (under CI, failing to start it fails the tests).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest
import yaml

import cinderlib

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, '..', '..', 'tools')
CONFIG = os.environ.get('CINDERLIB_FUNCTIONAL_CONFIG',
                        os.path.join(HERE, 'backends.yaml'))
VARIABLE = re.compile(r'\$\{(\w+)\}')


def _read_config():
    with open(CONFIG) as config_file:
        config = yaml.safe_load(config_file) or {}
    backends = config.get('backends') or []
    if not backends:
        raise pytest.UsageError(f'{CONFIG} lists no backends')
    return backends, config.get('setup') or {}


BACKENDS, SETUP = _read_config()


def _needed_variables(backend):
    return {name for value in backend.values() if isinstance(value, str)
            for name in VARIABLE.findall(value)}


@pytest.fixture(scope='session')
def environment():
    """Environment variables the backends refer to, starting Ceph and
    making a work directory when needed."""
    values = dict(os.environ)
    work = tempfile.mkdtemp(prefix='cinderlib-functional-')
    values.setdefault('CINDERLIB_FUNCTIONAL_DIR', work)
    ceph_dir = None
    wanted = set().union(*map(_needed_variables, BACKENDS))
    if any(name.startswith('CINDERLIB_CEPH_') and name not in values
           for name in wanted):
        ceph_dir = os.path.join(work, 'ceph')
        started = subprocess.run(
            ['bash', os.path.join(TOOLS, 'ceph-up.sh'), ceph_dir],
            capture_output=True, text=True, timeout=600)
        if started.returncode == 0:
            values.update(line.split('=', 1)
                          for line in started.stdout.splitlines()
                          if '=' in line)
            # The venv's .pth for the bindings may be newer than this
            # process: make them importable here too.
            bindings = values.get('CINDERLIB_CEPH_PYTHONPATH')
            if bindings and bindings not in sys.path:
                sys.path.append(bindings)
        else:
            values['_ceph_error'] = started.stderr[-2000:]
    yield values
    if ceph_dir:
        subprocess.run(['bash', os.path.join(TOOLS, 'ceph-down.sh'),
                        ceph_dir], timeout=120)
    shutil.rmtree(work, ignore_errors=True)


def _expand(value, environment):
    def replace(match):
        name = match.group(1)
        if name not in environment:
            reason = environment.get('_ceph_error', '')
            message = f'${{{name}}} is not set {reason}'.strip()
            if os.environ.get('CI'):
                pytest.fail(message)
            pytest.skip(message)
        return environment[name]
    return VARIABLE.sub(replace, value) if isinstance(value, str) else value


@pytest.fixture(params=BACKENDS,
                ids=[b['volume_backend_name'] for b in BACKENDS])
def backend(request, environment, tmp_path):
    options = {key: _expand(value, environment)
               for key, value in request.param.items()}
    cinderlib.setup(state_path=str(tmp_path), **SETUP)
    name = options.pop('volume_backend_name')
    return cinderlib.Backend(name, **options)
