"""The cinderlib.storage Ansible collection, tested by ansible-core itself:
``ansible-galaxy collection build``/``install``, ``ansible-doc``,
``ansible-test sanity`` and playbooks run by ``ansible-playbook`` on the
file backend with its state in SQLite.

The playbooks run once, in order (``scenario``), as a user would: the
demo of the documentation twice, changes in check mode then for real,
failures, and the teardown twice.  Each test checks one aspect of their
JSON results.
"""

import os
import re
import resource
import shutil
import tarfile
import tempfile

import pytest

from tests.ansible import runner
from tests.ansible.runner import NO_LOG, MODULES, PLAYBOOKS, results, stats

pytest.importorskip('ansible', reason='ansible-core (in the test extra) is '
                    'not installed')

# Each task is a new Python process importing Cinder: about 50 of them,
# 2 to 3 seconds each on an idle 2-core machine, more when it is busy.
pytestmark = pytest.mark.timeout(1800)


# -- the collection -------------------------------------------------------


def test_the_tarball_holds_the_collection(ansible):
    with tarfile.open(ansible.tarball) as tarball:
        names = set(tarball.getnames())
    for module in MODULES:
        assert f'plugins/modules/{module}.py' in names
    for path in ('MANIFEST.json', 'FILES.json', 'README.md',
                 'meta/runtime.yml', 'plugins/module_utils/common.py',
                 'plugins/doc_fragments/common.py', 'playbooks/demo.yml'):
        assert path in names
    assert not [name for name in names if 'tests/output' in name]


@pytest.mark.parametrize('module', MODULES)
def test_ansible_doc_renders_the_module(ansible, module):
    doc = ansible.doc(module)
    options = doc['doc']['options']
    # The shared options come from the one doc fragment.
    for name in ('backend', 'backend_secrets', 'persistence', 'setup'):
        assert options[name]['description'], name
    assert options['backend']['required'] is True
    assert doc['doc']['attributes']['check_mode']['support'] == 'full'
    assert f'cinderlib.storage.{module}:' in doc['examples']
    assert doc['return']


def test_ansible_test_sanity_passes(ansible, tmp_path):
    open_files = resource.getrlimit(resource.RLIMIT_NOFILE)
    done = ansible.sanity(runner.sanity_cache_home(str(tmp_path)))
    # ansible-test lowers its limit of open files: not that of this process
    # (the tests after these would run out of file descriptors).
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == open_files
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    ran = [line for line in done.stdout.splitlines()
           if line.startswith('Running sanity test')]
    for test in ('validate-modules', 'pylint', 'import', 'ansible-doc',
                 'pep8', 'yamllint', 'compile', 'runtime-metadata'):
        assert any(f'"{test}"' in line for line in ran), test


def test_the_documentation_shows_the_demo_the_tests_run():
    page = os.path.join(runner.ROOT, 'doc', 'source', 'ansible.rst')
    with open(page) as page_file:
        included = re.findall(r'literalinclude:: (\S+)', page_file.read())
    assert [os.path.realpath(os.path.join(os.path.dirname(page), path))
            for path in included] == [os.path.realpath(runner.DEMO)]


# -- playbooks on the file backend -----------------------------------------


@pytest.fixture(scope='module')
def scenario(ansible):
    """{run name: ansible-playbook's JSON output}, run in this order."""
    work = tempfile.mkdtemp(prefix='cinderlib-ansible-files-')
    values = runner.file_backend_vars(work)
    extra = runner.write_vars(
        os.path.join(ansible.work, 'file-vars.json'), values['backend'],
        values['persistence'], values['setup'], work_dir=work)
    runs = {}
    # Exactly as the documentation says to run it.
    runs['demo'] = ansible.playbook(runner.DEMO, [f'work_dir={work}'],
                                    diff=True)
    runs['demo again'] = ansible.playbook(runner.DEMO, [f'work_dir={work}'])
    copy = results(runs['demo'])['A clone of the first volume']
    ids = [extra, f'copy_id={copy["volume"]["id"]}']
    changes = os.path.join(PLAYBOOKS, 'changes.yml')
    runs['changes checked'] = ansible.playbook(changes, ids, check=True,
                                               diff=True)
    runs['changes'] = ansible.playbook(changes, ids, diff=True)
    runs['changes again'] = ansible.playbook(changes, ids)
    runs['failures'] = ansible.playbook(
        os.path.join(PLAYBOOKS, 'failures.yml'), ids)
    teardown = os.path.join(PLAYBOOKS, 'teardown.yml')
    runs['teardown'] = ansible.playbook(teardown, ids, diff=True)
    runs['teardown again'] = ansible.playbook(teardown, ids)
    runs['volumes left'] = sorted(os.listdir(os.path.join(work, 'volumes')))
    yield runs
    shutil.rmtree(work, ignore_errors=True)


def _changed(output):
    return {name: result.get('changed') for name, result, _ in
            runner.tasks(output)}


def test_the_demo_creates_everything(scenario):
    demo = results(scenario['demo'])
    assert scenario['demo']['returncode'] == 0
    assert stats(scenario['demo'])['changed'] == 5
    data = demo['A 1 GiB volume with its own extra specs, QoS and metadata']
    volume = data['volume']
    assert volume['size'] == 1 and volume['status'] == 'available'
    assert volume['extra_specs'] == {
        'thin_provisioning_support': '<is> True'}
    assert volume['qos_specs'] == {'total_iops_sec': '1000'}
    assert volume['metadata'] == {'owner': 'demo'}
    snapshot = demo['A snapshot of it']['snapshot']
    assert snapshot['volume_id'] == volume['id']
    restored = demo["A new 2 GiB volume with the snapshot's data"]['volume']
    assert restored['snapshot_id'] == snapshot['id']
    assert restored['size'] == 2
    copy = demo['A clone of the first volume']['volume']
    assert copy['source_volume_id'] == volume['id'] and copy['size'] == 1
    export = demo['Export the clone to the host node-1']
    assert export['connection']['host'] == 'node-1'
    assert export['connection_info']['conn']['driver_volume_type'] == 'local'
    info = demo['What the backend holds']
    assert info['changed'] is False
    assert len(info['volumes']) == 3 and len(info['snapshots']) == 1
    assert info['connections'][0]['volume_id'] == copy['id']
    assert info['backend']['pool_names'] == ['files']
    assert info['stats']['pools'][0]['free_capacity_gb'] > 0


