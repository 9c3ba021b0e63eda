"""The real Ember-CSI 0.9.1 runs unmodified on this library.

Each test drives Ember-CSI's plugin processes over CSI v1.1, as the
Kubernetes sidecars do, and checks the answers against the library's own
view of what was stored (``stores.py``) and against the volume files of
the file driver.  Every test runs on Ember's ``db`` (SQLite) and ``crd``
(its own persistence plugin, on a fake Kubernetes API) persistence, and
those not needing a node process on ``memory_db`` too.

On the node, the file driver's local attach hands Ember-CSI the volume's
file, which it bind-mounts like a device: raw block volumes stage and
publish.  Filesystem volumes (Ember-CSI runs ``lsblk`` and ``mkfs`` on
the device), NodeGetVolumeStats (it reads ``/sys/class/block``) and
NodeExpandVolume (os-brick's ``LOCAL`` connector cannot extend) need a
real block device and are not tested here.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from typing import Any

import pytest

import cinderlib

from tests.compat.ember import plugin
from tests.compat.ember import stores

GiB = 1024 ** 3
BLOCK_RWO = {'block': {}, 'access_mode': {'mode': 'SINGLE_NODE_WRITER'}}
NODE_ID = f'{plugin.PLUGIN_NAME}.ember-csi.io.node1'
PERSISTENCE_CLASSES = {'db': 'DBPersistence', 'crd': 'CRDPersistence',
                       'memory_db': 'MemoryDBPersistence'}


def ok(reply: plugin.Reply) -> dict[str, Any]:
    """The response of a call that must succeed; else the plugin's error."""
    assert reply.ok, reply.explain()
    return reply.response


def unique(prefix: str) -> str:
    return f'{prefix}-{uuid.uuid4().hex[:10]}'


def create_volume(ember: plugin.Ember, name: str, required: int = 0,
                  source: dict[str, Any] | None = None,
                  **extra: Any) -> dict[str, Any]:
    """CreateVolume of a raw block volume (``required`` bytes)."""
    request: dict[str, Any] = {'name': name,
                               'volume_capabilities': [BLOCK_RWO], **extra}
    if required:
        request['capacity_range'] = {'required_bytes': str(required)}
    if source:
        request['volume_content_source'] = source
    volume: dict[str, Any] = ok(ember.call('CreateVolume', request))['volume']
    return volume


@pytest.fixture
def store(deployment, tmp_path):
    return deployment.store(str(tmp_path / 'view'))


@pytest.fixture
def shared_store(shared_deployment, tmp_path):
    return shared_deployment.store(str(tmp_path / 'view'))


def stored_volume(store: Any, volume_id: str) -> Any:
    found = stores.by_id(store.volumes()).get(volume_id)
    assert found is not None, f'volume {volume_id} is not stored'
    return found


def write_marks(path: str) -> bytes:
    """Write data at the start and the end of a volume file."""
    mark = uuid.uuid4().bytes * 64
    with open(path, 'r+b') as volume:
        volume.write(mark)
        volume.seek(GiB - len(mark))
        volume.write(mark)
    return mark


def assert_marks(path: str, mark: bytes) -> None:
    with open(path, 'rb') as volume:
        assert volume.read(len(mark)) == mark
        volume.seek(GiB - len(mark))
        assert volume.read(len(mark)) == mark


