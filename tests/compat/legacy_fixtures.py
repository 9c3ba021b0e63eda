"""JSON in the format the retired cinderlib 5.x wrote, built from parameters.

The retired library (5.x, on Cinder 19 "Xena" to 23 "2023.2") serialized
an object as ``{"class", "backend", "ovo"}``, ``ovo`` being the primitive
of the Cinder object it wrapped.  What those primitives held follows from
how it built and serialized its objects; this module models that, and
nothing of its code:

- A new object had every field of its Cinder class set: the field's
  default, else null, else what the library gave it.  So primitives list
  every field, most of them null.  The Cinder object versions were those
  of ``VERSIONS`` (unchanged from Xena to Cinder 29); releases before
  Xena had ``OLDER_VERSIONS``, without the ``use_quota`` fields.
- It never set a connection's ``attach_status``, ``attached_host``,
  ``attach_time`` or ``instance_uuid`` (null unless the caller passed
  them to ``connect()``), nor a volume's ``availability_zone``; a
  volume's ``attach_status`` stayed ``detached`` while it was in use.
  ``connection_info`` held ``conn`` and ``connector``, and ``device`` only
  while attached.  A snapshot's ``progress`` held its backend's name.
- Serializing walked the objects and left out any object already met on
  the way (a volume's snapshot's ``volume``...).  ``json``/``jsons`` were
  the full form; ``to_json()``/``to_jsons()`` defaulted to the simplified
  one, which leaves out a volume's ``snapshots`` and
  ``volume_attachment`` and a snapshot's or connection's ``volume``.
  Datetimes were written as ``2023-05-01T10:20:30.123456Z``.
- Volumes created with extra or QoS specs had a type of their own (the
  type's and the QoS specs' ids and names being the volume's id).  Without
  specs, the ``memory`` plugin left the type null; the ``db`` plugin gave
  the volume Cinder's default type, ``__DEFAULT__``, read from its
  database (clones and volumes from snapshots copied only its id).
- A clone or a volume from a snapshot copied its source volume's fields
  (``created_at`` and ``provider_auth`` included) but its id, lists and
  type.
- ``Backend.json`` was ``{"class": "Backend", "backend", "volumes"}``;
  with ``output_all_backend_info`` the backend entry was the backend's
  whole configuration, and the volumes in it carried only its name.

``python -m tests.compat.legacy_fixtures`` writes every fixture of
``fixtures()`` to ``tests/compat/legacy_json/``.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import sys
import uuid
from typing import Any, Optional

VERSIONS = {'Volume': '1.9', 'Snapshot': '1.6', 'VolumeAttachment': '1.3',
            'VolumeType': '1.3', 'QualityOfServiceSpecs': '1.0',
            'SnapshotList': '1.0', 'VolumeAttachmentList': '1.1'}
OLDER_VERSIONS = dict(VERSIONS, Volume='1.8', Snapshot='1.5')

# The fields of each Cinder class, in its order: (name, value of a new
# object when it has one) -- None for nullable fields.
_UNSET = object()
VOLUME_FIELDS = (
    ('id', _UNSET), ('_name_id', None), ('ec2_id', None), ('user_id', None),
    ('project_id', None), ('use_quota', True), ('snapshot_id', None),
    ('cluster_name', None), ('cluster', None), ('host', None),
    ('size', None), ('availability_zone', None), ('status', None),
    ('attach_status', None), ('migration_status', None),
    ('scheduled_at', None), ('launched_at', None), ('terminated_at', None),
    ('display_name', None), ('display_description', None),
    ('provider_id', None), ('provider_location', None),
    ('provider_auth', None), ('provider_geometry', None),
    ('volume_type_id', None), ('source_volid', None),
    ('encryption_key_id', None), ('consistencygroup_id', None),
    ('group_id', None), ('deleted', False), ('bootable', False),
    ('multiattach', False), ('replication_status', None),
    ('replication_extended_status', None),
    ('replication_driver_data', None), ('previous_status', None),
    ('metadata', None), ('admin_metadata', None), ('glance_metadata', None),
    ('volume_type', None), ('volume_attachment', _UNSET),
    ('consistencygroup', None), ('snapshots', _UNSET), ('group', None),
    ('service_uuid', None), ('shared_targets', True), ('created_at', None),
    ('updated_at', None), ('deleted_at', None))
SNAPSHOT_FIELDS = (
    ('id', _UNSET), ('user_id', None), ('project_id', None),
    ('use_quota', True), ('volume_id', None), ('cgsnapshot_id', None),
    ('group_snapshot_id', None), ('status', None), ('progress', None),
    ('volume_size', None), ('display_name', None),
    ('display_description', None), ('encryption_key_id', None),
    ('volume_type_id', None), ('provider_location', None),
    ('provider_id', None), ('metadata', _UNSET), ('provider_auth', None),
    ('volume', None), ('cgsnapshot', None), ('group_snapshot', None),
    ('created_at', None), ('updated_at', None), ('deleted_at', None),
    ('deleted', False))
ATTACHMENT_FIELDS = (
    ('id', _UNSET), ('volume_id', _UNSET), ('instance_uuid', None),
    ('attached_host', None), ('mountpoint', None), ('attach_time', None),
    ('detach_time', None), ('attach_status', None), ('attach_mode', None),
    ('volume', _UNSET), ('connection_info', None), ('connector', None),
    ('created_at', None), ('updated_at', None), ('deleted_at', None),
    ('deleted', False))
# Fields Cinder reads from its database rows (not its relationships).
_VOLUME_RELATIONSHIPS = ('metadata', 'admin_metadata', 'glance_metadata',
                         'volume_type', 'volume_attachment',
                         'consistencygroup', 'snapshots', 'cluster', 'group')
# What a clone or a volume from a snapshot does not copy from its source.
_NOT_COPIED = ('id', 'volume_attachment', 'snapshots', 'volume_type')

DEFAULT_TYPE_ID = '3c3b8fe2-0b2f-4b6a-9a36-2a2a4f0c1f00'
EPOCH = datetime.datetime(2023, 5, 1, 10, 20, 30, 123456,
                          tzinfo=datetime.timezone.utc)


class Ovo:
    """A Cinder object as the retired library held it: fields set, in
    class order; values are JSON data, ``Ovo`` or ``OvoList``."""

    def __init__(self, name: str, data: dict[str, Any],
                 versions: dict[str, str]) -> None:
        self.name = name
        self.data = data
        self.versions = versions
        self.version = versions[name]
        # Whether it was saved again after it was created (its database
        # row then has an updated_at).
        self.updated = False


class OvoList:
    def __init__(self, name: str, objects: list[Ovo],
                 versions: dict[str, str]) -> None:
        self.name = name
        self.objects = objects
        self.version = versions[name]


def timestamp(seconds: int) -> str:
    """A datetime ``seconds`` after EPOCH, as the retired library wrote
    datetimes."""
    value = EPOCH + datetime.timedelta(seconds=seconds, microseconds=seconds)
    return value.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def fixed_id(name: str) -> str:
    """A stable UUID for a fixture object's name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f'cinderlib-legacy/{name}'))


