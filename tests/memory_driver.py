"""A Cinder volume driver that keeps volumes in memory, for tests and bench.

It checks every reference it is given, so wrong calls from the library fail:
creating something that exists, using a volume or snapshot that does not,
shrinking, connecting a volume that was not exported.  It also reads what
real drivers read through ``self.db`` and Cinder's helpers (extra specs, QoS,
admin metadata), and records its calls in ``calls``.  Tests make any method
fail by putting an exception in ``fail_on[method_name]``.
"""

import os
import tempfile
import threading

from oslo_config import cfg

from cinder import exception
from cinder import interface
from cinder.volume import configuration
from cinder.volume import driver
from cinder.volume import volume_types
from cinder.volume import volume_utils

memory_opts = [
    cfg.ListOpt('memory_pools', default=[],
                help='Pool names to report; none means a single pool.'),
    cfg.IntOpt('memory_capacity_gb', default=1000, min=1,
               help='Capacity to report.'),
    cfg.StrOpt('memory_attach_dir', default=None,
               help='Where connections create a file to attach.'),
    cfg.StrOpt('memory_password', secret=True, default=None,
               help='A secret option, to test that secrets stay secret.'),
    cfg.BoolOpt('memory_read_db', default=True,
                help='Read the volume, its type and QoS through the DB on '
                     'create, as many real drivers do.'),
]
cfg.CONF.register_opts(memory_opts, group=configuration.SHARED_CONF_GROUP)


class MemoryDriverError(exception.VolumeDriverException):
    message = 'Memory driver: %(reason)s'


