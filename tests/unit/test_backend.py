"""Backends: configuration, validation, pools, stats, lifecycle."""

import logging

import pytest

import cinderlib
from cinderlib import exception

DRIVER = 'tests.memory_driver.MemoryVolumeDriver'


def test_same_name_and_config_returns_the_same_backend(backend, tmp_path):
    again = cinderlib.Backend('memory', volume_driver=DRIVER,
                              memory_attach_dir=str(tmp_path))
    assert again is backend


def test_same_name_other_config_raises(backend):
    with pytest.raises(ValueError):
        cinderlib.Backend('memory', volume_driver=DRIVER,
                          memory_capacity_gb=5)


def test_unknown_option_is_rejected_with_suggestions():
    with pytest.raises(exception.InvalidDriverOption) as error:
        cinderlib.Backend('b1', volume_driver=DRIVER, memory_pool=['a'])
    assert error.value.field == 'memory_pool'
    assert 'memory_pools' in str(error.value)
    assert 'b1' not in cinderlib.Backend.backends


def test_option_values_are_typed_by_the_driver_options():
    with pytest.raises(exception.InvalidDriverOption) as error:
        cinderlib.Backend('b1', volume_driver=DRIVER,
                          reserved_percentage='lots')
    assert error.value.field == 'reserved_percentage'
    assert "'lots'" in str(error.value)
    backend = cinderlib.Backend('b2', volume_driver=DRIVER,
                                reserved_percentage='7')
    assert backend.driver.configuration.reserved_percentage == 7
    assert backend.stats()['reserved_percentage'] == 7


def test_option_range_is_checked():
    with pytest.raises(exception.InvalidDriverOption) as error:
        cinderlib.Backend('b1', volume_driver=DRIVER, memory_capacity_gb=0)
    assert error.value.field == 'memory_capacity_gb'


def test_templates_expand(tmp_path):
    backend = cinderlib.Backend('b1', volume_driver=DRIVER,
                                memory_attach_dir='$state_path/attach')
    assert backend.driver.configuration.memory_attach_dir == (
        f'{tmp_path}/attach')


@pytest.mark.parametrize('path', [None, 'nodots', 'no.such.Driver',
                                  'cinderlib.backend.Backend'])
def test_bad_volume_driver(path):
    with pytest.raises(exception.InvalidDriverOption) as error:
        cinderlib.Backend('b1', volume_driver=path)
    assert error.value.field == 'volume_driver'


@pytest.mark.parametrize('name', ['', 'a@b', 'a#b', 'a/b', 'DEFAULT',
                                  'database', 3,
                                  # Names no database column stores:
                                  'x' * 256, 'a\x00b', 'a\ud800b'])
def test_bad_backend_names(name):
    with pytest.raises((ValueError, TypeError)):
        cinderlib.Backend(name, volume_driver=DRIVER)


def test_several_backends_keep_their_own_config(tmp_path):
    one = cinderlib.Backend('one', volume_driver=DRIVER,
                            memory_capacity_gb=10)
    two = cinderlib.Backend('two', volume_driver=DRIVER,
                            memory_capacity_gb=20)
    assert one.stats()['total_capacity_gb'] == 10
    assert two.stats()['total_capacity_gb'] == 20
    v1 = one.create_volume(1)
    v2 = two.create_volume(1)
    assert one.volumes == [v1]
    assert two.volumes == [v2]


def test_driver_without_pools_gets_one_named_after_backend(backend):
    assert backend.pool_names == ('memory',)
    pool = backend.stats()['pools'][0]
    assert pool['pool_name'] == 'memory'
    assert pool['total_capacity_gb'] == 1000


def test_stats_refresh(backend):
    backend.create_volume(10)
    assert backend.stats()['free_capacity_gb'] == 1000
    assert backend.stats(refresh=True)['free_capacity_gb'] == 990


def test_volumes_filtered(backend):
    a = backend.create_volume(1, name='a')
    b = backend.create_volume(1, name='b')
    assert set(backend.volumes) == {a, b}
    assert backend.volumes_filtered(volume_name='a') == [a]
    assert backend.volumes_filtered(volume_id=b.id) == [b]
    assert backend.volumes_filtered(volume_id=b.id, volume_name='a') == []


def test_unload_then_load_again_with_other_config(backend):
    backend.unload()
    assert 'memory' not in cinderlib.Backend.backends
    again = cinderlib.Backend('memory', volume_driver=DRIVER,
                              memory_capacity_gb=5)
    assert again is not backend
    assert again.stats()['total_capacity_gb'] == 5
    assert again.driver.configuration.memory_attach_dir is None


def test_failed_driver_setup_loads_nothing(tmp_path):
    # No Ceph cluster behind this configuration: do_setup fails.
    with pytest.raises(Exception):
        cinderlib.Backend('rbd', volume_driver=(
            'cinder.volume.drivers.rbd.RBDDriver'), rbd_pool='volumes',
            rbd_ceph_conf=str(tmp_path / 'missing.conf'),
            rados_connect_timeout=1)
    assert 'rbd' not in cinderlib.Backend.backends
    backend = cinderlib.Backend('rbd', volume_driver=DRIVER)
    assert backend.driver.configuration.safe_get('rbd_pool') != 'volumes'


def test_attributes_fall_through_to_the_driver(backend):
    assert backend.get_version() == '1.0.0'
    assert backend.supported is True
    with pytest.raises(AttributeError):
        backend.no_such_thing


def test_secrets_are_masked(tmp_path, caplog):
    cinderlib.setup(output_all_backend_info=True, state_path=str(tmp_path),
                    disable_logs=False)
    caplog.set_level(logging.DEBUG)
    backend = cinderlib.Backend('secret', volume_driver=DRIVER,
                                memory_password='hunter2')
    volume = backend.create_volume(1)
    assert backend.config['memory_password'] == '***'
    assert backend.config['volume_driver'] == DRIVER
    for text in (volume.jsons, backend.jsons, cinderlib.dumps(),
                 repr(backend), repr(volume), caplog.text):
        assert 'hunter2' not in text
    assert backend.driver.configuration.memory_password == 'hunter2'


def test_secrets_kept_on_explicit_opt_in(tmp_path):
    cinderlib.setup(output_all_backend_info=True, serialize_secrets=True,
                    state_path=str(tmp_path))
    backend = cinderlib.Backend('secret', volume_driver=DRIVER,
                                memory_password='hunter2')
    assert backend.config['memory_password'] == 'hunter2'


def test_config_is_only_the_name_by_default(backend):
    assert backend.config == {'volume_backend_name': 'memory'}


def test_objects_follow_a_reloaded_backend(backend, tmp_path):
    volume = backend.create_volume(1)
    backend.unload()
    again = cinderlib.Backend('memory', volume_driver=DRIVER,
                              memory_attach_dir=str(tmp_path))
    assert again is not backend
    assert cinderlib.Volume.get_by_id(volume.id).backend is again
    assert again.volumes == [volume]


def test_rejected_setup_keeps_the_previous_settings(tmp_path):
    cinderlib.setup(state_path=str(tmp_path), host='kept')
    with pytest.raises(exception.InvalidArgument):
        cinderlib.setup(state_path=str(tmp_path), host='new', stat_path='x')
    assert cinderlib.Backend.global_options().host == 'kept'
    backend = cinderlib.Backend('after', volume_driver=DRIVER)
    assert backend.create_volume(1).host == 'kept@after#after'