# -- identity -----------------------------------------------------------------
def test_identity(deployment, store):
    ember = deployment.controller()
    info = ok(ember.call('GetPluginInfo'))
    assert info['name'] == f'{plugin.PLUGIN_NAME}.ember-csi.io'
    assert info['vendor_version'] == '0.9.1'
    manifest = info['manifest']
    assert manifest['cinderlib-version'] == cinderlib.__version__
    assert manifest['persistence'] == PERSISTENCE_CLASSES[deployment.kind]
    assert manifest['cinder-driver'] == 'FileVolumeDriver'
    assert manifest['cinder-driver-supported'] == 'True'

    # Probe stores and reads back a key-value, checks the driver and
    # asks it for its stats.
    assert ok(ember.call('Probe')) == {'ready': True}
    if store is not None:
        probe = f'{info["name"]}.controller.{socket.getfqdn()}.probe'
        value = store.key_value(probe)
        assert value is not None and int(value) >= 1, store.keys()

    capabilities = ok(ember.call('GetPluginCapabilities'))['capabilities']
    assert {'service': {'type': 'CONTROLLER_SERVICE'}} in capabilities
    rpcs = {c['rpc']['type'] for c in
            ok(ember.call('ControllerGetCapabilities'))['capabilities']}
    assert rpcs == {'CREATE_DELETE_VOLUME', 'PUBLISH_UNPUBLISH_VOLUME',
                    'LIST_VOLUMES', 'GET_CAPACITY', 'CREATE_DELETE_SNAPSHOT',
                    'LIST_SNAPSHOTS', 'CLONE_VOLUME', 'PUBLISH_READONLY',
                    'EXPAND_VOLUME'}


