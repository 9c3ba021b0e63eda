"""One "host" of the race test: a process with a host name and a lock
directory of its own, sharing the file backend's directory (the storage),
a PostgreSQL database and a Redis coordination backend with the others.

    python -m tests.reliability.race_worker HOST WORKDIR DB_URL REDIS_URL

It connects every shared volume several times, checks that every
connection it made is recorded, disconnects its own connections, then
tries to delete every shared volume, and prints the ids of the
connections it made.  Each ``delete_volume`` the driver receives is
appended to WORKDIR/deletes.
"""

import json
import os
import random
import sys
import time

import cinderlib
from cinderlib import exception

ROUNDS = 3


def barrier(workdir, name, host, count):
    """Wait until ``count`` hosts reached the point ``name``."""
    open(os.path.join(workdir, f'{name}-{host}'), 'w').close()
    deadline = time.monotonic() + 120
    while sum(entry.startswith(f'{name}-')
              for entry in os.listdir(workdir)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(name)
        time.sleep(0.01)


def main(host, workdir, url, redis_url, hosts):
    cinderlib.setup(state_path=os.path.join(workdir, host), host=host,
                    coordination_backend_url=redis_url,
                    persistence_config={'storage': 'db', 'connection': url})
    backend = cinderlib.Backend(
        'race', volume_driver='cinderlib.drivers.file.FileVolumeDriver',
        file_volumes_dir=os.path.join(workdir, 'storage'))
    delete_volume = backend.driver.delete_volume

    def logged_delete(volume):
        with open(os.path.join(workdir, 'deletes'), 'a') as log:
            log.write(volume.id + '\n')
        delete_volume(volume)

    backend.driver.delete_volume = logged_delete
    with open(os.path.join(workdir, 'volumes')) as source:
        volume_ids = json.load(source)
    rng = random.Random(host)
    connector = {'host': host, 'initiator': f'iqn.2026-11.test:{host}',
                 'ip': '192.0.2.30', 'multipath': False,
                 'platform': 'x86_64', 'os_type': 'linux'}
    barrier(workdir, 'start', host, hosts)
    made = []
    for _ in range(ROUNDS):
        for volume_id in rng.sample(volume_ids, len(volume_ids)):
            volume = cinderlib.Volume.get_by_id(volume_id)
            made.append(volume.connect(connector))
    print(json.dumps([connection.id for connection in made]), flush=True)
    barrier(workdir, 'connected', host, hosts)
    # Every connection made is recorded, and its volume is in use.
    recorded = {connection.id for connection in
                cinderlib.Backend.persistence.get_connections()
                if connection._ovo.attached_host == host}
    if recorded != {connection.id for connection in made}:
        sys.exit(f'connection records lost: {len(recorded)} of {len(made)}')
    for volume_id in volume_ids:
        volume = cinderlib.Volume.get_by_id(volume_id)
        if volume.status != 'in-use':
            sys.exit(f'volume {volume_id} is {volume.status}, not in-use')
    barrier(workdir, 'checked', host, hosts)
    for connection in made:
        connection.disconnect()
    barrier(workdir, 'disconnected', host, hosts)
    for volume_id in rng.sample(volume_ids, len(volume_ids)):
        try:
            cinderlib.Volume.get_by_id(volume_id).delete()
        except exception.VolumeNotFound:
            pass


if __name__ == '__main__':
    main(*sys.argv[1:5], int(sys.argv[5]))
