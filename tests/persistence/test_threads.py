"""Threads sharing one db plugin: nothing lost, no database errors."""

from concurrent import futures

import pytest

import cinderlib


@pytest.mark.parametrize('storage', ['memory_db', 'db'])
def test_eight_threads_lose_nothing(tmp_path, storage):
    config = {'storage': storage}
    if storage == 'db':
        config['connection'] = f'sqlite:///{tmp_path}/threads.sqlite'
    cinderlib.setup(state_path=str(tmp_path), persistence_config=config)
    backend = cinderlib.Backend('threads', volume_driver=(
        'tests.memory_driver.MemoryVolumeDriver'))

    def work(number):
        volume = backend.create_volume(1, name=f'v{number}')
        snapshot = volume.create_snapshot()
        clone = volume.clone()
        connection = clone.connect({'host': f'node-{number}'})
        snapshot.delete()
        volume.delete()
        return clone.id, connection.id

    with futures.ThreadPoolExecutor(8) as pool:
        kept = dict(pool.map(work, range(48)))
    plugin = cinderlib.Backend.persistence
    assert sorted(v.id for v in backend.volumes) == sorted(kept)
    assert all(v.status == 'in-use' for v in backend.volumes)
    assert sorted(c.id for c in plugin.get_connections()) == sorted(
        kept.values())
    assert plugin.get_snapshots() == []
    assert len(backend.driver.volumes) == 48
