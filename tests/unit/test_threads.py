"""Many threads on one backend: nothing lost, one volume at a time."""

import threading
import time
from concurrent import futures

import cinderlib


def test_eight_threads_lose_nothing(backend, driver):
    def work(n):
        volume = backend.create_volume(1, name=f'v{n}')
        snapshot = volume.create_snapshot()
        clone = volume.clone()
        from_snap = snapshot.create_volume()
        snapshot.delete()
        volume.delete()
        return clone.id, from_snap.id

    with futures.ThreadPoolExecutor(8) as pool:
        kept = [vid for pair in pool.map(work, range(64)) for vid in pair]
    assert sorted(v.id for v in backend.volumes) == sorted(kept)
    assert len(driver.volumes) == 128
    assert driver.snapshots == {}
    assert all(v.status == 'available' for v in backend.volumes)
    assert cinderlib.Backend.persistence.get_snapshots() == []


def test_operations_on_one_volume_are_serialized(backend, driver, volume):
    active = []
    overlaps = []
    original = driver.extend_volume

    def slow_extend(vol, new_size):
        active.append(vol.id)
        if len(active) > 1:
            overlaps.append(list(active))
        time.sleep(0.01)
        original(vol, new_size)
        active.remove(vol.id)

    driver.extend_volume = slow_extend
    errors = []

    def grow(size):
        try:
            volume.extend(size)
        except ValueError:
            errors.append(size)  # a smaller size after a larger one won

    threads = [threading.Thread(target=grow, args=(s,)) for s in range(2, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert volume.size == 9
    assert driver.volumes[volume.name_in_storage] == 9
    assert len(errors) + len([c for c in driver.calls
                              if c[0] == 'extend_volume']) == 8


def test_no_eventlet_monkey_patching(volume):
    import eventlet.patcher
    assert not eventlet.patcher.is_monkey_patched('thread')
    assert not eventlet.patcher.is_monkey_patched('socket')
    assert threading.current_thread().__class__.__module__ == 'threading'
