"""A database as the retired cinderlib's ``db`` plugin left it.

That plugin ran Cinder's own migrations (Cinder 19 to 23), which created
Cinder's whole schema, and wrote through Cinder's database API.  The
tables below are the ones it wrote to, with the columns Cinder 23 gives
them, and the tables their foreign keys point at.  ``LegacyDatabase``
writes rows the way that plugin did:

- a volume created without extra specs or QoS specs got Cinder's
  ``__DEFAULT__`` volume type; with them, a volume type of its own whose
  id and name are the volume's id, with its extra specs as
  ``volume_type_extra_specs`` rows;
- QoS specs are a root row (key ``QoS_Specs_Name``) and one row per
  value (and one for ``consumer``) pointing at it with ``specs_id``.
  The retired library named them after the volume and never linked them
  to the type (``qos_specs_id`` stayed null); it then changed the root's
  id to the volume's, which left the value rows pointing at the old id
  where foreign keys are not enforced (SQLite), and failed where they
  are.  ``qos_shape`` picks one: ``'linked'`` (Cinder's own shape),
  ``'unlinked'`` or ``'orphaned'`` (SQLite only);
- metadata and admin metadata are rows of their own tables;
- a snapshot's ``progress`` holds its backend's name;
- a connection's ``connection_info`` is the JSON text of ``{"conn": ...,
  "connector": ..., "device": ...}`` and ``connector`` the connector's
  JSON text; ``attach_status`` and ``attached_host`` stayed null;
- with ``soft_deletes``, deleted rows stay with ``deleted`` true;
- key-values live in its own ``cinderlib_persistence_key_value`` table.
"""

import datetime
import itertools
import json
import uuid

import sqlalchemy as sa

# The last revision of Cinder 23's migrations.
CINDER_23_HEAD = '89aa6f9639f9'
DEFAULT_TYPE_NAME = '__DEFAULT__'

metadata = sa.MetaData()


def _common():
    """The columns every Cinder table starts with."""
    return [sa.Column('created_at', sa.DateTime),
            sa.Column('updated_at', sa.DateTime),
            sa.Column('deleted_at', sa.DateTime),
            sa.Column('deleted', sa.Boolean)]


def _pairs(name, owner_column, owner_table, value=sa.String(255)):
    """A key/value table of Cinder's (metadata, extra specs)."""
    return sa.Table(
        name, metadata, *_common(),
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column(owner_column, sa.String(36),
                  sa.ForeignKey(f'{owner_table}.id'), nullable=False,
                  index=True),
        sa.Column('key', sa.String(255)),
        sa.Column('value', value))


alembic_version = sa.Table(
    'alembic_version', metadata,
    sa.Column('version_num', sa.String(32), primary_key=True))

services = sa.Table(
    'services', metadata, *_common(),
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('uuid', sa.String(36), unique=True),
    sa.Column('host', sa.String(255)),
    sa.Column('binary', sa.String(255)),
    sa.Column('report_count', sa.Integer, nullable=False))

consistencygroups = sa.Table(
    'consistencygroups', metadata, *_common(),
    sa.Column('id', sa.String(36), primary_key=True),
    sa.Column('name', sa.String(255)))

cgsnapshots = sa.Table(
    'cgsnapshots', metadata, *_common(),
    sa.Column('id', sa.String(36), primary_key=True),
    sa.Column('consistencygroup_id', sa.String(36),
              sa.ForeignKey('consistencygroups.id'), nullable=False))

groups = sa.Table(
    'groups', metadata, *_common(),
    sa.Column('id', sa.String(36), primary_key=True),
    sa.Column('name', sa.String(255)))

group_snapshots = sa.Table(
    'group_snapshots', metadata, *_common(),
    sa.Column('id', sa.String(36), primary_key=True),
    sa.Column('group_id', sa.String(36), sa.ForeignKey('groups.id'),
              nullable=False))

quality_of_service_specs = sa.Table(
    'quality_of_service_specs', metadata, *_common(),
    sa.Column('id', sa.String(36), primary_key=True),
    sa.Column('specs_id', sa.String(36),
              sa.ForeignKey('quality_of_service_specs.id'), index=True),
    sa.Column('key', sa.String(255)),
    sa.Column('value', sa.String(255)))

