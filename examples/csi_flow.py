#!/usr/bin/env python3
"""The flow of a CSI-style plugin built on cinderlib.

A node plugin publishes its host's os-brick connector as a ``KeyValue``;
the controller creates volumes (idempotently, by name), publishes them to
a node by connecting them with that node's connector, and unpublishes and
deletes them.  State lives in the persistence plugin shared by both.

    python examples/csi_flow.py DIR     # runs the flow on a file backend
"""

import json
import sys

import cinderlib


class Node:
    """The node side: makes its connector known to the controller."""

    def __init__(self, node_id):
        self.node_id = node_id

    def publish_connector(self):
        connector = cinderlib.get_connector_properties(
            'sudo', '127.0.0.1', multipath=False, enforce_multipath=False,
            host=self.node_id)
        cinderlib.Backend.persistence.set_key_value(
            cinderlib.KeyValue(self.node_id, json.dumps(connector)))
        return connector


class Controller:
    """The controller side: CreateVolume, ControllerPublishVolume..."""

    def __init__(self, backend):
        self.backend = backend

    def create_volume(self, name, size_gib):
        existing = self.backend.volumes_filtered(volume_name=name)
        if existing:
            if existing[0].size != size_gib:
                raise ValueError(f'volume {name} exists with another size')
            return existing[0]
        return self.backend.create_volume(size_gib, name=name)

    def publish(self, volume_id, node_id):
        volume = cinderlib.Volume.get_by_id(volume_id)
        for connection in volume.connections:
            if connection.connector_info.get('host') == node_id:
                return connection.connection_info  # already published
        [published] = cinderlib.Backend.persistence.get_key_values(node_id)
        connection = volume.connect(json.loads(published.value))
        return connection.connection_info

    def unpublish(self, volume_id, node_id):
        volume = cinderlib.Volume.get_by_id(volume_id)
        for connection in list(volume.connections):
            if connection.connector_info.get('host') == node_id:
                connection.disconnect()

    def delete_volume(self, volume_id):
        try:
            cinderlib.Volume.get_by_id(volume_id).delete()
        except cinderlib.exception.VolumeNotFound:
            pass  # deleting twice succeeds, as CSI requires


def main(directory):
    cinderlib.setup(state_path=directory, persistence_config={
        'storage': 'db', 'connection': f'sqlite:///{directory}/csi.db'})
    backend = cinderlib.Backend(
        'csi', volume_driver='cinderlib.drivers.file.FileVolumeDriver',
        file_volumes_dir=f'{directory}/volumes')
    Node('node-1').publish_connector()
    controller = Controller(backend)
    volume = controller.create_volume('pvc-1', 1)
    assert controller.create_volume('pvc-1', 1).id == volume.id
    info = controller.publish(volume.id, 'node-1')
    print('published:', info['conn']['driver_volume_type'],
          info['conn']['data'])
    controller.unpublish(volume.id, 'node-1')
    controller.delete_volume(volume.id)
    controller.delete_volume(volume.id)
    print('deleted; volumes left:', len(backend.volumes))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
