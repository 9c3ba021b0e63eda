"""The examples in examples/ run and do what they say."""

import json
import os
import subprocess
import sys

import pytest

import cinderlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'examples'))

import csi_flow  # noqa: E402


@pytest.fixture
def module_args(tmp_path):
    return {'backend': {
        'volume_backend_name': 'files',
        'volume_driver': 'cinderlib.drivers.file.FileVolumeDriver',
        'file_volumes_dir': str(tmp_path / 'volumes')},
        'persistence': {'storage': 'db',
                        'connection': f'sqlite:///{tmp_path}/state.db'},
        'name': 'data', 'size': 1}


def run_module(args, tmp_path):
    args_file = tmp_path / 'args.json'
    args_file.write_text(json.dumps(args))
    done = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'examples', 'ansible_volume.py'),
         str(args_file)], capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=ROOT))
    return done.returncode, json.loads(done.stdout)


def test_ansible_module_is_idempotent(module_args, tmp_path):
    status, first = run_module(module_args, tmp_path)
    assert status == 0 and first['changed'] is True
    assert first['volume']['size'] == 1
    status, second = run_module(module_args, tmp_path)
    assert second == dict(first, changed=False)
    status, grown = run_module(dict(module_args, size=2), tmp_path)
    assert grown['changed'] is True and grown['volume']['size'] == 2
    status, gone = run_module(dict(module_args, state='absent'), tmp_path)
    assert gone == {'changed': True}
    status, again = run_module(dict(module_args, state='absent'), tmp_path)
    assert again == {'changed': False}
    assert os.listdir(tmp_path / 'volumes') == []


def test_ansible_module_reports_failures(module_args, tmp_path):
    status, result = run_module(dict(module_args, size=0), tmp_path)
    assert status == 1 and result['failed'] is True
    assert 'size' in result['msg']


def test_csi_flow(tmp_path):
    cinderlib.setup(state_path=str(tmp_path), persistence_config={
        'storage': 'memory'})
    backend = cinderlib.Backend(
        'csi', volume_driver='cinderlib.drivers.file.FileVolumeDriver',
        file_volumes_dir=str(tmp_path / 'volumes'))
    node = csi_flow.Node('node-7')
    assert node.publish_connector()['host'] == 'node-7'
    controller = csi_flow.Controller(backend)
    volume = controller.create_volume('pvc', 1)
    assert controller.create_volume('pvc', 1) is volume
    with pytest.raises(ValueError):
        controller.create_volume('pvc', 2)
    info = controller.publish(volume.id, 'node-7')
    assert info['connector']['host'] == 'node-7'
    assert controller.publish(volume.id, 'node-7') == info
    assert volume.status == 'in-use'
    controller.unpublish(volume.id, 'node-7')
    assert volume.status == 'available'
    controller.delete_volume(volume.id)
    controller.delete_volume(volume.id)
    assert backend.volumes == []


def test_csi_flow_script(tmp_path):
    done = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'examples', 'csi_flow.py'),
         str(tmp_path)], capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=ROOT))
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'volumes left: 0' in done.stdout
