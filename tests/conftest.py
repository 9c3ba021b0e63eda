"""Fixtures shared by every test: a clean library state per test, the
in-memory test driver, a Redis server for locks across hosts, and real
database servers.

``tools/db-servers.sh`` installs and starts PostgreSQL and MariaDB on
127.0.0.1 (or the URLs come from CINDERLIB_TEST_POSTGRES_URL and
CINDERLIB_TEST_MYSQL_URL).  Under CI a server that cannot start fails its
tests; elsewhere they are skipped with the reason.
"""

import os
import shutil
import subprocess
import tempfile
import uuid

import pytest
import sqlalchemy

# A lock taken while holding others out of order fails the test (here and
# in the processes tests start) instead of deadlocking some day.
os.environ['CINDERLIB_CHECK_LOCK_ORDER'] = '1'

import cinderlib  # noqa: E402
from cinderlib import directories  # noqa: E402
from cinderlib import locks  # noqa: E402

locks.CHECK_ORDER = True
MEMORY_DRIVER = 'tests.memory_driver.MemoryVolumeDriver'


@pytest.fixture(autouse=True)
def clean_library(tmp_path, tmp_path_factory, monkeypatch):
    """Set the library up afresh, and unload every backend afterwards.

    The test runs in an empty working directory of its own, which must
    stay empty: the library never writes there.  The default state
    directory is in ``tmp_path``.
    """
    cwd = tmp_path_factory.mktemp('cwd')
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(directories, 'ROOT_STATE_PATH',
                        str(tmp_path / 'default-state'))
    monkeypatch.setenv('XDG_STATE_HOME', str(tmp_path / 'state-home'))
    cinderlib.setup(state_path=str(tmp_path))
    yield
    for backend in list(cinderlib.Backend.backends.values()):
        backend.unload()
    cinderlib.Backend._options = None
    assert os.listdir(cwd) == [], 'written to the working directory'


@pytest.fixture
def backend(tmp_path):
    """A backend running the in-memory test driver."""
    return cinderlib.Backend('memory', volume_driver=MEMORY_DRIVER,
                             memory_attach_dir=str(tmp_path))


@pytest.fixture
def driver(backend):
    return backend.driver


@pytest.fixture
def volume(backend):
    return backend.create_volume(1, name='disk')


@pytest.fixture
def connector():
    return {'host': 'node-1', 'initiator': 'iqn.1993-08.org.debian:01:abc',
            'ip': '192.0.2.10', 'multipath': False, 'platform': 'x86_64',
            'os_type': 'linux'}


@pytest.fixture(scope='session')
def redis_url():
    """A Redis server on 127.0.0.1 (tools/redis-server.sh), or the URL in
    CINDERLIB_TEST_REDIS_URL.  Fails under CI when it cannot start,
    skips elsewhere."""
    url = os.environ.get('CINDERLIB_TEST_REDIS_URL')
    if url:
        yield url
        return
    script = os.path.join(os.path.dirname(__file__), '..', 'tools',
                          'redis-server.sh')
    work = tempfile.mkdtemp(prefix='cinderlib-redis-')
    started = subprocess.run(['bash', script, 'start', work],
                             capture_output=True, text=True, timeout=600)
    if started.returncode != 0:
        reason = f'Redis did not start: {started.stderr.strip()[-1500:]}'
        shutil.rmtree(work, ignore_errors=True)
        if os.environ.get('CI'):
            pytest.fail(reason)
        pytest.skip(reason)
    yield started.stdout.strip().partition('=')[2]
    subprocess.run(['bash', script, 'stop', work], timeout=60)
    shutil.rmtree(work, ignore_errors=True)


SCRIPT = os.path.join(os.path.dirname(__file__), '..', 'tools',
                      'db-servers.sh')
ENV_NAMES = {'postgresql': 'CINDERLIB_TEST_POSTGRES_URL',
             'mysql': 'CINDERLIB_TEST_MYSQL_URL'}


@pytest.fixture(scope='session')
def database_servers():
    """{'postgresql': url or error, 'mysql': url or error}."""
    urls = {kind: os.environ.get(name) for kind, name in ENV_NAMES.items()}
    if all(urls.values()):
        yield urls
        return
    # Not under pytest's private temp dir: the servers run as other users.
    work = tempfile.mkdtemp(prefix='cinderlib-db-servers-')
    started = subprocess.run(['bash', SCRIPT, 'start', work],
                             capture_output=True, text=True, timeout=600)
    for line in started.stdout.splitlines():
        name, _, value = line.partition('=')
        for kind, env_name in ENV_NAMES.items():
            if name == env_name and not urls[kind]:
                urls[kind] = value
    for kind in urls:
        if not urls[kind]:
            urls[kind] = ValueError(
                f'{kind} server did not start: '
                f'{started.stderr.strip()[-1500:]}')
    yield urls
    subprocess.run(['bash', SCRIPT, 'stop', work], timeout=120)
    shutil.rmtree(work, ignore_errors=True)


def _url(servers, kind):
    url = servers[kind]
    if isinstance(url, Exception):
        if os.environ.get('CI'):
            pytest.fail(str(url))
        pytest.skip(str(url))
    return url


@pytest.fixture
def postgresql_url(database_servers):
    return _url(database_servers, 'postgresql')


@pytest.fixture
def mysql_url(database_servers):
    return _url(database_servers, 'mysql')


@pytest.fixture
def empty_database(request, tmp_path):
    """Make URLs of new, empty databases of a kind; dropped afterwards."""
    made = []

    def make(kind):
        if kind == 'sqlite':
            return f'sqlite:///{tmp_path}/{uuid.uuid4().hex}.sqlite'
        server = sqlalchemy.engine.make_url(
            request.getfixturevalue(f'{kind}_url'))
        name = f'cinderlib_{uuid.uuid4().hex[:12]}'
        admin = sqlalchemy.create_engine(server,
                                         isolation_level='AUTOCOMMIT')
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE {name}')
        made.append((admin, name))
        return server.set(database=name).render_as_string(
            hide_password=False)

    yield make
    for admin, name in made:
        force = ' WITH (FORCE)' if admin.dialect.name == 'postgresql' else ''
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE {name}{force}')
        admin.dispose()
