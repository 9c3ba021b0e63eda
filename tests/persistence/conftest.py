"""Real database servers for the persistence tests.

``tools/db-servers.sh`` installs and starts PostgreSQL and MariaDB on
127.0.0.1 (or the URLs come from CINDERLIB_TEST_POSTGRES_URL and
CINDERLIB_TEST_MYSQL_URL).  Under CI a server that cannot start fails its
tests; elsewhere they are skipped with the reason.
"""

import os
import shutil
import subprocess
import tempfile

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), '..', '..', 'tools',
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