def test_the_demo_again_changes_nothing(scenario):
    assert scenario['demo again']['returncode'] == 0
    recap = stats(scenario['demo again'])
    assert recap['changed'] == 0 and recap['failures'] == 0
    assert recap['ok'] == stats(scenario['demo'])['ok']
    before = results(scenario['demo'])['What the backend holds']
    after = results(scenario['demo again'])['What the backend holds']
    assert after['volumes'] == before['volumes']


def test_diff_shows_what_is_created(scenario):
    demo = results(scenario['demo'])
    diff = demo['A 1 GiB volume with its own extra specs, QoS and metadata'][
        'diff']
    assert diff['before'] == {}
    assert diff['after']['name'] == 'data' and diff['after']['size'] == 1
    diff = demo['Export the clone to the host node-1']['diff']
    assert diff['before'] == {'host': 'node-1', 'connected': False}
    assert diff['after']['connected'] is True


def test_check_mode_predicts_and_changes_nothing(scenario):
    checked = scenario['changes checked']
    assert checked['returncode'] == 0
    assert _changed(checked) == {
        'Grow data and replace its description and metadata': True,
        'Rename the clone, found by its id': True,
        'Stop exporting the clone to node-1': True,
        'A new volume': True,
        'What the backend holds': False}
    grown = results(checked)[
        'Grow data and replace its description and metadata']
    assert grown['diff']['before']['size'] == 1
    assert grown['diff']['after']['size'] == 2
    assert grown['diff']['after']['metadata'] == {'owner': 'ops',
                                                  'tier': '1'}
    new = results(checked)['A new volume']['volume']
    assert new['id'] is None and new['status'] == 'creating'
    before = results(scenario['demo again'])['What the backend holds']
    after = results(checked)['What the backend holds']
    assert after['volumes'] == before['volumes']
    assert after['connections'] == before['connections']


def test_changes_are_made_then_found_made(scenario):
    done = results(scenario['changes'])
    assert scenario['changes']['returncode'] == 0
    assert stats(scenario['changes'])['changed'] == 4
    info = done['What the backend holds']
    volumes = {volume['name']: volume for volume in info['volumes']}
    assert sorted(volumes) == ['data', 'data-copy-renamed', 'extra',
                               'restored']
    assert volumes['data']['size'] == 2
    assert volumes['data']['description'] == 'grown'
    assert volumes['data']['metadata'] == {'owner': 'ops', 'tier': '1'}
    assert info['connections'] == []
    assert stats(scenario['changes again'])['changed'] == 0


def test_failures_say_why_on_one_line(scenario):
    failed = results(scenario['failures'])
    messages = {name: result['msg'] for name, result in failed.items()
                if result.get('failed')}
    assert set(messages) == set(failed) - {'What the backend holds'}
    assert messages['Bad size'] == (
        'Invalid size: must be at least 1 GiB, got 0')
    assert failed['Bad size']['error'] == 'InvalidArgument'
    assert messages['No size for a new volume'] == (
        "Invalid size: required to create volume 'sizeless'")
    assert messages['Shrink'].startswith('Invalid size: volume ')
    assert messages['Shrink'].endswith('never shrink, got 1')
    assert messages['Change the extra specs of a volume'].startswith(
        'Invalid extra_specs: volume ')
    assert 'has snapshots' in messages['Delete a volume that has a snapshot']
    for name in ('Export an unknown volume', 'Snapshot an unknown volume'):
        assert messages[name] == 'Volume no-such-volume could not be found.'
        assert failed[name]['error'] == 'VolumeNotFound'
    assert messages['A backend option the driver does not have, and '
                    'secrets'].startswith('Invalid bogus_')
    for message in messages.values():
        assert '\n' not in message


def test_failures_change_nothing(scenario):
    before = results(scenario['changes again'])['What the backend holds']
    after = results(scenario['failures'])['What the backend holds']
    assert after['volumes'] == before['volumes']
    assert after['snapshots'] == before['snapshots']
    assert stats(scenario['failures'])['changed'] == 0


def test_secrets_are_masked(scenario):
    output = scenario['failures']
    assert 'pw-in-backend-4711' not in output['stdout']
    assert 'tok-in-secrets-4712' not in output['stdout']
    task = results(output)[
        'A backend option the driver does not have, and secrets']
    args = task['invocation']['module_args']
    assert args['backend']['bogus_password'] == NO_LOG
    assert args['backend_secrets'] == {'bogus_token': NO_LOG}
    assert any('bogus_password looks secret' in warning
               for warning in task['warnings'])


def test_teardown_deletes_everything_once(scenario):
    assert scenario['teardown']['returncode'] == 0
    done = results(scenario['teardown'])
    deleted = done['Delete the volumes']['results']
    assert [item['changed'] for item in deleted] == [True, False, True,
                                                     True, True]
    assert done['Delete the snapshot']['changed'] is True
    assert done['What the backend holds']['volumes'] == []
    assert stats(scenario['teardown again'])['changed'] == 0
    assert scenario['volumes left'] == []
