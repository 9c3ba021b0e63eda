"""Secrets and state at rest: what is private, masked, literal or refused
(doc/source/security.rst)."""

import json
import logging
import os
import stat
import uuid

import pytest

import cinderlib
from cinderlib.cinder import config as cinder_config
from cinderlib.cinder import drivers as cinder_drivers
from cinderlib import exception
from cinderlib.backend import GlobalOptions
from tests import memory_driver

DRIVER = 'tests.memory_driver.MemoryVolumeDriver'
CHAP_DRIVER = 'tests.unit.test_security.ChapDriver'
FILE_DRIVER = 'cinderlib.drivers.file.FileVolumeDriver'
PURE = 'cinder.volume.drivers.pure.PureISCSIDriver'

# Secrets that oslo.config would read as templates, or escapes of them.
TRICKY_SECRETS = ['pa$word', 'pa${x}rd', '${DEFAULT.host}', '$$', 'end$',
                  'a\\$b', '\\\\$x', '\\', '$\\$$\\\\$$$', '%(x)s', '$my_ip']


class ChapDriver(memory_driver.MemoryVolumeDriver):
    """The memory driver answering as an iSCSI driver with CHAP does."""

    def create_export(self, context, volume, connector):
        super().create_export(context, volume, connector)
        return {'provider_auth': 'CHAP chap-user chap-s3cret'}

    def initialize_connection(self, volume, connector):
        info = super().initialize_connection(volume, connector)
        info['driver_volume_type'] = 'iscsi'
        info['data'].update(auth_method='CHAP', auth_username='chap-user',
                            auth_password='chap-s3cret')
        return info


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def use_sqlite(path, state_path=None):
    cinderlib.setup(state_path=str(state_path or os.path.dirname(path)),
                    persistence_config={'storage': 'db',
                                        'connection': f'sqlite:///{path}'})


# -- SQLite files -------------------------------------------------------------

def test_sqlite_files_are_private(tmp_path, umask_022, connector):
    path = tmp_path / 'state.db'
    use_sqlite(path)
    backend = cinderlib.Backend('memory', volume_driver=CHAP_DRIVER,
                                memory_attach_dir=str(tmp_path))
    backend.create_volume(1).connect(connector)
    companions = {f'state.db{suffix}' for suffix in ('-wal', '-shm')}
    assert companions <= set(os.listdir(tmp_path))
    for name in ('state.db', *companions):
        assert mode(tmp_path / name) == 0o600, name


def test_sqlite_file_never_created_through_a_symlink(tmp_path):
    elsewhere = tmp_path / 'elsewhere.db'
    os.symlink(elsewhere, tmp_path / 'state.db')  # dangling
    with pytest.raises(exception.InvalidPersistence, match='symbolic link'):
        use_sqlite(tmp_path / 'state.db')
    assert not elsewhere.exists()


def test_sqlite_database_symlink_to_a_file_is_refused(tmp_path):
    use_sqlite(tmp_path / 'real.db')
    os.symlink(tmp_path / 'real.db', tmp_path / 'link.db')
    with pytest.raises(exception.InvalidPersistence,
                       match='link.db is a symbolic link'):
        use_sqlite(tmp_path / 'link.db')


@pytest.mark.parametrize('suffix', ['-wal', '-shm', '-journal'])
def test_sqlite_journal_symlink_is_refused(tmp_path, suffix):
    elsewhere = tmp_path / 'elsewhere'
    os.symlink(elsewhere, tmp_path / f'state.db{suffix}')
    with pytest.raises(exception.InvalidPersistence,
                       match=f'state.db{suffix}, where SQLite'):
        use_sqlite(tmp_path / 'state.db')
    assert not elsewhere.exists()


def test_existing_sqlite_file_keeps_its_mode_with_a_warning(
        tmp_path, caplog):
    path = tmp_path / 'state.db'
    path.touch()
    os.chmod(path, 0o644)
    use_sqlite(path)
    assert mode(path) == 0o644
    assert 'readable by every user' in caplog.text


def test_sqlite_special_file_is_refused(tmp_path):
    os.mkfifo(tmp_path / 'state.db')
    with pytest.raises(exception.InvalidPersistence,
                       match='not a regular file'):
        use_sqlite(tmp_path / 'state.db')


