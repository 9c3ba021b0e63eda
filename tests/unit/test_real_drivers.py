"""Cinder 29's own drivers built through our configuration and DB shim.

These drivers need a real array (or Ceph) to run ``do_setup``; here they are
built as the Backend builds them, and their own code paths that read
configuration and the database are run against our objects.
"""

import pytest

import cinderlib
from cinderlib.cinder import config as cinder_config
from cinderlib.cinder import drivers as cinder_drivers
from cinderlib import exception

RBD = 'cinder.volume.drivers.rbd.RBDDriver'
PURE = 'cinder.volume.drivers.pure.PureISCSIDriver'


def build(name, path, **options):
    cinderlib.backend._apply_cinder_options()
    driver_class = cinder_drivers.import_driver_class(path)
    config = cinder_config.DriverConfiguration(
        name, driver_class, {'volume_driver': path,
                             'volume_backend_name': name, **options})
    driver = cinder_drivers.build_driver(
        driver_class, config.configuration, f'host@{name}',
        cinderlib.Backend.persistence.db)
    return driver, config


@pytest.fixture
def clear_groups():
    configs = []
    yield configs
    for config in configs:
        config.clear()


def test_rbd_driver_options_are_typed(clear_groups, tmp_path):
    driver, config = build('ceph', RBD, rbd_pool='volumes',
                           rbd_user='cinder', rbd_store_chunk_size='8',
                           rbd_ceph_conf='$state_path/ceph.conf',
                           rbd_keyring_conf='/etc/ceph/keyring',
                           report_discard_supported='true')
    clear_groups.append(config)
    conf = driver.configuration
    assert conf.rbd_pool == 'volumes'
    assert conf.rbd_store_chunk_size == 8
    assert conf.report_discard_supported is True
    assert conf.rbd_ceph_conf == f'{tmp_path}/ceph.conf'
    assert conf.rbd_keyring_conf == '/etc/ceph/keyring'
    assert driver.db is cinderlib.Backend.persistence.db


def test_rbd_driver_rejects_bad_values_naming_the_option():
    with pytest.raises(exception.InvalidDriverOption) as error:
        build('ceph', RBD, rbd_store_chunk_size='big')
    assert error.value.field == 'rbd_store_chunk_size'
    with pytest.raises(exception.InvalidDriverOption) as error:
        build('ceph', RBD, rbd_poool='volumes')
    assert 'rbd_pool' in str(error.value)


def test_san_driver_secrets_and_types(clear_groups):
    driver, config = build('pure', PURE, san_ip='192.0.2.1',
                           pure_api_token='t0ken', san_password='s3cret',
                           use_chap_auth='true',
                           pure_host_personality='esxi')
    clear_groups.append(config)
    assert driver.configuration.san_password == 's3cret'
    assert driver.configuration.use_chap_auth is True
    assert driver._backend_name == 'pure'
    assert {'san_password', 'chap_password', 'pure_api_token'} <= (
        config.secret_names())
    with pytest.raises(exception.InvalidDriverOption) as error:
        build('pure2', PURE, pure_host_personality='toaster')
    assert error.value.field == 'pure_host_personality'


def test_san_driver_reads_qos_through_the_db_shim(clear_groups, backend):
    volume = backend.create_volume(
        1, qos_specs={'maxIOPS': '1000', 'maxBWS': '100'})
    driver, config = build('pure', PURE, san_ip='192.0.2.1',
                           pure_api_token='t0ken')
    clear_groups.append(config)
    qos = driver._get_qos_settings(volume._ovo.volume_type)
    assert qos['maxIOPS'] == 1000
    assert qos['maxBWS'] == 100 * 1024 * 1024