def _new(fields: tuple[tuple[str, Any], ...], values: dict[str, Any],
         versions: dict[str, str]) -> dict[str, Any]:
    """Every field of a new object: ``values``, else the field's default
    or null.  Fields the object version lacks are left out."""
    data = {}
    for name, default in fields:
        if name == 'use_quota' and versions is OLDER_VERSIONS:
            continue
        if name in values:
            data[name] = values[name]
        elif default is not _UNSET:
            data[name] = copy.deepcopy(default)
    return data


# -- volumes ------------------------------------------------------------------
def volume(backend: str, name: str, *, size: Optional[int] = None,
           status: str = 'available', display_name: Optional[str] = None,
           description: Optional[str] = None,
           extra_specs: Optional[dict[str, str]] = None,
           qos_specs: Optional[dict[str, str]] = None,
           plugin: str = 'memory', host: str = 'node0',
           pool: Optional[str] = None, source: Optional[Ovo] = None,
           from_snapshot: Optional[Ovo] = None, created: int = 0,
           provider_location: Optional[str] = None,
           metadata: Optional[dict[str, str]] = None,
           versions: dict[str, str] = VERSIONS,
           default_qos_read: bool = False) -> Ovo:
    """A volume as created by ``create_volume()``, ``clone()`` (``source``)
    or ``Snapshot.create_volume()`` (``from_snapshot``), after the driver
    succeeded (``status``: ``error`` if it failed).  What is not given
    is copied from the source volume, or has ``create_volume()``'s
    defaults.  The ``db`` plugin's default type was one object for all
    volumes: once a clone of a volume of that type had read its QoS specs
    (``default_qos_read``), every volume showed them (null)."""
    volume_id = fixed_id(name)
    values: dict[str, Any] = {}
    origin = source or (from_snapshot.data['volume'] if from_snapshot
                        else None)
    if origin is not None:
        values.update({key: copy.deepcopy(value)
                       for key, value in origin.data.items()
                       if key not in _NOT_COPIED})
        type_data = (origin.data['volume_type'].data
                     if origin.data['volume_type'] else {})
        if extra_specs is None and type_data.get('name') == volume_id_of(
                origin):
            extra_specs = dict(type_data['extra_specs'])
            qos = type_data.get('qos_specs')
            qos_specs = dict(qos.data['specs']) if qos else None
        if source is not None:
            values['source_volid'] = volume_id_of(source)
        else:
            values['snapshot_id'] = from_snapshot.data['id']
            values['size'] = from_snapshot.data['volume_size']
    else:
        values.update({
            'size': 1, 'display_name': '', 'display_description': '',
            'bootable': False, 'user_id': 'cinderlib',
            'project_id': 'cinderlib', 'attach_status': 'detached',
            'metadata': dict(metadata or {}), 'admin_metadata': {},
            'glance_metadata': {}, 'created_at': timestamp(created),
            'host': f'{host}@{backend}#{pool or backend}'})
    values.update({'id': volume_id, 'status': status})
    for field, value in (('size', size), ('display_name', display_name),
                         ('display_description', description)):
        if value is not None:
            values[field] = value
    if provider_location is not None:
        values['provider_location'] = provider_location
    data = _new(VOLUME_FIELDS, values, versions)
    data['volume_attachment'] = OvoList('VolumeAttachmentList', [],
                                        versions)
    data['snapshots'] = OvoList('SnapshotList', [], versions)
    if extra_specs or qos_specs:
        data['volume_type'] = own_type(volume_id, extra_specs or {},
                                       qos_specs, versions)
        data['volume_type_id'] = volume_id
    elif plugin == 'db' and data['volume_type_id'] is None:
        # The db plugin's set_volume gave it Cinder's default type.
        data['volume_type'] = default_type(versions, created_here=True,
                                           qos_read=default_qos_read)
        data['volume_type_id'] = DEFAULT_TYPE_ID
    _order(data, VOLUME_FIELDS)
    return Ovo('Volume', data, versions)


