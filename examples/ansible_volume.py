#!/usr/bin/env python3
"""An Ansible-style module managing one volume, idempotently.

It reads its arguments as JSON (a file path as first argument, as Ansible
passes them, or standard input) and prints a JSON result::

    {"backend": {"volume_backend_name": "files",
                 "volume_driver": "cinderlib.drivers.file.FileVolumeDriver",
                 "file_volumes_dir": "/var/lib/volumes"},
     "persistence": {"storage": "db",
                     "connection": "sqlite:////var/lib/cinderlib.db"},
     "name": "data", "size": 10, "state": "present",
     "extra_specs": {"thin": "true"}}

``state: present`` creates the volume (or grows it to ``size``);
``state: absent`` deletes it.  Running it twice changes nothing the second
time (``"changed": false``).
"""

import json
import sys

import cinderlib


def volume_facts(volume):
    return {'id': volume.id, 'name': volume.name, 'size': volume.size,
            'status': volume.status}


def run(params):
    backend_options = dict(params['backend'])
    cinderlib.setup(persistence_config=params.get('persistence'))
    backend = cinderlib.Backend(backend_options.pop('volume_backend_name'),
                                **backend_options)
    state = params.get('state', 'present')
    found = backend.volumes_filtered(volume_name=params['name'])
    if state == 'absent':
        for volume in found:
            volume.delete()
        return {'changed': bool(found)}
    if state != 'present':
        raise ValueError(f"state must be 'present' or 'absent', got "
                         f"{state!r}")
    if not found:
        volume = backend.create_volume(
            params['size'], name=params['name'],
            extra_specs=params.get('extra_specs'))
        return {'changed': True, 'volume': volume_facts(volume)}
    volume = found[0]
    changed = params['size'] > volume.size
    if changed:
        volume.extend(params['size'])
    return {'changed': changed, 'volume': volume_facts(volume)}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv:
            with open(argv[0]) as args_file:
                params = json.load(args_file)
        else:
            params = json.load(sys.stdin)
        result = run(params)
    except Exception as exc:
        result = {'failed': True, 'msg': f'{type(exc).__name__}: {exc}'}
    print(json.dumps(result))
    return 1 if result.get('failed') else 0


if __name__ == '__main__':
    sys.exit(main())
