"""Global set-up: options, persistence selection and logging."""

import logging
import socket
import subprocess
import sys

import pytest

import cinderlib
from cinderlib import exception
from cinderlib.persistence import base as persistence_base
from cinderlib.persistence import memory

DRIVER = 'tests.memory_driver.MemoryVolumeDriver'


def test_import_does_not_import_cinder():
    # Nor orjson or msgspec (jsontext imports them on first use: 10 to
    # 15 ms each).
    code = ('import sys, cinderlib; '
            'print(sorted(m for m in sys.modules if m.split(".")[0] in '
            '("cinder", "os_brick", "oslo_config", "eventlet", "orjson", '
            '"msgspec")))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == '[]'


def test_public_names():
    for name in ('Backend', 'Volume', 'Snapshot', 'Connection', 'KeyValue',
                 'setup', 'load', 'json', 'jsons', 'dump', 'dumps',
                 'list_supported_drivers', 'get_connector_properties',
                 '__version__'):
        assert hasattr(cinderlib, name), name
    assert cinderlib.DEFAULT_PROJECT_ID == cinderlib.DEFAULT_USER_ID == (
        'cinderlib')
    assert cinderlib.setup == cinderlib.Backend.global_setup


def test_setup_may_run_again_and_switch_persistence(tmp_path):
    first = cinderlib.Backend.persistence
    cinderlib.setup(state_path=str(tmp_path))
    assert cinderlib.Backend.persistence is not first
    assert isinstance(cinderlib.Backend.persistence, memory.MemoryPersistence)


def test_persistence_by_name_class_and_instance(tmp_path):
    cinderlib.setup(persistence_config={'storage': 'memory'})
    assert type(cinderlib.Backend.persistence) is memory.MemoryPersistence
    cinderlib.setup(persistence_config={'storage': memory.MemoryPersistence})
    assert type(cinderlib.Backend.persistence) is memory.MemoryPersistence
    instance = memory.MemoryPersistence()
    cinderlib.setup(persistence_config={'storage': instance})
    assert cinderlib.Backend.persistence is instance


@pytest.mark.parametrize('config', [
    {'storage': 'no-such-plugin'}, {'storage': 42}, {'storage': dict},
    {'storage': 'memory', 'colour': 'red'}, 'memory'])
def test_bad_persistence_config(config):
    before = cinderlib.Backend.persistence
    with pytest.raises(exception.InvalidPersistence):
        cinderlib.setup(persistence_config=config)
    assert cinderlib.Backend.persistence is before


def test_unknown_plugin_error_lists_installed_plugins():
    with pytest.raises(exception.InvalidPersistence) as error:
        cinderlib.setup(persistence_config={'storage': 'nope'})
    assert 'memory' in str(error.value)


def test_cinder_default_options_are_validated(tmp_path):
    cinderlib.setup(state_path=str(tmp_path), debug=True)
    from oslo_config import cfg
    assert cfg.CONF.debug is True
    with pytest.raises(exception.InvalidArgument) as error:
        cinderlib.setup(state_path=str(tmp_path), debgu=True)
    assert 'debug' in str(error.value)
    cinderlib.setup(state_path=str(tmp_path), debug=False)


def test_host_goes_into_volume_host(tmp_path):
    cinderlib.setup(host='node-7', state_path=str(tmp_path))
    backend = cinderlib.Backend('b', volume_driver=DRIVER)
    assert backend.create_volume(1).host == 'node-7@b#b'


def test_a_new_availability_zone_reaches_the_next_volumes(tmp_path):
    # Backends read the zone once per value set, not per volume: a later
    # setup() changing it must still reach the volumes created after it.
    cinderlib.setup(storage_availability_zone='zone-a',
                    state_path=str(tmp_path))
    try:
        backend = cinderlib.Backend('b', volume_driver=DRIVER)
        first = backend.create_volume(1)
        cinderlib.setup(storage_availability_zone='zone-b',
                        state_path=str(tmp_path))
        second = backend.create_volume(1)
    finally:
        cinderlib.setup(storage_availability_zone='nova',
                        state_path=str(tmp_path))
    assert (first.availability_zone, second.availability_zone) == (
        'zone-a', 'zone-b')
    assert backend.create_volume(1).availability_zone == 'nova'


def test_default_host_is_hostname(backend):
    assert backend.host_name == f'{socket.gethostname()}@memory'


def test_project_and_user_ids(tmp_path):
    cinderlib.setup(project_id='p1', user_id='u1', state_path=str(tmp_path))
    volume = cinderlib.Backend('b', volume_driver=DRIVER).create_volume(1)
    assert (volume.project_id, volume.user_id) == ('p1', 'u1')


def test_disable_logs_silences_only_library_loggers(backend):
    host_logger = logging.getLogger('my_application')
    root_level = logging.getLogger().level
    assert logging.getLogger('cinder').level > logging.CRITICAL
    assert logging.getLogger('os_brick').level > logging.CRITICAL
    assert host_logger.getEffectiveLevel() == logging.getLogger().level
    assert logging.getLogger().level == root_level


def test_library_logs_reach_host_handlers_when_enabled(tmp_path, caplog):
    cinderlib.setup(disable_logs=False, state_path=str(tmp_path))
    with caplog.at_level(logging.DEBUG):
        logging.getLogger('cinder.volume.driver').warning('from cinder')
        logging.getLogger('my_application').info('from the host')
    assert 'from cinder' in caplog.text
    assert 'from the host' in caplog.text


def test_disabled_logs_do_not_reach_host_handlers(caplog):
    with caplog.at_level(logging.DEBUG):
        logging.getLogger('cinder.volume.driver').error('hidden')
        logging.getLogger('my_application').info('shown')
    assert 'hidden' not in caplog.text
    assert 'shown' in caplog.text


def test_plugin_base_contract_defaults():
    plugin = persistence_base.PersistenceDriverBase()
    with pytest.raises(NotImplementedError):
        plugin.get_volumes()
    # Ignored, with a warning, as in cinderlib 5.x (plugins pass theirs on).
    persistence_base.PersistenceDriverBase(unexpected=1)


def driver_modules():
    return {m for m in sys.modules if m.startswith('cinder.volume.drivers.')}


def test_list_supported_drivers_runs_in_a_child_process():
    before = driver_modules()
    drivers = cinderlib.list_supported_drivers()
    assert 'RBDDriver' in drivers
    rbd = drivers['RBDDriver']
    assert rbd['class_fqn'] == 'cinder.volume.drivers.rbd.RBDDriver'
    names = {opt['name'] for opt in rbd['driver_options']}
    assert 'rbd_pool' in names
    assert all(isinstance(v, str)
               for opt in rbd['driver_options'] for v in opt.values())
    assert driver_modules() == before
    assert len(drivers) > 50


def test_list_supported_drivers_v2_keeps_types():
    drivers = cinderlib.list_supported_drivers(2)
    option = next(o for o in drivers['RBDDriver']['driver_options']
                  if o['name'] == 'rbd_store_chunk_size')
    assert option['default'] == 4
    with pytest.raises(ValueError):
        cinderlib.list_supported_drivers(3)