def test_sqlite_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(exception.InvalidPersistence,
                       match='cannot create SQLite database .*No such file'):
        use_sqlite(tmp_path / 'missing' / 'state.db', state_path=tmp_path)


def test_sqlite_uri_filename_is_private_too(tmp_path, umask_022):
    path = tmp_path / 'uri.db'
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db', 'connection': f'sqlite:///file:{path}?uri=true'})
    assert mode(path) == 0o600


# -- serialized output: what is masked ----------------------------------------

@pytest.fixture
def chap_backend(tmp_path):
    cinderlib.setup(state_path=str(tmp_path), output_all_backend_info=True)
    return cinderlib.Backend(
        'chap', volume_driver=CHAP_DRIVER, memory_attach_dir=str(tmp_path),
        memory_password='opt-s3cret', chap_password='opt-chap',
        replication_device=[{'backend_id': 'b', 'san_password': 'opt-rep'}])


def test_secret_options_are_masked_in_every_serialized_form(chap_backend,
                                                            connector):
    volume = chap_backend.create_volume(1)
    connection = volume.connect(connector)
    for config in (chap_backend.config, volume.json['backend'],
                   connection.json['backend'],
                   json.loads(cinderlib.dumps())[0]['backend']):
        for name in ('memory_password', 'chap_password',
                     'replication_device'):
            assert config[name] == '***'
        assert config['volume_driver'] == CHAP_DRIVER
    for text in (volume.dumps, connection.dumps, chap_backend.dumps,
                 cinderlib.dumps()):
        assert 'opt-' not in text


def test_serialize_secrets_keeps_the_options(chap_backend, tmp_path):
    cinderlib.setup(state_path=str(tmp_path), output_all_backend_info=True,
                    serialize_secrets=True)
    assert chap_backend.config['memory_password'] == 'opt-s3cret'
    assert chap_backend.config['replication_device'] == [
        {'backend_id': 'b', 'san_password': 'opt-rep'}]


def test_connection_credentials_are_kept_for_reattaching(chap_backend,
                                                         connector):
    """Documented: a CSI plugin stores ``to_jsons(simplified=True)`` and
    attaches later from the loaded ``connection_info``."""
    volume = chap_backend.create_volume(1)
    connection = volume.connect(connector)
    stored = connection.to_jsons(simplified=True)
    assert 'chap-s3cret' in stored
    loaded = cinderlib.load(stored)
    assert loaded.connection_info['conn']['data']['auth_password'] == (
        'chap-s3cret')
    assert loaded.conn_info['data']['auth_username'] == 'chap-user'
    assert 'CHAP chap-user chap-s3cret' in volume.jsons  # provider_auth
    for text in (repr(connection), repr(volume), repr(loaded)):
        assert 'chap-s3cret' not in text


# -- secret option values: literal, never shown -------------------------------

@pytest.mark.parametrize('secret', TRICKY_SECRETS)
def test_secret_option_values_are_literal(secret, tmp_path):
    backend = cinderlib.Backend('b1', volume_driver=DRIVER,
                                memory_attach_dir=str(tmp_path),
                                memory_password=secret)
    assert backend.driver.configuration.memory_password == secret
    assert backend.driver.configuration.safe_get('memory_password') == secret
    assert cinder_config.get_option('memory_password', 'b1') == secret


@pytest.mark.parametrize('secret', ['t$ken', 'a\\$b'])
def test_options_named_like_secrets_are_literal(secret):
    cinderlib.backend._apply_cinder_options()
    driver_class = cinder_drivers.import_driver_class(PURE)
    config = cinder_config.DriverConfiguration('pure', driver_class, {
        'volume_driver': PURE, 'san_ip': '192.0.2.1',
        'pure_api_token': secret, 'san_password': secret})
    try:
        assert config.configuration.pure_api_token == secret
        assert config.configuration.san_password == secret
    finally:
        config.clear()


def test_secret_dict_options_are_literal(tmp_path):
    devices = [{'backend_id': 'b$1', 'san_password': 'p$w\\$d'}]
    backend = cinderlib.Backend('b1', volume_driver=DRIVER,
                                memory_attach_dir=str(tmp_path),
                                replication_device=devices)
    assert backend.driver.configuration.replication_device == devices
    again = cinderlib.Backend('b2', volume_driver=DRIVER,
                              memory_attach_dir=str(tmp_path),
                              replication_device=['backend_id:b,pw:x$y'])
    assert again.driver.configuration.replication_device == [
        {'backend_id': 'b', 'pw': 'x$y'}]


