"""The cinderlib.storage Ansible collection on the RBD backends of the YAML
configuration (see conftest.py), e.g. the throw-away Ceph cluster: the
collection's demo playbook twice (the second run changes nothing), then
its teardown, run by ``ansible-playbook``.  The file backend runs the whole
set of playbooks in tests/ansible.
"""

import os
import shutil
import tempfile

import pytest

from tests.ansible import runner
from tests.ansible.runner import NO_LOG, results, stats
from tests.functional.conftest import BACKENDS, SETUP, _expand

RBD_BACKENDS = [b for b in BACKENDS
                if b.get('volume_driver', '').endswith('.RBDDriver')]

pytestmark = pytest.mark.timeout(1200)


@pytest.fixture(params=RBD_BACKENDS or [None],
                ids=[b['volume_backend_name'] for b in RBD_BACKENDS] or
                ['no-rbd-backend'])
def rbd_options(request, environment):
    if request.param is None:
        pytest.skip('no RBD backend in the configuration')
    return {key: _expand(value, environment)
            for key, value in request.param.items()}


@pytest.fixture
def ansible(environment):
    work = tempfile.mkdtemp(prefix='cinderlib-ansible-ceph-')
    ansible = runner.Ansible(work)
    ansible.build_and_install()
    bindings = environment.get('CINDERLIB_CEPH_PYTHONPATH')
    if bindings:  # the rados and rbd modules, for the modules' processes
        paths = [bindings] + [p for p in [os.environ.get('PYTHONPATH')] if p]
        ansible.extra_environment = {'PYTHONPATH': os.pathsep.join(paths)}
    yield ansible
    shutil.rmtree(work, ignore_errors=True)


def test_demo_and_teardown_on_ceph(ansible, rbd_options):
    work = ansible.work
    extra = runner.write_vars(
        os.path.join(work, 'ceph-vars.json'), rbd_options,
        {'storage': 'db', 'connection': f'sqlite:///{work}/state.sqlite'},
        dict(SETUP, state_path=work), work_dir=work)
    first = ansible.playbook(runner.DEMO, [extra])
    assert first['returncode'] == 0, first['stdout'][-3000:]
    assert stats(first)['changed'] == 5
    again = ansible.playbook(runner.DEMO, [extra])
    assert stats(again)['changed'] == 0 and again['returncode'] == 0

    export = results(first)['Export the clone to the host node-1']
    data = export['connection_info']['conn']['data']
    assert export['connection_info']['conn']['driver_volume_type'] == 'rbd'
    assert data['auth_username'] == rbd_options['rbd_user']
    # The keyring the driver puts in connection_info is a credential.
    assert data['keyring'] == NO_LOG
    with open(rbd_options['rbd_keyring_conf']) as keyring:
        assert keyring.read().strip() not in first['stdout']

    info = results(first)['What the backend holds']
    assert info['backend']['pool_names']
    assert info['stats']['pools'][0]['total_capacity_gb'] > 0
    assert sorted(v['name'] for v in info['volumes']) == [
        'data', 'data-copy', 'restored']

    teardown = os.path.join(runner.PLAYBOOKS, 'teardown.yml')
    done = ansible.playbook(teardown, [extra])
    assert done['returncode'] == 0, done['stdout'][-3000:]
    assert results(done)['What the backend holds']['volumes'] == []