volume_types = sa.Table(
    'volume_types', metadata, *_common(),
    sa.Column('id', sa.String(36), primary_key=True),
    sa.Column('name', sa.String(255)),
    sa.Column('qos_specs_id', sa.String(36),
              sa.ForeignKey('quality_of_service_specs.id'), index=True),
    sa.Column('is_public', sa.Boolean),
    sa.Column('description', sa.String(255)))

volume_type_extra_specs = _pairs('volume_type_extra_specs',
                                 'volume_type_id', 'volume_types')

volumes = sa.Table(
    'volumes', metadata, *_common(),
    sa.Column('id', sa.String(36), primary_key=True),
    sa.Column('ec2_id', sa.String(255)),
    sa.Column('user_id', sa.String(255)),
    sa.Column('project_id', sa.String(255)),
    sa.Column('host', sa.String(255)),
    sa.Column('size', sa.Integer),
    sa.Column('availability_zone', sa.String(255)),
    sa.Column('status', sa.String(255)),
    sa.Column('attach_status', sa.String(255)),
    sa.Column('scheduled_at', sa.DateTime),
    sa.Column('launched_at', sa.DateTime),
    sa.Column('terminated_at', sa.DateTime),
    sa.Column('display_name', sa.String(255)),
    sa.Column('display_description', sa.String(255)),
    sa.Column('provider_location', sa.String(256)),
    sa.Column('provider_auth', sa.String(256)),
    sa.Column('snapshot_id', sa.String(36)),
    sa.Column('volume_type_id', sa.String(36), nullable=False),
    sa.Column('source_volid', sa.String(36)),
    sa.Column('bootable', sa.Boolean),
    sa.Column('provider_geometry', sa.String(255)),
    sa.Column('_name_id', sa.String(36)),
    sa.Column('encryption_key_id', sa.String(36)),
    sa.Column('migration_status', sa.String(255)),
    sa.Column('replication_status', sa.String(255)),
    sa.Column('replication_extended_status', sa.String(255)),
    sa.Column('replication_driver_data', sa.String(255)),
    sa.Column('consistencygroup_id', sa.String(36),
              sa.ForeignKey('consistencygroups.id'), index=True),
    sa.Column('provider_id', sa.String(255)),
    sa.Column('multiattach', sa.Boolean),
    sa.Column('previous_status', sa.String(255)),
    sa.Column('cluster_name', sa.String(255)),
    sa.Column('group_id', sa.String(36), sa.ForeignKey('groups.id'),
              index=True),
    sa.Column('service_uuid', sa.String(36),
              sa.ForeignKey('services.uuid')),
    sa.Column('shared_targets', sa.Boolean),
    sa.Column('use_quota', sa.Boolean))

volume_metadata = _pairs('volume_metadata', 'volume_id', 'volumes')
volume_admin_metadata = _pairs('volume_admin_metadata', 'volume_id',
                               'volumes')

volume_glance_metadata = sa.Table(
    'volume_glance_metadata', metadata, *_common(),
    sa.Column('id', sa.Integer, primary_key=True),
    sa.Column('volume_id', sa.String(36), sa.ForeignKey('volumes.id'),
              index=True),
    sa.Column('snapshot_id', sa.String(36), sa.ForeignKey('snapshots.id'),
              index=True),
    sa.Column('key', sa.String(255)),
    sa.Column('value', sa.Text))