@interface.volumedriver
class MemoryVolumeDriver(driver.VolumeDriver):
    """Volumes as dict entries; see the module docstring."""

    VERSION = '1.0.0'
    CI_WIKI_NAME = 'cinderlib'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(memory_opts)
        self.volumes = {}
        self.snapshots = {}
        self.exports = {}
        self.connections = {}
        self.calls = []
        self.fail_on = {}
        self.seen_specs = {}
        self.lock = threading.Lock()

    @staticmethod
    def get_driver_options():
        return memory_opts

    # -- helpers --------------------------------------------------------------
    def _call(self, method, *ids):
        with self.lock:
            self.calls.append((method,) + ids)
        failure = self.fail_on.get(method)
        if failure is not None:
            raise failure

    def _require(self, store, key, what):
        if key not in store:
            raise MemoryDriverError(reason=f'{what} {key} does not exist')
        return store[key]

    # -- set-up and stats -----------------------------------------------------
    def do_setup(self, context):
        self._call('do_setup')
        self.context = context

    def check_for_setup_error(self):
        self._call('check_for_setup_error')

    def _update_volume_stats(self):
        capacity = self.configuration.memory_capacity_gb
        used = sum(self.volumes.values())
        stats = {
            'volume_backend_name': self.configuration.volume_backend_name,
            'vendor_name': 'cinderlib tests',
            'driver_version': self.VERSION,
            'storage_protocol': 'local',
            'total_capacity_gb': capacity,
            'free_capacity_gb': capacity - used,
            'reserved_percentage': self.configuration.reserved_percentage,
            'thin_provisioning_support': True,
        }
        pools = self.configuration.memory_pools
        if pools:
            stats['pools'] = [{'pool_name': name,
                               'total_capacity_gb': capacity,
                               'free_capacity_gb': capacity - used}
                              for name in pools]
        self._stats = stats

    # -- volumes --------------------------------------------------------------
    def create_volume(self, volume):
        self._call('create_volume', volume.id)
        if volume.name in self.volumes:
            raise MemoryDriverError(reason=f'{volume.name} exists')
        if self.configuration.memory_read_db:
            self._read_db(volume)
        self.volumes[volume.name] = volume.size
        return {'provider_location': f'memory://{volume.name}'}

    def _read_db(self, volume):
        db_volume = self.db.volume_get(self.context, volume.id)
        if db_volume.size != volume.size:
            raise MemoryDriverError(reason='DB and object sizes differ')
        self.seen_specs[volume.id] = {
            'extra_specs': volume_types.get_volume_type_extra_specs(
                volume.volume_type_id),
            'qos_specs': volume_types.get_volume_type_qos_specs(
                volume.volume_type_id)['qos_specs'],
            'type_extra_specs': dict(volume.volume_type.extra_specs),
        }
        self.db.volume_admin_metadata_update(
            self.context, volume.id, {'memory': 'yes'}, False)

    def delete_volume(self, volume):
        self._call('delete_volume', volume.id)
        self.volumes.pop(volume.name, None)
        self.seen_specs.pop(volume.id, None)

    def extend_volume(self, volume, new_size):
        self._call('extend_volume', volume.id, new_size)
        size = self._require(self.volumes, volume.name, 'volume')
        if new_size <= size:
            raise MemoryDriverError(reason=f'cannot shrink {volume.name}')
        self.volumes[volume.name] = new_size

    def create_cloned_volume(self, volume, src_vref):
        self._call('create_cloned_volume', volume.id, src_vref.id)
        size = self._require(self.volumes, src_vref.name, 'volume')
        if volume.name in self.volumes or volume.size < size:
            raise MemoryDriverError(reason=f'bad clone {volume.name}')
        self.volumes[volume.name] = volume.size
        return {'provider_location': f'memory://{volume.name}'}

    # -- snapshots ------------------------------------------------------------
    def create_snapshot(self, snapshot):
        self._call('create_snapshot', snapshot.id)
        size = self._require(self.volumes, snapshot.volume.name, 'volume')
        if snapshot.name in self.snapshots:
            raise MemoryDriverError(reason=f'{snapshot.name} exists')
        self.snapshots[snapshot.name] = size

    def delete_snapshot(self, snapshot):
        self._call('delete_snapshot', snapshot.id)
        self.snapshots.pop(snapshot.name, None)

    def create_volume_from_snapshot(self, volume, snapshot):
        self._call('create_volume_from_snapshot', volume.id, snapshot.id)
        size = self._require(self.snapshots, snapshot.name, 'snapshot')
        if volume.name in self.volumes or volume.size < size:
            raise MemoryDriverError(reason=f'bad volume {volume.name}')
        self.volumes[volume.name] = volume.size

    def revert_to_snapshot(self, context, volume, snapshot):
        self._call('revert_to_snapshot', volume.id, snapshot.id)
        size = self._require(self.snapshots, snapshot.name, 'snapshot')
        if self._require(self.volumes, volume.name, 'volume') != size:
            raise MemoryDriverError(reason=f'{volume.name} and '
                                           f'{snapshot.name} sizes differ')

    # -- adopting (manage / unmanage) -----------------------------------------
    # A volume or snapshot made outside the library is an entry under any
    # name; adopting renames it to the Cinder object's name.
    def manage_existing_get_size(self, volume, existing_ref):
        self._call('manage_existing_get_size', volume.id)
        return self._require(self.volumes, existing_ref.get('source-name'),
                             'volume')

    def manage_existing(self, volume, existing_ref):
        self._call('manage_existing', volume.id)
        self._adopt(self.volumes, existing_ref['source-name'], volume.name)
        return {'provider_location': f'memory://{volume.name}'}

    def unmanage(self, volume):
        # Called after a failed adoption too: it need not exist.
        self._call('unmanage', volume.id)

    def manage_existing_snapshot_get_size(self, snapshot, existing_ref):
        self._call('manage_existing_snapshot_get_size', snapshot.id)
        self._require(self.volumes, snapshot.volume.name, 'volume')
        return self._require(self.snapshots,
                             existing_ref.get('source-name'), 'snapshot')

    def manage_existing_snapshot(self, snapshot, existing_ref):
        self._call('manage_existing_snapshot', snapshot.id)
        self._adopt(self.snapshots, existing_ref['source-name'],
                    snapshot.name)

    def unmanage_snapshot(self, snapshot):
        self._call('unmanage_snapshot', snapshot.id)
        self._require(self.snapshots, snapshot.name, 'snapshot')

    def _adopt(self, store, name, new_name):
        self._require(store, name, 'object')
        if new_name in store and new_name != name:
            raise MemoryDriverError(reason=f'{new_name} exists')
        store[new_name] = store.pop(name)

    def get_manageable_volumes(self, cinder_volumes, marker, limit, offset,
                               sort_keys, sort_dirs):
        self._call('get_manageable_volumes')
        return self._manageable(self.volumes, cinder_volumes, marker, limit,
                                offset, sort_keys, sort_dirs)

    def get_manageable_snapshots(self, cinder_snapshots, marker, limit,
                                 offset, sort_keys, sort_dirs):
        self._call('get_manageable_snapshots')
        return self._manageable(self.snapshots, cinder_snapshots, marker,
                                limit, offset, sort_keys, sort_dirs)

    @staticmethod
    def _manageable(store, managed, marker, limit, offset, sort_keys,
                    sort_dirs):
        ids = {resource.name: resource.id for resource in managed}
        entries = [{'reference': {'source-name': name}, 'size': size,
                    'safe_to_manage': name not in ids,
                    'reason_not_safe': 'already managed' if name in ids
                    else None,
                    'cinder_id': ids.get(name), 'extra_info': None}
                   for name, size in store.items()]
        return volume_utils.paginate_entries_list(
            entries, marker, limit, offset, sort_keys, sort_dirs)

    # -- exports and connections ----------------------------------------------
    def create_export(self, context, volume, connector):
        self._call('create_export', volume.id)
        self._require(self.volumes, volume.name, 'volume')
        self.exports[volume.name] = self.exports.get(volume.name, 0) + 1

    def ensure_export(self, context, volume):
        pass

    def remove_export(self, context, volume):
        self._call('remove_export', volume.id)
        self._require(self.exports, volume.name, 'export')
        del self.exports[volume.name]

    def validate_connector(self, connector):
        if 'host' not in connector:
            raise exception.InvalidConnectorException(missing='host')

    def initialize_connection(self, volume, connector):
        self._call('initialize_connection', volume.id)
        self._require(self.exports, volume.name, 'export')
        path = os.path.join(self.configuration.memory_attach_dir or
                            tempfile.gettempdir(), volume.name)
        with open(path, 'ab') as device:
            device.truncate(self.volumes[volume.name] * 1024 ** 2)
        with self.lock:
            self.connections.setdefault(volume.name, []).append(
                connector['host'])
        return {'driver_volume_type': 'local',
                'data': {'device_path': path}}

    def terminate_connection(self, volume, connector, **kwargs):
        self._call('terminate_connection', volume.id)
        self._require(self.exports, volume.name, 'export')
        hosts = self._require(self.connections, volume.name, 'connection')
        hosts.remove(connector['host'])


@interface.volumedriver
class UnmanageableMemoryVolumeDriver(MemoryVolumeDriver):
    """The memory driver without adopting, as most drivers are."""

    manage_existing = driver.VolumeDriver.manage_existing
    manage_existing_get_size = driver.VolumeDriver.manage_existing_get_size
    get_manageable_volumes = driver.VolumeDriver.get_manageable_volumes
    manage_existing_snapshot = driver.VolumeDriver.manage_existing_snapshot
    manage_existing_snapshot_get_size = (
        driver.VolumeDriver.manage_existing_snapshot_get_size)
    get_manageable_snapshots = driver.VolumeDriver.get_manageable_snapshots