def volume_id_of(volume_ovo: Ovo) -> str:
    return volume_ovo.data['id']


def own_type(volume_id: str, extra_specs: dict[str, str],
             qos_specs: Optional[dict[str, str]],
             versions: dict[str, str] = VERSIONS) -> Ovo:
    """The type the retired library made for a volume with specs."""
    qos = None
    if qos_specs:
        qos = Ovo('QualityOfServiceSpecs', {
            'id': volume_id, 'name': volume_id, 'consumer': 'back-end',
            'specs': dict(qos_specs)}, versions)
    return Ovo('VolumeType', {
        'id': volume_id, 'name': volume_id, 'is_public': True,
        'extra_specs': dict(extra_specs),
        'qos_specs_id': volume_id if qos else None, 'qos_specs': qos},
        versions)


def default_type(versions: dict[str, str] = VERSIONS,
                 created_here: bool = False, qos_read: bool = False,
                 extra_specs: Optional[dict[str, str]] = None) -> Ovo:
    """Cinder's ``__DEFAULT__`` type as the retired ``db`` plugin read it
    from its database: with its access list when it gave it to a volume
    it created (``created_here``), with its QoS specs (none) when it read
    a volume back or had read them (``qos_read``)."""
    data: dict[str, Any] = {
        'id': DEFAULT_TYPE_ID, 'name': '__DEFAULT__',
        'description': 'Default Volume Type', 'is_public': True}
    if created_here:
        data['projects'] = []
    data.update({'extra_specs': dict(extra_specs or {}),
                 'qos_specs_id': None})
    if qos_read or not created_here:
        data['qos_specs'] = None
    data.update({'created_at': timestamp(-86400),
                 'updated_at': timestamp(-86400), 'deleted_at': None,
                 'deleted': False})
    return Ovo('VolumeType', data, versions)