snapshots = sa.Table(
    'snapshots', metadata, *_common(),
    sa.Column('id', sa.String(36), primary_key=True),
    sa.Column('volume_id', sa.String(36), sa.ForeignKey('volumes.id'),
              nullable=False, index=True),
    sa.Column('user_id', sa.String(255)),
    sa.Column('project_id', sa.String(255)),
    sa.Column('status', sa.String(255)),
    sa.Column('progress', sa.String(255)),
    sa.Column('volume_size', sa.Integer),
    sa.Column('scheduled_at', sa.DateTime),
    sa.Column('display_name', sa.String(255)),
    sa.Column('display_description', sa.String(255)),
    sa.Column('provider_location', sa.String(255)),
    sa.Column('encryption_key_id', sa.String(36)),
    sa.Column('volume_type_id', sa.String(36), nullable=False),
    sa.Column('cgsnapshot_id', sa.String(36),
              sa.ForeignKey('cgsnapshots.id'), index=True),
    sa.Column('provider_id', sa.String(255)),
    sa.Column('provider_auth', sa.String(255)),
    sa.Column('group_snapshot_id', sa.String(36),
              sa.ForeignKey('group_snapshots.id'), index=True),
    sa.Column('use_quota', sa.Boolean))

snapshot_metadata = _pairs('snapshot_metadata', 'snapshot_id', 'snapshots')

volume_attachment = sa.Table(
    'volume_attachment', metadata, *_common(),
    sa.Column('id', sa.String(36), primary_key=True),
    sa.Column('volume_id', sa.String(36), sa.ForeignKey('volumes.id'),
              nullable=False, index=True),
    sa.Column('attached_host', sa.String(255)),
    sa.Column('instance_uuid', sa.String(36)),
    sa.Column('mountpoint', sa.String(255)),
    sa.Column('attach_time', sa.DateTime),
    sa.Column('detach_time', sa.DateTime),
    sa.Column('attach_mode', sa.String(36)),
    sa.Column('attach_status', sa.String(255)),
    sa.Column('connection_info', sa.Text),
    sa.Column('connector', sa.Text))

key_value = sa.Table(
    'cinderlib_persistence_key_value', metadata,
    sa.Column('key', sa.String(255), primary_key=True),
    sa.Column('value', sa.Text))

# A moment in the retired library's life, and later ones.
EPOCH = datetime.datetime(2023, 5, 17, 9, 30, 12, 345678)