@pytest.mark.parametrize('secret', ['pa$word', 'x\\$y'])
def test_secret_default_options_are_literal(secret, tmp_path):
    cinderlib.setup(state_path=str(tmp_path), chap_password=secret)
    cinderlib.Backend('b1', volume_driver=DRIVER,
                      memory_attach_dir=str(tmp_path))
    assert cinder_config.get_option('chap_password') == secret


def test_coordination_url_is_literal(tmp_path):
    url = f'file://{tmp_path}/co$rd'
    cinderlib.setup(state_path=str(tmp_path), coordination_backend_url=url)
    cinderlib.Backend('b1', volume_driver=DRIVER,
                      memory_attach_dir=str(tmp_path)).create_volume(1)
    assert cinder_config.get_option('backend_url', 'coordination') == url
    assert (tmp_path / 'co$rd').is_dir()


@pytest.mark.parametrize('value', [
    'backend_id:x,san_password:t0psecret,broken',
    ['backend_id:x,san_password:t0psecret,broken'], 42])
def test_bad_secret_values_are_not_shown(value, tmp_path):
    with pytest.raises(exception.InvalidDriverOption) as error:
        cinderlib.Backend('b1', volume_driver=DRIVER,
                          memory_attach_dir=str(tmp_path),
                          replication_device=value)
    message = str(error.value)
    assert error.value.field == 'replication_device'
    assert 'not shown: the option is secret' in message
    assert 't0psecret' not in message and '42' not in message
    assert 'b1' not in cinderlib.Backend.backends


def test_templates_still_expand_in_other_options(tmp_path):
    backend = cinderlib.Backend('b1', volume_driver=DRIVER,
                                memory_attach_dir='$state_path/a',
                                memory_pools='${b1.memory_attach_dir},$$x')
    config = backend.driver.configuration
    assert config.memory_attach_dir == f'{tmp_path}/a'
    assert config.memory_pools == [f'{tmp_path}/a', '$x']


@pytest.mark.parametrize('template, reason', [
    ('$no_such_option/x', 'no such option no_such_option'),
    ('${nogroup.opt}', 'no such group'),
    ('${b1.memory_attach_dir}', 'refers to itself')])
def test_bad_template_names_the_option(template, reason):
    with pytest.raises(exception.InvalidDriverOption) as error:
        cinderlib.Backend('b1', volume_driver=DRIVER,
                          memory_attach_dir=template)
    assert error.value.field == 'memory_attach_dir'
    assert reason in str(error.value)
    assert 'write $$ for a literal $' in str(error.value)
    assert 'b1' not in cinderlib.Backend.backends


# -- URLs and persistence configurations --------------------------------------

@pytest.mark.parametrize('url, masked', [
    ('redis://:hunter2@h:6379', 'redis://:***@h:6379'),
    ('redis://h:6379?password=hunter2&db=1',
     'redis://h:6379?password=***&db=1'),
    ('redis://h:6379/?db=1&sentinel_password=hunter2',
     'redis://h:6379/?db=1&sentinel_password=***'),
    ('etcd3+http://h:2379?api_token=hunter2',
     'etcd3+http://h:2379?api_token=***'),
    ('postgresql://u:hunter2@h/db?password=hunter2',
     'postgresql://u:***@h/db?password=***'),
    ('redis://h/?password=hunter2@x', 'redis://h/?password=***'),
    ('file:///var/lib/locks', 'file:///var/lib/locks'),
    ('mysql://u@h/db?charset=utf8', 'mysql://u@h/db?charset=utf8')])
def test_urls_are_shown_without_passwords(url, masked):
    assert exception._without_password(url) == masked


@pytest.mark.filterwarnings('ignore:Query string argument')
def test_db_plugin_url_and_repr_mask_query_passwords(tmp_path):
    url = f'sqlite:///{tmp_path}/state.db?password=hunter2&timeout=5'
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'db', 'connection': url})
    plugin = cinderlib.Backend.persistence
    for text in (plugin.url, repr(plugin)):
        assert 'hunter2' not in text
        assert 'password=***' in text


def test_unreachable_database_error_masks_query_password():
    url = 'postgresql+psycopg://admin@127.0.0.1:1/db?password=hunter2'
    with pytest.raises(exception.InvalidPersistence) as error:
        cinderlib.setup(persistence_config={'storage': 'db',
                                            'connection': url})
    assert 'hunter2' not in str(error.value)
    assert 'password=***' in str(error.value)