def _order(data: dict[str, Any], fields: tuple[tuple[str, Any], ...]
           ) -> None:
    """Put ``data``'s keys in class order (as primitives list them)."""
    ordered = {name: data[name] for name, _ in fields if name in data}
    data.clear()
    data.update(ordered)


def extend(volume_ovo: Ovo, size: int, fail: bool = False) -> None:
    """``Volume.extend(size)``: on failure the volume is left ``error``
    with its previous status recorded."""
    data = volume_ovo.data
    volume_ovo.updated = True
    if fail:
        data['previous_status'] = data['status']
        data['status'] = 'error'
        return
    data['size'] = size
    data['previous_status'] = None


# -- snapshots ----------------------------------------------------------------
def snapshot(volume_ovo: Ovo, name: str, *, display_name: str = '',
             status: str = 'available', created: int = 10) -> Ovo:
    """``Volume.create_snapshot()``: the snapshot holds its volume and is
    listed in the volume's snapshots."""
    volume_data = volume_ovo.data
    backend = volume_data['host'].split('@')[1].split('#')[0]
    data = _new(SNAPSHOT_FIELDS, {
        'id': fixed_id(name), 'user_id': volume_data['user_id'],
        'project_id': volume_data['project_id'],
        'volume_id': volume_data['id'], 'status': status,
        'progress': backend, 'volume_size': volume_data['size'],
        'display_name': display_name, 'display_description': '',
        'volume_type_id': volume_data['volume_type_id'], 'metadata': {},
        'volume': volume_ovo, 'created_at': timestamp(created)},
        volume_ovo.versions)
    snap = Ovo('Snapshot', data, volume_ovo.versions)
    volume_data['snapshots'].objects.append(snap)
    return snap


# -- connections --------------------------------------------------------------
def connect(volume_ovo: Ovo, name: str, connector: dict[str, Any],
            conn_info: dict[str, Any], *, created: int = 20,
            export: Optional[dict[str, str]] = None,
            **fields: Any) -> Ovo:
    """``Volume.connect(connector, **fields)``: the driver's export
    update (``export``) lands on the volume, which is ``in-use``."""
    volume_data = volume_ovo.data
    volume_data.update(export or {})
    conn_info = copy.deepcopy(conn_info)
    data_part = conn_info.get('data', {})
    attach_mode = fields.pop('attach_mode', None) or data_part.get(
        'access_mode', 'rw')
    if data_part:
        data_part['access_mode'] = attach_mode
    values = dict(fields, id=fixed_id(name), volume_id=volume_data['id'],
                  attach_mode=attach_mode, volume=volume_ovo,
                  connection_info={'conn': conn_info,
                                   'connector': copy.deepcopy(connector)},
                  connector=copy.deepcopy(connector),
                  created_at=timestamp(created))
    attachment = Ovo('VolumeAttachment',
                     _new(ATTACHMENT_FIELDS, values, VERSIONS), VERSIONS)
    volume_data['volume_attachment'].objects.append(attachment)
    volume_data['status'] = 'in-use'
    volume_ovo.updated = True
    return attachment


