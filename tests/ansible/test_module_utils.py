"""The collection's module_utils: which keys hold credentials, and the
one-line errors (the playbook tests show them in real runs)."""

import types

import pytest

pytest.importorskip('ansible', reason='ansible-core (in the test extra) is '
                    'not installed')

from ansible_collections.cinderlib.storage.plugins.module_utils import \
    common  # noqa: E402


@pytest.mark.parametrize('name', [
    'san_password', 'chap_password', 'auth_password', 'pure_api_token',
    'keyring', 'api_key', 'client_secret', 'PASSWORD'])
def test_secret_names(name):
    assert common.SECRET_NAME.search(name)


@pytest.mark.parametrize('name', [
    'volume_backend_name', 'rbd_keyring_conf', 'secret_uuid',
    'secret_type', 'auth_username', 'auth_method', 'key_manager',
    'target_iqn', 'keys'])
def test_not_secret_names(name):
    assert not common.SECRET_NAME.search(name)


def test_credentials_of_a_connection_are_masked():
    module = types.SimpleNamespace(no_log_values=set())
    connection_info = {
        'conn': {'driver_volume_type': 'rbd', 'data': {
            'auth_username': 'cinder', 'secret_type': 'ceph',
            'keyring': '[client.cinder]\n\tkey = AQB==\n',
            'hosts': ['127.0.0.1'], 'targets': [{'auth_password': 'pw'}]}},
        'connector': {'host': 'node-1'}, 'device': None}
    common.mask_credentials(module, connection_info)
    assert module.no_log_values == {'[client.cinder]\n\tkey = AQB==\n',
                                    'pw'}


def test_error_messages_are_one_line():
    error = RuntimeError('Bad thing\n  happened:\n\tdetails')
    assert common.error_message(error) == 'Bad thing happened: details'
    assert common.error_message(RuntimeError()) == 'RuntimeError'
