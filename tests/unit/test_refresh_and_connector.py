"""Refreshing objects from persistence and this host's connector."""

import socket

import pytest

import cinderlib
from cinderlib import exception


def copy_of(obj):
    """The object as another process would load it from persistence."""
    return cinderlib.load(obj.jsons)


def test_volume_refresh_reads_persistence(volume):
    stale = copy_of(volume)
    volume.extend(2)
    cinderlib.Backend.persistence.set_volume(volume)
    stale.refresh()
    assert stale.size == 2


def test_snapshot_refresh_and_not_found(volume):
    snapshot = volume.create_snapshot()
    stale = copy_of(snapshot)
    snapshot._ovo.progress = '42%'
    snapshot.save()
    stale.refresh()
    assert stale.progress == '42%'
    snapshot.delete()
    with pytest.raises(exception.SnapshotNotFound):
        stale.refresh()


def test_connection_refresh_and_save(volume, connector):
    connection = volume.connect(connector)
    stale = copy_of(connection)
    connection._ovo.mountpoint = '/dev/vdb'
    connection.save()
    stale.refresh()
    assert stale.mountpoint == '/dev/vdb'
    connection.disconnect()
    with pytest.raises(exception.ConnectionNotFound):
        stale.refresh()


def test_backend_refresh_updates_stats(backend):
    backend.create_volume(5)
    backend.refresh()
    assert backend.stats()['free_capacity_gb'] == 995


def test_get_connector_properties_describes_this_host():
    properties = cinderlib.get_connector_properties(
        'sudo', '192.0.2.5', multipath=False, enforce_multipath=False)
    assert properties['ip'] == '192.0.2.5'
    assert properties['host'] == socket.gethostname()
    assert properties['multipath'] is False
    assert 'platform' in properties and 'os_type' in properties
    named = cinderlib.get_connector_properties(
        'sudo', '192.0.2.5', False, False, host='node-9')
    assert named['host'] == 'node-9'


def test_attach_without_root_falls_back_to_basic_properties(
        monkeypatch, volume):
    from cinderlib import connectors

    def no_privileges(*args, **kwargs):
        raise FileNotFoundError("No such file or directory: 'sudo'")

    monkeypatch.setattr(connectors, '_local_properties', {})
    monkeypatch.setattr(connectors, 'get_connector_properties',
                        no_privileges)
    monkeypatch.setattr(connectors.os, 'geteuid', lambda: 1000)
    connection = volume.attach()
    assert connection.connector_info['host'] == socket.gethostname()
    assert connection.connector_info['multipath'] is False
    volume.detach()


def test_privilege_failures_as_root_are_raised(monkeypatch, volume):
    from cinderlib import connectors

    def broken(*args, **kwargs):
        raise RuntimeError('privsep daemon died')

    monkeypatch.setattr(connectors, '_local_properties', {})
    monkeypatch.setattr(connectors, 'get_connector_properties', broken)
    monkeypatch.setattr(connectors.os, 'geteuid', lambda: 0)
    with pytest.raises(RuntimeError):
        volume.attach()
    assert volume.connections == []