def attach(attachment: Ovo, device: dict[str, Any]) -> None:
    """``Connection.attach()``/``device_attached(device)``: the device is
    recorded in ``connection_info``."""
    attachment.data['connection_info']['device'] = copy.deepcopy(device)
    attachment.updated = True


# -- reading back from the retired db plugin ----------------------------------
def read_back(volume_ovo: Ovo, snapshots: bool = False) -> Ovo:
    """The volume as the retired ``db`` plugin returned it from its
    database: its plain fields, metadata, type and attachments; its
    snapshots (read back too) only if they were asked for.  That plugin
    did not link a volume's own type to its QoS specs in the database:
    they are lost."""
    versions = volume_ovo.versions
    data = {key: copy.deepcopy(value) for key, value in
            volume_ovo.data.items()
            if key not in _VOLUME_RELATIONSHIPS}
    data['updated_at'] = timestamp(30) if volume_ovo.updated else None
    data['metadata'] = dict(volume_ovo.data['metadata'])
    data['admin_metadata'] = dict(volume_ovo.data['admin_metadata'])
    vtype = volume_ovo.data['volume_type']
    if data['volume_type_id'] == DEFAULT_TYPE_ID:  # the row's type
        data['volume_type'] = default_type(versions)
    elif vtype is not None:
        type_data = {
            'id': vtype.data['id'], 'name': vtype.data['name'],
            'description': None, 'is_public': True,
            'extra_specs': dict(vtype.data['extra_specs']),
            'qos_specs_id': None, 'qos_specs': None,
            'created_at': volume_ovo.data['created_at'], 'updated_at': None,
            'deleted_at': None, 'deleted': False}
        data['volume_type'] = Ovo('VolumeType', type_data, versions)
    data['volume_attachment'] = OvoList(
        'VolumeAttachmentList',
        [read_back_attachment(attachment) for attachment in
         volume_ovo.data['volume_attachment'].objects], versions)
    if snapshots:
        data['snapshots'] = OvoList(
            'SnapshotList', [read_back_snapshot(snap) for snap in
                             volume_ovo.data['snapshots'].objects],
            versions)
    _order(data, VOLUME_FIELDS)
    return Ovo('Volume', data, versions)


def read_back_attachment(attachment: Ovo, volume_ovo: Optional[Ovo] = None
                         ) -> Ovo:
    """A connection as the retired ``db`` plugin returned it: its row,
    with the volume read back when given (``Connection.volume``, which
    lists a copy of the connection again)."""
    data = {key: copy.deepcopy(value)
            for key, value in attachment.data.items() if key != 'volume'}
    data['updated_at'] = timestamp(30) if attachment.updated else None
    if volume_ovo is not None:
        data['volume'] = read_back(volume_ovo)
        _order(data, ATTACHMENT_FIELDS)
    return Ovo('VolumeAttachment', data, attachment.versions)


def read_back_snapshot(snap: Ovo) -> Ovo:
    """A snapshot as the retired ``db`` plugin returned it: its plain
    fields and metadata, without its volume."""
    data = {key: copy.deepcopy(value) for key, value in snap.data.items()
            if key not in ('volume', 'cgsnapshot', 'group_snapshot')}
    data['updated_at'] = timestamp(30) if snap.updated else None
    return Ovo('Snapshot', data, snap.versions)


# -- serializing --------------------------------------------------------------
def _primitive(obj: Ovo | OvoList, visited: set[int]) -> dict[str, Any]:
    """``obj``'s primitive, leaving out the objects already met."""
    visited.add(id(obj))
    if isinstance(obj, OvoList):
        data: dict[str, Any] = {'objects': []}
        for item in obj.objects:
            if id(item) not in visited:
                visited.add(id(item))
                data['objects'].append(_primitive(item, visited))
    else:
        data = {}
        for name, value in obj.data.items():
            if isinstance(value, (Ovo, OvoList)):
                if id(value) in visited:
                    continue
                value = _primitive(value, visited)
            else:
                value = copy.deepcopy(value)
            data[name] = value
    return {'versioned_object.name': obj.name,
            'versioned_object.namespace': 'cinder',
            'versioned_object.version': obj.version,
            'versioned_object.data': data}


