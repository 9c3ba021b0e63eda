"""A volume's size read while an extend of it is running: clones and
snapshots take the size the extend leaves, not the one before it (found
by bench/stress.py, where clones came out smaller than their source)."""

import threading
import time


def extend_in_background(driver, volume, size):
    """Start ``volume.extend(size)``, its driver call held until the
    returned event is set; returns (event, thread)."""
    entered, release = threading.Event(), threading.Event()
    extend = driver.extend_volume

    def held_extend(vol, new_size):
        entered.set()
        release.wait(10)
        extend(vol, new_size)

    driver.extend_volume = held_extend
    thread = threading.Thread(target=volume.extend, args=(size,))
    thread.start()
    assert entered.wait(10)
    return release, thread


def while_extending(driver, volume, size, operation):
    """Run ``operation()`` in a thread while ``volume`` is being extended
    to ``size``; returns what it returned, or raises what it raised."""
    release, extending = extend_in_background(driver, volume, size)
    outcome = {}

    def run():
        try:
            outcome['value'] = operation()
        except Exception as exc:
            outcome['error'] = exc

    other = threading.Thread(target=run)
    other.start()
    time.sleep(0.2)   # let it reach the volume's lock
    release.set()
    extending.join(10)
    other.join(10)
    if 'error' in outcome:
        raise outcome['error']
    return outcome['value']


def test_clone_during_an_extend_has_the_new_size(driver, volume):
    clone = while_extending(driver, volume, 3, volume.clone)
    assert volume.size == 3
    assert clone.size == 3 and clone.status == 'available'
    assert driver.volumes[clone.name_in_storage] == 3


def test_snapshot_during_an_extend_records_the_new_size(driver, volume):
    snapshot = while_extending(driver, volume, 3, volume.create_snapshot)
    assert snapshot.volume_size == 3
    from_snapshot = snapshot.create_volume()
    assert from_snapshot.size == 3 and from_snapshot.status == 'available'
