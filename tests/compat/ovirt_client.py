"""A client shaped like oVirt engine's ``cinderlib-client.py``: one process
per operation, state in a database.

    python ovirt_client.py COMMAND DRIVER_JSON DB_URL [ARGS...]

Each run sets the library up with the ``db`` persistence plugin, builds
the backend from the driver's JSON, does one operation, prints its result
(if any) on stdout, and exits 0; on failure it prints ``str(exception)``
on stderr and exits 1.  The engine reads both streams together, so
nothing else may be printed.
"""

import json
import sys

import cinderlib


def _volume(backend, volume_id):
    return backend.volumes_filtered(volume_id=volume_id)[0]


def create_volume(backend, volume_id, size):
    backend.create_volume(int(size), id=volume_id)
    backend.refresh()


def delete_volume(backend, volume_id):
    _volume(backend, volume_id).delete()


def connect_volume(backend, volume_id, connector_json):
    connector = json.loads(connector_json)
    volume = _volume(backend, volume_id)
    for connection in volume.connections:
        if connection.connector_info.get('host') == connector.get('host'):
            break
    else:
        connection = volume.connect(connector)
    return json.dumps(connection.connection_info['conn'])


def disconnect_volume(backend, volume_id):
    volume = _volume(backend, volume_id)
    for connection in volume.connections:
        connection.disconnect()


def extend_volume(backend, volume_id, size):
    _volume(backend, volume_id).extend(int(size))


def clone_volume(backend, volume_id, clone_id):
    _volume(backend, volume_id).clone(id=clone_id)


def storage_stats(backend, refresh):
    # The engine passes the argument on as it came: a string.
    return json.dumps(backend.stats(refresh=refresh))


def save_device(backend, volume_id, device_json):
    volume = _volume(backend, volume_id)
    volume.connections[0].device_attached(json.loads(device_json))


def get_connection_info(backend, volume_id):
    volume = _volume(backend, volume_id)
    return json.dumps(volume.connections[0].connection_info)


COMMANDS = {function.__name__: function for function in (
    create_volume, delete_volume, connect_volume, disconnect_volume,
    extend_volume, clone_volume, storage_stats, save_device,
    get_connection_info)}


def main(argv):
    command, driver_json, db_url, *args = argv
    try:
        cinderlib.setup(persistence_config={'storage': 'db',
                                            'connection': db_url})
        backend = cinderlib.Backend(**json.loads(driver_json))
        result = COMMANDS[command](backend, *args)
    except Exception as exc:
        sys.stderr.write(f'{exc}\n')
        return 1
    if result is not None:
        sys.stdout.write(f'{result}\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