_CLASSES = {'Volume': 'Volume', 'Snapshot': 'Snapshot',
            'VolumeAttachment': 'Connection'}
_LEFT_OUT = {'Volume': ('snapshots', 'volume_attachment'),
             'Snapshot': ('volume',), 'VolumeAttachment': ('volume',)}


def to_json(obj: Ovo, simplified: bool = False,
            backend: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """``obj.json`` (``simplified``: ``obj.to_json()``).  ``backend`` is
    the backend's configuration (default: its name only)."""
    visited: set[int] = set()
    if simplified:
        visited.update(id(obj.data[name]) for name in _LEFT_OUT[obj.name]
                       if isinstance(obj.data.get(name), (Ovo, OvoList)))
    if backend is None:
        backend = {'volume_backend_name': _backend_name(obj)}
    return {'class': _CLASSES[obj.name], 'backend': backend,
            'ovo': _primitive(obj, visited)}


def _backend_name(obj: Ovo) -> str:
    if obj.name == 'Snapshot':
        return obj.data['progress']
    if obj.name == 'VolumeAttachment':
        obj = obj.data['volume']
    return obj.data['host'].split('@')[1].split('#')[0]


def backend_json(config: dict[str, Any], volumes: list[Ovo],
                 all_info: bool = False, plugin: str = 'memory',
                 dump: bool = False) -> dict[str, Any]:
    """``Backend.json`` (``dump``: ``Backend.dump``); with ``all_info``
    (``output_all_backend_info``) ``config`` is the backend entry and each
    volume names only the backend.  The ``db`` plugin's volumes are those
    it read back from its database."""
    if plugin == 'db':
        volumes = [read_back(v, snapshots=dump) for v in volumes]
    name = {'volume_backend_name': config['volume_backend_name']}
    return {'class': 'Backend', 'backend': config if all_info else name,
            'volumes': [to_json(v, backend=name) for v in volumes]}


# -- the fixtures -------------------------------------------------------------
LVM_CONFIG = {'volume_backend_name': 'lvm',
              'volume_driver': 'cinder.volume.drivers.lvm.LVMVolumeDriver',
              'volume_group': 'cinder-volumes', 'target_protocol': 'iscsi',
              'target_helper': 'lioadm', 'target_ip_address': '192.0.2.5'}
CEPH_CONFIG = {'volume_backend_name': 'ceph',
               'volume_driver': 'cinder.volume.drivers.rbd.RBDDriver',
               'rbd_pool': 'volumes', 'rbd_user': 'cinder',
               'rbd_ceph_conf': '/etc/ceph/ceph.conf',
               'rbd_keyring_conf': '/etc/ceph/ceph.client.cinder.keyring'}
CONNECTOR = {'platform': 'x86_64', 'os_type': 'linux', 'ip': '192.0.2.10',
             'host': 'node-1', 'multipath': False,
             'initiator': 'iqn.1994-05.com.redhat:5c7fd3a1b2c3',
             'do_local_attach': False, 'nvme_hostid': fixed_id('hostid'),
             'uuid': fixed_id('node-1'), 'system uuid': fixed_id('system'),
             'nqn': f'nqn.2014-08.org.nvmexpress:uuid:{fixed_id("nqn")}',
             'nvme_native_multipath': True, 'found_dsc': ''}


def iscsi_info(volume_ovo: Ovo) -> dict[str, Any]:
    """What the LVM driver's initialize_connection returned (lioadm)."""
    volume_id = volume_id_of(volume_ovo)
    return {'driver_volume_type': 'iscsi', 'data': {
        'target_discovered': False,
        'target_portal': '192.0.2.5:3260',
        'target_iqn': f'iqn.2010-10.org.openstack:volume-{volume_id}',
        'target_lun': 0, 'volume_id': volume_id,
        'auth_method': 'CHAP', 'auth_username': 'bVzEwqCZYqE3',
        'auth_password': 'k2d8YqL7fN1pXw3e', 'encrypted': False,
        'discard': False}}


def iscsi_export(volume_ovo: Ovo) -> dict[str, str]:
    volume_id = volume_id_of(volume_ovo)
    return {'provider_location': f'192.0.2.5:3260,1 iqn.2010-10.org.'
                                 f'openstack:volume-{volume_id} 0',
            'provider_auth': 'CHAP bVzEwqCZYqE3 k2d8YqL7fN1pXw3e'}


def rbd_info(volume_ovo: Ovo) -> dict[str, Any]:
    """What the RBD driver's initialize_connection returned."""
    volume_id = volume_id_of(volume_ovo)
    return {'driver_volume_type': 'rbd', 'data': {
        'name': f'volumes/volume-{volume_id}',
        'hosts': ['192.0.2.21', '192.0.2.22', '192.0.2.23'],
        'ports': ['6789', '6789', '6789'], 'cluster_name': 'ceph',
        'auth_enabled': True, 'auth_username': 'cinder',
        'secret_type': 'ceph', 'secret_uuid': None, 'volume_id': volume_id,
        'discard': True, 'keyring': None, 'qos_specs': None,
        'access_mode': 'rw', 'encrypted': False}}


def _lvm_family(plugin: str, versions: dict[str, str] = VERSIONS,
                prefix: Optional[str] = None) -> dict[str, Ovo]:
    """LVM volumes through a retired deployment's life: created, with
    specs, snapshotted, connected and attached, cloned, restored from a
    snapshot, extended, failed.  Their ids are made from ``prefix``
    (default: ``plugin``)."""
    ids = prefix or plugin
    common = {'plugin': plugin, 'versions': versions}
    vol = volume('lvm', f'{ids}-disk', size=2, display_name='disk',
                 description='data disk', created=0,
                 metadata={'owner': 'team-a'}, **common)
    snap = snapshot(vol, f'{ids}-snap', display_name='nightly', created=10)
    conn = connect(vol, f'{ids}-conn', CONNECTOR, iscsi_info(vol),
                   export=iscsi_export(vol), created=20)
    attach(conn, {'type': 'block', 'scsi_wwn': '360014051e2f3a4b5c6d7e8f9',
                  'path': '/dev/sdb'})
    specs = volume('lvm', f'{ids}-specs', display_name='fast',
                   extra_specs={'volume_backend_name': 'lvm',
                                'provisioning:type': 'thin'},
                   qos_specs={'total_iops_sec': '1000'}, created=1,
                   **common)
    clone = volume('lvm', f'{ids}-clone', size=3, display_name='disk-copy',
                   source=vol, **common)
    spec_clone = volume('lvm', f'{ids}-specs-clone', source=specs,
                        **common)
    restored = volume('lvm', f'{ids}-restored', from_snapshot=snap,
                      display_name='restored', **common)
    grown = volume('lvm', f'{ids}-grown', created=2, **common)
    extend(grown, 4)
    failed_extend = volume('lvm', f'{ids}-failed-extend', created=3,
                           **common)
    extend(failed_extend, 5, fail=True)
    broken = volume('lvm', f'{ids}-broken', status='error', created=4,
                    default_qos_read=True, **common)
    return {'volume': vol, 'snapshot': snap, 'connection': conn,
            'specs': specs, 'clone': clone, 'spec_clone': spec_clone,
            'restored': restored, 'grown': grown,
            'failed_extend': failed_extend, 'broken': broken}


def _ceph_family() -> dict[str, Any]:
    """An RBD volume connected twice (Ember-CSI passes attached_host,
    mountpoint and attach_mode), one of them attached with krbd."""
    vol = volume('ceph', 'ceph-disk', size=10, display_name='pvc-1',
                 pool='volumes', created=100)
    first = connect(vol, 'ceph-conn-1', dict(CONNECTOR, host='node-1'),
                    rbd_info(vol), created=110, attached_host='node-1',
                    mountpoint='', attach_mode='rw')
    attach(first, {'path': '/dev/rbd0', 'type': 'block'})
    second = connect(vol, 'ceph-conn-2', dict(CONNECTOR, host='node-2'),
                     rbd_info(vol), created=120, attached_host='node-2',
                     mountpoint='', attach_mode='ro')
    snap = snapshot(vol, 'ceph-snap', created=130)
    return {'volume': vol, 'first': first, 'second': second,
            'snapshot': snap}


def fixtures() -> dict[str, Any]:
    """{file name: JSON data}: every shape of serialized object the
    retired library wrote, for both of its persistence plugins."""
    found: dict[str, Any] = {}
    for plugin in ('memory', 'db'):
        family = _lvm_family(plugin)
        vol, snap, conn = (family['volume'], family['snapshot'],
                           family['connection'])
        prefix = f'{plugin}-'
        found[prefix + 'volume'] = to_json(vol)
        found[prefix + 'volume-simplified'] = to_json(vol, simplified=True)
        found[prefix + 'snapshot'] = to_json(snap)
        found[prefix + 'snapshot-simplified'] = to_json(snap, True)
        found[prefix + 'connection'] = to_json(conn)
        found[prefix + 'connection-simplified'] = to_json(conn, True)
        for name in ('specs', 'clone', 'spec_clone', 'restored', 'grown',
                     'failed_extend', 'broken'):
            found[prefix + name.replace('_', '-')] = to_json(family[name])
        volumes = [family[name] for name in (
            'volume', 'specs', 'clone', 'spec_clone', 'restored', 'grown',
            'failed_extend', 'broken')]
        found[prefix + 'backend'] = backend_json(LVM_CONFIG, volumes,
                                                 plugin=plugin)
        found[prefix + 'backend-dump'] = backend_json(
            LVM_CONFIG, volumes, plugin=plugin, dump=True)
        found[prefix + 'backend-all-info'] = backend_json(
            LVM_CONFIG, volumes, all_info=True, plugin=plugin)
        found[prefix + 'volume-all-info'] = to_json(vol, backend=LVM_CONFIG)
    # The db plugin's objects read back (as another process saw them).
    family = _lvm_family('db')
    copy_of = read_back(family['volume'])
    found['db-read-volume'] = to_json(copy_of)
    found['db-read-snapshot'] = to_json(
        read_back_snapshot(family['snapshot']))
    found['db-read-specs'] = to_json(read_back(family['specs']))
    found['db-read-connection'] = to_json(read_back_attachment(
        family['connection'], family['volume']))
    # A whole deployment: cinderlib.dumps() of two backends.
    ceph = _ceph_family()
    found['ceph-volume'] = to_json(ceph['volume'])
    found['ceph-connection'] = to_json(ceph['second'])
    found['ceph-snapshot'] = to_json(ceph['snapshot'])
    memory = _lvm_family('memory')
    found['dumps'] = [
        backend_json(LVM_CONFIG, [memory['volume'], memory['clone']]),
        backend_json(CEPH_CONFIG, [ceph['volume']])]
    # Written by releases before Xena (older object versions).
    older = _lvm_family('memory', OLDER_VERSIONS, prefix='older')
    found['older-volume'] = to_json(older['volume'])
    found['older-snapshot'] = to_json(older['snapshot'])
    return found


DIRECTORY = os.path.join(os.path.dirname(__file__), 'legacy_json')


def write(directory: str = DIRECTORY) -> list[str]:
    """Write every fixture to ``directory``; returns the paths."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for name, data in fixtures().items():
        path = os.path.join(directory, f'{name}.json')
        with open(path, 'w') as out:
            json.dump(data, out, indent=1)
            out.write('\n')
        paths.append(path)
    return paths


if __name__ == '__main__':
    print('\n'.join(write(*sys.argv[1:])))