class LegacyDatabase:
    """Creates the retired schema at ``url`` and writes rows into it as
    the retired library did.  Timestamps are naive UTC, one second apart
    per object, so that every run writes the same rows."""

    def __init__(self, url, host='ovirt-engine'):
        self.engine = sa.create_engine(url)
        self.host = host
        self._clock = itertools.count(1)
        metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            conn.execute(alembic_version.insert(),
                         {'version_num': CINDER_23_HEAD})
            self.default_type_id = str(uuid.uuid4())
            conn.execute(volume_types.insert(), {
                'id': self.default_type_id, 'name': DEFAULT_TYPE_NAME,
                'description': 'Default Volume Type', 'is_public': True,
                'created_at': EPOCH, 'updated_at': EPOCH, 'deleted': False})

    def close(self):
        self.engine.dispose()

    def now(self):
        return EPOCH + datetime.timedelta(seconds=next(self._clock))

    def volume(self, backend, size, status='available', name='',
               description='', extra_specs=None, qos_specs=None,
               metadata=None, admin_metadata=None, deleted=False,
               volume_id=None, pool=None, qos_shape='linked', **columns):
        """A volume row, its type and its metadata; returns its id."""
        volume_id = volume_id or str(uuid.uuid4())
        created = self.now()
        with self.engine.begin() as conn:
            type_id = self.default_type_id
            if extra_specs or qos_specs:
                type_id = volume_id
                self._own_type(conn, volume_id, extra_specs or {},
                               qos_specs, created, qos_shape)
            row = {
                'id': volume_id, 'created_at': created,
                'updated_at': created, 'deleted': deleted,
                'deleted_at': self.now() if deleted else None,
                'user_id': 'cinderlib', 'project_id': 'cinderlib',
                'host': f'{self.host}@{backend}#{pool or backend}',
                'size': size, 'availability_zone': 'nova',
                'status': 'deleted' if deleted else status,
                'attach_status': 'detached', 'display_name': name,
                'display_description': description,
                'volume_type_id': type_id, 'bootable': False,
                'multiattach': False, 'shared_targets': True,
                'use_quota': True, 'replication_status': None,
                **columns}
            conn.execute(volumes.insert(), row)
            for table, pairs in ((volume_metadata, metadata),
                                 (volume_admin_metadata, admin_metadata)):
                for key, value in (pairs or {}).items():
                    conn.execute(table.insert(), {
                        'volume_id': volume_id, 'key': key, 'value': value,
                        'created_at': created, 'deleted': False})
        return volume_id

    def _own_type(self, conn, volume_id, extra_specs, qos_specs, created,
                  qos_shape):
        """A volume's own type (see the module docstring for the QoS
        specs' shapes)."""
        if qos_specs:
            self.qos_specs(conn, volume_id, volume_id, qos_specs, created,
                           str(uuid.uuid4()) if qos_shape == 'orphaned'
                           else None)
        conn.execute(volume_types.insert(), {
            'id': volume_id, 'name': volume_id, 'is_public': True,
            'qos_specs_id': (volume_id if qos_specs and qos_shape == 'linked'
                             else None),
            'created_at': created, 'updated_at': None, 'deleted': False})
        for key, value in extra_specs.items():
            conn.execute(volume_type_extra_specs.insert(), {
                'volume_type_id': volume_id, 'key': key, 'value': value,
                'created_at': created, 'deleted': False})

    @staticmethod
    def qos_specs(conn, qos_id, name, specs, created, values_of=None):
        """A QoS specs root row and its values' rows (pointing at
        ``values_of``, the root by default)."""
        conn.execute(quality_of_service_specs.insert(), {
            'id': qos_id, 'specs_id': None, 'key': 'QoS_Specs_Name',
            'value': name, 'created_at': created, 'deleted': False})
        for key, value in dict(specs, consumer='back-end').items():
            conn.execute(quality_of_service_specs.insert(), {
                'id': str(uuid.uuid4()), 'specs_id': values_of or qos_id,
                'key': key, 'value': value, 'created_at': created,
                'deleted': False})

    def snapshot(self, volume_id, backend, status='available', name='',
                 deleted=False, metadata=None, snapshot_id=None):
        snapshot_id = snapshot_id or str(uuid.uuid4())
        created = self.now()
        with self.engine.begin() as conn:
            volume = conn.execute(volumes.select().where(
                volumes.c.id == volume_id)).one()
            conn.execute(snapshots.insert(), {
                'id': snapshot_id, 'volume_id': volume_id,
                'created_at': created, 'updated_at': created,
                'deleted': deleted,
                'deleted_at': self.now() if deleted else None,
                'user_id': 'cinderlib', 'project_id': 'cinderlib',
                'status': 'deleted' if deleted else status,
                'progress': backend, 'volume_size': volume.size,
                'display_name': name, 'display_description': '',
                'volume_type_id': volume.volume_type_id, 'use_quota': True})
            for key, value in (metadata or {}).items():
                conn.execute(snapshot_metadata.insert(), {
                    'snapshot_id': snapshot_id, 'key': key, 'value': value,
                    'created_at': created, 'deleted': False})
        return snapshot_id

    def connection(self, volume_id, connector, conn, device=None,
                   deleted=False, connection_id=None, attach_mode='rw'):
        """A connection as the retired ``Connection.connect`` stored it
        (``device`` once attached)."""
        connection_id = connection_id or str(uuid.uuid4())
        created = self.now()
        info = {'conn': conn, 'connector': connector}
        if device is not None:
            info['device'] = device
        with self.engine.begin() as db:
            db.execute(volume_attachment.insert(), {
                'id': connection_id, 'volume_id': volume_id,
                'created_at': created, 'updated_at': created,
                'deleted': deleted,
                'deleted_at': self.now() if deleted else None,
                'detach_time': self.now() if deleted else None,
                'attach_status': 'detached' if deleted else None,
                'attached_host': None, 'instance_uuid': None,
                'mountpoint': None, 'attach_time': None,
                'attach_mode': attach_mode,
                'connection_info': json.dumps(info),
                'connector': json.dumps(connector)})
        return connection_id

    def key_value(self, key, value):
        with self.engine.begin() as conn:
            conn.execute(key_value.insert(), {'key': key, 'value': value})
