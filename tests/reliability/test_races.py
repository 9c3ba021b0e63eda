"""Two hosts (processes with their own host names and lock directories)
racing on the same volumes through one PostgreSQL database and one Redis
coordination backend: every connection made is recorded, none is lost,
each volume is deleted once, and nothing is left."""

import json
import os
import subprocess
import sys

import cinderlib
from cinderlib.persistence import dbms

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
HOSTS = 2
VOLUMES = 4


def test_two_hosts_racing_on_the_same_volumes(tmp_path, empty_database,
                                              redis_url):
    url = empty_database('postgresql')
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db', 'connection': url})
    backend = cinderlib.Backend(
        'race', volume_driver='cinderlib.drivers.file.FileVolumeDriver',
        file_volumes_dir=str(tmp_path / 'storage'))
    volume_ids = [backend.create_volume(1).id for _ in range(VOLUMES)]
    (tmp_path / 'volumes').write_text(json.dumps(volume_ids))
    backend.unload()

    env = dict(os.environ, PYTHONPATH=ROOT)
    workers = [subprocess.Popen(
        [sys.executable, '-m', 'tests.reliability.race_worker',
         f'host-{number}', str(tmp_path), url, redis_url, str(HOSTS)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for number in range(HOSTS)]
    made = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-3000:]
        made.extend(json.loads(out))

    # Every connect() returned a distinct, recorded connection (checked
    # by the workers' disconnect of each), and each volume was deleted on
    # the storage exactly once.
    from tests.reliability import race_worker
    assert len(set(made)) == HOSTS * VOLUMES * race_worker.ROUNDS
    deletes = (tmp_path / 'deletes').read_text().split()
    assert sorted(deletes) == sorted(volume_ids)
    plugin = dbms.DBPersistence(url)
    assert plugin.get_volumes() == [] and plugin.get_connections() == []
    plugin.engine.dispose()
    assert os.listdir(tmp_path / 'storage') == []