# -- volumes ------------------------------------------------------------------
def test_create_volume_rounds_bytes_up_to_gib(deployment, store):
    """Ember asks for required_bytes / GiB as a float: 1.5 GiB gives a
    2 GiB volume, never a smaller one."""
    ember = deployment.controller()
    name = unique('float')
    volume = create_volume(ember, name, capacity_range={
        'required_bytes': str(GiB + GiB // 2), 'limit_bytes': str(2 * GiB)})
    assert int(volume['capacity_bytes']) == 2 * GiB
    assert os.path.getsize(deployment.volume_file(volume['volume_id'])) \
        == 2 * GiB

    # CSI calls are retried: the same name gives the same volume.
    again = create_volume(ember, name, GiB + GiB // 2)
    assert again['volume_id'] == volume['volume_id']
    if store is not None:
        stored = stored_volume(store, volume['volume_id'])
        assert (stored.name, stored.size, stored.status) == \
            (name, 2, 'available')
        assert '_capabilities' in stored.metadata
        assert [v.id for v in store.volumes() if v.name == name] == \
            [volume['volume_id']]


def test_create_volume_default_size(deployment, store):
    """Without a capacity range Ember asks for 1.0 (a float) GiB."""
    ember = deployment.controller()
    volume = create_volume(ember, unique('default'))
    assert int(volume['capacity_bytes']) == GiB
    assert os.path.getsize(deployment.volume_file(volume['volume_id'])) \
        == GiB
    if store is not None:
        assert stored_volume(store, volume['volume_id']).size == 1


def test_capabilities_validated_from_stored_metadata(deployment):
    """Ember keeps the volume's capabilities in its metadata and checks
    later requests against what it reads back."""
    ember = deployment.controller()
    volume = create_volume(ember, unique('caps'))['volume_id']
    same = ok(ember.call('ValidateVolumeCapabilities', {
        'volume_id': volume, 'volume_capabilities': [BLOCK_RWO]}))
    assert same['confirmed']['volume_capabilities'] == [BLOCK_RWO]
    other = ok(ember.call('ValidateVolumeCapabilities', {
        'volume_id': volume, 'volume_capabilities': [{
            'mount': {'fs_type': 'ext4'},
            'access_mode': {'mode': 'SINGLE_NODE_WRITER'}}]}))
    assert 'confirmed' not in other and other['message']


def test_parameters_become_volume_type_specs(deployment, store):
    """StorageClass parameters xtra_* and qos_* become the volume type's
    extra and QoS specs; Ember returns the extra specs as the volume's
    context, also when listing (read back from the store)."""
    ember = deployment.controller()
    volume = create_volume(ember, unique('specs'), parameters={
        'xtra_tier': 'gold', 'qos_total_iops_sec': '100'})
    assert volume['volume_context'] == {'tier': 'gold'}
    listed = {e['volume']['volume_id']: e['volume'] for e in
              ok(ember.call('ListVolumes')).get('entries', [])}
    assert listed[volume['volume_id']]['volume_context'] == {'tier': 'gold'}
    if store is not None:
        stored = stored_volume(store, volume['volume_id'])
        assert dict(stored.volume_type.extra_specs) == {'tier': 'gold'}


def test_volume_from_snapshot_and_clone(deployment, store):
    ember = deployment.controller()
    source = create_volume(ember, unique('source'), GiB)
    mark = write_marks(deployment.volume_file(source['volume_id']))
    snapshot = ok(ember.call('CreateSnapshot', {
        'name': unique('snap'),
        'source_volume_id': source['volume_id']}))['snapshot']
    assert snapshot['source_volume_id'] == source['volume_id']
    assert snapshot['ready_to_use'] is True

    from_snap = create_volume(
        ember, unique('from-snap'), GiB + GiB // 4,
        {'snapshot': {'snapshot_id': snapshot['snapshot_id']}})
    assert int(from_snap['capacity_bytes']) == 2 * GiB
    assert from_snap['content_source'] == {
        'snapshot': {'snapshot_id': snapshot['snapshot_id']}}
    clone = create_volume(ember, unique('clone'), GiB,
                          {'volume': {'volume_id': source['volume_id']}})
    assert clone['content_source'] == {
        'volume': {'volume_id': source['volume_id']}}
    for made, size in ((from_snap, 2), (clone, 1)):
        path = deployment.volume_file(made['volume_id'])
        assert os.path.getsize(path) == size * GiB
        assert_marks(path, mark)

    if store is not None:
        volumes = stores.by_id(store.volumes())
        made_snap = volumes[from_snap['volume_id']]
        made_clone = volumes[clone['volume_id']]
        assert (made_snap.snapshot_id, made_snap.size) == \
            (snapshot['snapshot_id'], 2)
        assert (made_clone.source_volid, made_clone.size) == \
            (source['volume_id'], 1)
        # ListVolumes pages by created_at: each volume has its own.
        assert volumes[source['volume_id']].created_at < \
            made_snap.created_at < made_clone.created_at


def test_list_volumes_in_pages(deployment, store):
    ember = deployment.controller()
    made = [create_volume(ember, unique('page'))['volume_id']
            for _ in range(3)]
    everything = [entry['volume']['volume_id'] for entry in
                  ok(ember.call('ListVolumes')).get('entries', [])]
    assert set(made) <= set(everything)
    assert everything[-3:] == made  # oldest first

    pages, token = [], ''
    while True:
        page = ok(ember.call('ListVolumes', {'max_entries': 2,
                                             'starting_token': token}))
        entries = [e['volume']['volume_id'] for e in page.get('entries', [])]
        assert 0 < len(entries) <= 2
        pages.extend(entries)
        token = page.get('next_token', '')
        if not token:
            break
        assert len(pages) < 1000
    assert pages == everything

    if store is not None:
        listed = [v for v in store.volumes()
                  if v.status != 'deleted' and
                  getattr(v.backend, 'id', v.backend) ==
                  deployment.backend_name]
        listed.sort(key=lambda v: v.created_at)
        assert [v.id for v in listed] == everything


def test_get_capacity(deployment):
    ember = deployment.controller()
    reply = ok(ember.call('GetCapacity', {
        'volume_capabilities': [BLOCK_RWO]}))
    free = shutil.disk_usage(deployment.volumes_dir).free
    assert abs(int(reply['available_capacity']) - free) < GiB // 4


def test_snapshots_listed_by_source_volume(deployment, store):
    """Ember passes '' for the unset filter of ListSnapshots."""
    ember = deployment.controller()
    first = create_volume(ember, unique('snapped'))['volume_id']
    second = create_volume(ember, unique('snapped'))['volume_id']
    names = [unique('snap') for _ in range(3)]
    snaps = [ok(ember.call('CreateSnapshot', {
        'name': name, 'source_volume_id': volume}))['snapshot']['snapshot_id']
        for name, volume in zip(names, (first, first, second))]

    def listed(**request: Any) -> list[str]:
        return [e['snapshot']['snapshot_id'] for e in
                ok(ember.call('ListSnapshots', request)).get('entries', [])]

    assert sorted(listed(source_volume_id=first)) == sorted(snaps[:2])
    assert listed(source_volume_id=second) == snaps[2:]
    assert listed(snapshot_id=snaps[1]) == [snaps[1]]
    assert set(snaps) <= set(listed())
    page = ok(ember.call('ListSnapshots', {'source_volume_id': first,
                                           'max_entries': 1}))
    assert len(page['entries']) == 1 and page['next_token']

    # Retried: same snapshot; the same name for another volume: refused.
    again = ok(ember.call('CreateSnapshot', {
        'name': names[0], 'source_volume_id': first}))['snapshot']
    assert again['snapshot_id'] == snaps[0]
    clash = ember.call('CreateSnapshot', {'name': names[0],
                                          'source_volume_id': second})
    assert clash.code == 'ALREADY_EXISTS', clash.explain()

    ok(ember.call('DeleteSnapshot', {'snapshot_id': snaps[0]}))
    ok(ember.call('DeleteSnapshot', {'snapshot_id': snaps[0]}))
    assert listed(source_volume_id=first) == [snaps[1]]
    assert not os.path.exists(deployment.snapshot_file(snaps[0]))
    if store is not None:
        stored = stores.by_id(store.snapshots())
        assert snaps[0] not in stored
        assert (stored[snaps[1]].volume_id, stored[snaps[1]].name,
                stored[snaps[1]].status) == (first, names[1], 'available')


def test_expand_volume(deployment, store):
    ember = deployment.controller()
    volume = create_volume(ember, unique('grow'), GiB)['volume_id']
    grown = ok(ember.call('ControllerExpandVolume', {
        'volume_id': volume,
        'capacity_range': {'required_bytes': str(2 * GiB + GiB // 2)}}))
    assert int(grown['capacity_bytes']) >= 2 * GiB + GiB // 2
    assert not grown.get('node_expansion_required')
    assert os.path.getsize(deployment.volume_file(volume)) == 3 * GiB
    if store is not None:
        stored = stored_volume(store, volume)
        assert (stored.size, stored.status) == (3, 'available')

    shrink = ember.call('ControllerExpandVolume', {
        'volume_id': volume, 'capacity_range': {'required_bytes': str(GiB)}})
    assert shrink.code == 'OUT_OF_RANGE', shrink.explain()


def test_delete_volume(deployment, store):
    ember = deployment.controller()
    volume = create_volume(ember, unique('doomed'))['volume_id']
    ok(ember.call('DeleteVolume', {'volume_id': volume}))
    ok(ember.call('DeleteVolume', {'volume_id': volume}))  # idempotent
    assert not os.path.exists(deployment.volume_file(volume))
    listed = ok(ember.call('ListVolumes')).get('entries', [])
    assert volume not in [e['volume']['volume_id'] for e in listed]
    if store is not None:
        assert volume not in stores.by_id(store.volumes())


def test_delete_volume_with_snapshot(deployment, store):
    """A volume with snapshots is only marked deleted; deleting its last
    snapshot deletes it."""
    ember = deployment.controller()
    volume = create_volume(ember, unique('parent'))['volume_id']
    snapshot = ok(ember.call('CreateSnapshot', {
        'name': unique('child'),
        'source_volume_id': volume}))['snapshot']['snapshot_id']
    ok(ember.call('DeleteVolume', {'volume_id': volume}))
    listed = ok(ember.call('ListVolumes')).get('entries', [])
    assert volume not in [e['volume']['volume_id'] for e in listed]
    assert os.path.exists(deployment.volume_file(volume))
    if store is not None:
        assert stored_volume(store, volume).status == 'deleted'

    ok(ember.call('DeleteSnapshot', {'snapshot_id': snapshot}))
    assert not os.path.exists(deployment.volume_file(volume))
    assert not os.path.exists(deployment.snapshot_file(snapshot))
    if store is not None:
        assert volume not in stores.by_id(store.volumes())
        assert snapshot not in stores.by_id(store.snapshots())


# -- a node sharing the controller's store ------------------------------------
def test_node_starts_and_stores_its_connector(shared_deployment,
                                              shared_store):
    """The node calls os-brick's get_connector_properties itself, after
    cinderlib.setup(), and stores the result as a KeyValue."""
    node = shared_deployment.node()
    assert ok(node.call('NodeGetInfo')) == {'node_id': NODE_ID}
    rpcs = {c['rpc']['type'] for c in
            ok(node.call('NodeGetCapabilities'))['capabilities']}
    assert rpcs == {'STAGE_UNSTAGE_VOLUME', 'GET_VOLUME_STATS',
                    'EXPAND_VOLUME'}
    assert ok(node.call('GetPluginInfo'))['manifest']['mode'] == 'node'
    assert ok(node.call('Probe')) == {'ready': True}
    connector = stores.connector_of(shared_store, NODE_ID)
    assert connector is not None, f'no connector stored for {NODE_ID}'
    assert (connector['ip'], connector['multipath']) == ('127.0.0.1', False)
    assert connector['host']


def test_controller_publish_and_unpublish(shared_deployment, shared_store):
    ember = shared_deployment.controller()
    shared_deployment.node()  # stores the node's connector
    volume = create_volume(ember, unique('published'))['volume_id']
    request = {'volume_id': volume, 'node_id': NODE_ID,
               'volume_capability': BLOCK_RWO, 'readonly': False}
    ok(ember.call('ControllerPublishVolume', request))
    ok(ember.call('ControllerPublishVolume', request))  # retried: no-op

    connections = [c for c in shared_store.connections()
                   if c.volume_id == volume]
    assert len(connections) == 1
    connection = connections[0]
    assert connection.attached_host == NODE_ID
    assert connection.attach_mode == 'rw'
    assert '_capability' in connection.connector_info
    conn = connection.connection_info['conn']
    assert conn['driver_volume_type'] == 'local'
    assert conn['data']['device_path'] == os.path.realpath(
        shared_deployment.volume_file(volume))
    assert stored_volume(shared_store, volume).status == 'in-use'

    unknown = ember.call('ControllerPublishVolume',
                         dict(request, node_id=NODE_ID + 'x'))
    assert unknown.code == 'NOT_FOUND', unknown.explain()
    busy = ember.call('DeleteVolume', {'volume_id': volume})
    assert busy.code == 'FAILED_PRECONDITION', busy.explain()

    ok(ember.call('ControllerUnpublishVolume', {'volume_id': volume,
                                                'node_id': NODE_ID}))
    assert [c for c in shared_store.connections()
            if c.volume_id == volume] == []
    assert stored_volume(shared_store, volume).status == 'available'
    ok(ember.call('DeleteVolume', {'volume_id': volume}))


def test_stage_and_publish_block_volume(shared_deployment, shared_store,
                                        tmp_path):
    """The whole life of a raw block volume on a node: the file driver's
    local attach gives the volume's file, which Ember bind-mounts to a
    private place, the staging path and the pod's path."""
    if shared_deployment.private_mounts_reason:
        pytest.skip(shared_deployment.private_mounts_reason)
    if not shared_deployment.on_tmpfs:
        pytest.skip('Ember-CSI tells staged volumes by their mount source: '
                    'the volumes must be on a tmpfs and /dev/shm is not one')
    ember = shared_deployment.controller()
    node = shared_deployment.node()
    volume = create_volume(ember, unique('block'))['volume_id']
    volume_file = shared_deployment.volume_file(volume)
    ok(ember.call('ControllerPublishVolume', {
        'volume_id': volume, 'node_id': NODE_ID,
        'volume_capability': BLOCK_RWO}))
    staging = tmp_path / 'staging'
    target = tmp_path / 'pod' / 'block'
    staging.mkdir()
    target.parent.mkdir()
    staged = os.path.join(str(staging), 'stage')

    ok(node.call('NodeStageVolume', {
        'volume_id': volume, 'staging_target_path': str(staging),
        'volume_capability': BLOCK_RWO}))
    assert staged in node.mount_points()
    connection = [c for c in shared_store.connections()
                  if c.volume_id == volume][0]
    assert connection.mountpoint == staged

    ok(node.call('NodePublishVolume', {
        'volume_id': volume, 'staging_target_path': str(staging),
        'target_path': str(target), 'volume_capability': BLOCK_RWO,
        'readonly': False,
        'volume_context': {'csi.storage.k8s.io/pod.uid': 'pod-1'}}))
    assert str(target) in node.mount_points()
    # What the pod writes to its device reaches the volume's file.
    data = uuid.uuid4().bytes * 128
    with open(node.path(str(target)), 'r+b') as device:
        device.write(data)
    with open(volume_file, 'rb') as stored_data:
        assert stored_data.read(len(data)) == data
    published = [c for c in shared_store.connections()
                 if c.volume_id == volume]
    assert sorted(c.mountpoint for c in published) == sorted(
        [staged, str(target)])
    assert [c.instance_uuid for c in published
            if c.mountpoint == str(target)] == ['pod-1']

    ok(node.call('NodeUnpublishVolume', {'volume_id': volume,
                                         'target_path': str(target)}))
    assert str(target) not in node.mount_points()
    assert not target.exists()
    ok(node.call('NodeUnstageVolume', {'volume_id': volume,
                                       'staging_target_path': str(staging)}))
    assert staged not in node.mount_points()
    assert not [p for p in node.mount_points() if volume in p]
    remaining = [c for c in shared_store.connections()
                 if c.volume_id == volume]
    assert [c.mountpoint for c in remaining] == ['']

    ok(ember.call('ControllerUnpublishVolume', {'volume_id': volume,
                                                'node_id': NODE_ID}))
    ok(ember.call('DeleteVolume', {'volume_id': volume}))
    assert not os.path.exists(volume_file)


# -- Ember's CRD persistence on the fake Kubernetes API ----------------------
def test_crd_plugin_on_the_kubernetes_api(deployments, tmp_path):
    """Ember's plugin creates its CRDs, creates an object when the library
    reports its id as changed (a new object) and replaces it, with the
    resourceVersion it read, on every later save."""
    deployment = deployments('crd')
    ember = deployment.controller()
    kube = deployment.kube
    store = deployment.store(str(tmp_path / 'view'))
    assert sorted(kube.crds) == sorted(
        f'{plural}.{stores.GROUP}' for plural in
        ('volumes', 'snapshots', 'connections', 'keyvalues'))
    assert {crd['spec']['scope'] for crd in kube.crds.values()} == \
        {'Namespaced'}

    before = len(kube.requests)
    volume = create_volume(ember, unique('crd'))['volume_id']
    ok(ember.call('ControllerExpandVolume', {
        'volume_id': volume,
        'capacity_range': {'required_bytes': str(2 * GiB)}}))
    collection = (f'/apis/{stores.GROUP}/v1/namespaces/{stores.NAMESPACE}'
                  '/volumes')
    writes = [(method, code) for method, path, code in kube.requests[before:]
              if path in (collection, f'{collection}/{volume}') and
              method != 'GET']
    assert writes[0] == ('POST', 201), writes
    assert len(writes) > 2 and set(writes[1:]) == {('PUT', 200)}, writes

    stored = {o['metadata']['name']: o for o in
              kube.stored(stores.GROUP, 'volumes', stores.NAMESPACE)}[volume]
    assert stored['metadata']['labels'] == {
        'volume_id': volume, 'backend_name': deployment.backend_name,
        'volume_name': stored['metadata']['labels']['volume_name']}
    loaded = stored_volume(store, volume)
    assert (loaded.size, loaded.status) == (2, 'available')

    ok(ember.call('DeleteVolume', {'volume_id': volume}))
    assert volume not in {o['metadata']['name'] for o in kube.stored(
        stores.GROUP, 'volumes', stores.NAMESPACE)}
    refused = [r for r in kube.requests
               if r[2] in (400, 401, 405, 409, 422) or r[2] >= 500]
    assert refused == []