@pytest.mark.parametrize('url', ['postgresql://u:hunter2@h:abc/db',
                                 'mysql+pymysql://u:hunter2@h:5432x/db'])
def test_non_numeric_port_is_invalid_persistence(url):
    with pytest.raises(exception.InvalidPersistence,
                       match='port is not a number') as error:
        cinderlib.setup(persistence_config={'storage': 'db',
                                            'connection': url})
    assert 'hunter2' not in str(error.value)


@pytest.mark.parametrize('config', [
    'postgresql://u:hunter2@h/db', b'postgresql://u:hunter2@h/db',
    {'storage': 'db', 'connection': b'postgresql://u:hunter2@h/db'},
    {'storage': 'postgresql://u:hunter2@h/db?password=hunter2'}])
def test_persistence_config_is_never_echoed(config):
    with pytest.raises(exception.InvalidPersistence) as error:
        cinderlib.setup(persistence_config=config)
    assert 'hunter2' not in str(error.value)


def test_persistence_config_as_a_url_says_what_to_give():
    with pytest.raises(exception.InvalidPersistence,
                       match="must be a dict such as {'storage': 'db'"):
        cinderlib.setup(persistence_config='sqlite:///x.db')


def test_global_options_repr_masks_secrets(tmp_path):
    cinderlib.setup(state_path=str(tmp_path), chap_password='hunter2',
                    coordination_backend_url=f'file://{tmp_path}/c')
    options = GlobalOptions(
        coordination_backend_url='redis://:hunter2@h:6379?password=hunter2',
        cinder_options={'chap_password': 'hunter2', 'x_token': 'hunter2',
                        'debug': True})
    for text in (repr(options), repr(cinderlib.Backend.global_options())):
        assert 'hunter2' not in text
    assert "'chap_password': '***'" in repr(options)
    assert "'debug': True" in repr(options)
    assert 'redis://:***@h:6379?password=***' in repr(options)


# -- logs ---------------------------------------------------------------------

def test_library_logs_show_no_secret(tmp_path, caplog, connector):
    cinderlib.setup(state_path=str(tmp_path), disable_logs=False,
                    persistence_config={
                        'storage': 'db',
                        'connection': f'sqlite:///{tmp_path}/s.db'})
    caplog.set_level(logging.DEBUG)
    backend = cinderlib.Backend('chap', volume_driver=CHAP_DRIVER,
                                memory_attach_dir=str(tmp_path),
                                memory_password='opt-s3cret')
    volume = backend.create_volume(1)
    volume.connect(connector).disconnect()
    volume.delete()
    assert 'opt-s3cret' not in caplog.text


# -- the file driver through the library -------------------------------------

@pytest.mark.parametrize('volume_id', [
    'a..b', 'x' * 255, '\u00e9' * 200, 'tab\there', 'name with spaces'])
def test_file_driver_takes_every_id_the_library_takes(volume_id, tmp_path):
    cinderlib.setup(state_path=str(tmp_path), non_uuid_ids=True)
    files = cinderlib.Backend('files', volume_driver=FILE_DRIVER,
                              file_volumes_dir=str(tmp_path / 'volumes'))
    volume = files.create_volume(1, id=volume_id)
    assert volume.status == 'available'
    snapshot = volume.create_snapshot(id=volume_id)
    clone = snapshot.create_volume(id=volume_id[:200] + '.clone')
    assert clone.status == 'available'
    clone.delete()
    snapshot.delete()
    volume.delete()
    assert files.volumes == []
    assert os.listdir(tmp_path / 'volumes') == []


def test_file_driver_volume_files_are_private(tmp_path, umask_022):
    files = cinderlib.Backend('files', volume_driver=FILE_DRIVER,
                              file_volumes_dir=str(tmp_path / 'volumes'))
    volume = files.create_volume(1, id=str(uuid.uuid4()))
    clone = volume.clone()
    snapshot = volume.create_snapshot()
    assert mode(tmp_path / 'volumes') == 0o700
    for path in (files.driver.volume_path(volume._ovo),
                 files.driver.volume_path(clone._ovo),
                 files.driver.snapshot_path(snapshot._ovo)):
        assert mode(path) == 0o600
