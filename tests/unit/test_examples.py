"""The examples in examples/ run and do what they say."""

import os
import subprocess
import sys

import pytest

import cinderlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'examples'))

import csi_flow  # noqa: E402


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
