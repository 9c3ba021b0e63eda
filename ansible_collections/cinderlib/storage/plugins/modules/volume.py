#!/usr/bin/python
# Copyright: cinderlib developers
# Apache License 2.0 (see LICENSE at the root of the cinderlib repository)

from __future__ import annotations

DOCUMENTATION = r"""
module: volume
short_description: Create, grow, rename and delete volumes of a Cinder driver
version_added: 1.0.0
description:
  - Manages one volume of a storage backend through the cinderlib library,
    which runs OpenStack Cinder's volume drivers without Cinder services.
  - With I(state=present) the volume is created if missing (empty, from a
    I(snapshot) or as a clone of I(source_volume)), grown to I(size), and
    its I(name) (when found by I(id)), I(description) and I(metadata) are
    updated.  Volumes never shrink, a smaller I(size) fails.
  - With I(state=absent) the volume is deleted (the library refuses while
    it has snapshots or connections).
author:
  - cinderlib developers (@cinderlib)
options:
  name:
    description:
      - The volume's name.  The volume is found by it unless I(id) is given;
        with I(id), a different I(name) renames the volume.
    type: str
  id:
    description:
      - The volume's id (a UUID unless C(setup.non_uuid_ids)); a volume
        created with it gets this id.
    type: str
  size:
    description:
      - Size in GiB.  Required to create an empty volume; a volume from a
        snapshot or a clone defaults to the size of its source.
      - A larger size than the volume's grows it; a smaller one fails.
    type: int
  description:
    description:
      - The volume's description.
    type: str
  metadata:
    description:
      - The volume's metadata (strings); when given, the volume's metadata
        becomes exactly this.
    type: dict
  extra_specs:
    description:
      - Volume type extra specs the driver sees (C(thin_provisioning_support),
        C(multiattach)...).  Set at creation; a volume whose specs differ
        fails, since the library cannot retype a volume.
    type: dict
  qos_specs:
    description:
      - QoS specs (consumer C(back-end)) the driver sees.  Set at creation,
        like I(extra_specs).
    type: dict
  pool_name:
    description:
      - The backend pool to create the volume in; the first pool when not
        given.
    type: str
  snapshot:
    description:
      - Create the volume from this snapshot (its name or id, on this
        backend).  Only used when the volume is created.
    type: str
  source_volume:
    description:
      - Create the volume as a clone of this volume (its name or id, on
        this backend).  Only used when the volume is created.
    type: str
  state:
    description:
      - Whether the volume should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - cinderlib.storage.common
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
  action_group:
    description: Use C(group/cinderlib.storage.all) in C(module_defaults).
    membership:
      - cinderlib.storage.all
seealso:
  - module: cinderlib.storage.snapshot
  - module: cinderlib.storage.connection
  - module: cinderlib.storage.backend_info
"""

EXAMPLES = r"""
- name: A 10 GiB volume on a Ceph pool, state in a local SQLite file
  cinderlib.storage.volume:
    backend:
      volume_backend_name: ceph
      volume_driver: cinder.volume.drivers.rbd.RBDDriver
      rbd_pool: volumes
      rbd_user: cinder
      rbd_ceph_conf: /etc/ceph/ceph.conf
      rbd_keyring_conf: /etc/ceph/ceph.client.cinder.keyring
    persistence:
      storage: db
      connection: sqlite:////var/lib/cinderlib/state.sqlite
    name: data
    size: 10
    extra_specs:
      thin_provisioning_support: "<is> True"
    metadata:
      owner: web

- name: Grow it to 20 GiB (never shrinks)
  cinderlib.storage.volume:
    backend: "{{ ceph_backend }}"
    name: data
    size: 20

- name: A clone, one size larger
  cinderlib.storage.volume:
    backend: "{{ ceph_backend }}"
    name: data-copy
    source_volume: data
    size: 21

- name: Rename a volume found by its id
  cinderlib.storage.volume:
    backend: "{{ ceph_backend }}"
    id: 1b2cd9f0-a4e5-4a3c-9c4b-6a0e5d0f3a21
    name: data-old

- name: Delete it
  cinderlib.storage.volume:
    backend: "{{ ceph_backend }}"
    name: data-copy
    state: absent
"""

RETURN = r"""
volume:
  description: The volume (with I(state=present)); in check mode, what it
    would be (C(id) is null for a volume that would be created without one).
  returned: when state is present
  type: dict
  contains:
    id:
      description: The volume's id.
      type: str
      sample: 1b2cd9f0-a4e5-4a3c-9c4b-6a0e5d0f3a21
    name:
      description: The volume's name.
      type: str
      sample: data
    description:
      description: The volume's description.
      type: str
    size:
      description: Size in GiB.
      type: int
      sample: 10
    status:
      description: C(available), C(in-use) (connected), C(error)...
      type: str
      sample: available
    backend:
      description: The backend's I(volume_backend_name).
      type: str
      sample: ceph
    host:
      description: Cinder's C(host@backend#pool) of the volume.
      type: str
      sample: node-1@ceph#volumes
    pool_name:
      description: The pool the volume is in.
      type: str
      sample: volumes
    bootable:
      description: Whether the volume is marked bootable.
      type: bool
    metadata:
      description: The volume's metadata.
      type: dict
      sample: {owner: web}
    extra_specs:
      description: The extra specs of the volume's type.
      type: dict
    qos_specs:
      description: The QoS specs of the volume's type.
      type: dict
    snapshot_id:
      description: The snapshot the volume was created from, if any.
      type: str
    source_volume_id:
      description: The volume this one is a clone of, if any.
      type: str
    name_in_storage:
      description: The volume's name on the storage (C(volume-<id>)).
      type: str
      sample: volume-1b2cd9f0-a4e5-4a3c-9c4b-6a0e5d0f3a21
    created_at:
      description: When the volume was created (ISO 8601, UTC).
      type: str
      sample: '2025-01-31T10:00:00.123456+00:00'
"""

# After the documentation, as in every Ansible module.
from ansible_collections.cinderlib.storage.plugins.module_utils import common  # noqa: E402,E501


def main():
    module = common.new_module(
        {
            'name': {'type': 'str'},
            'id': {'type': 'str'},
            'size': {'type': 'int'},
            'description': {'type': 'str'},
            'metadata': {'type': 'dict'},
            'extra_specs': {'type': 'dict'},
            'qos_specs': {'type': 'dict'},
            'pool_name': {'type': 'str'},
            'snapshot': {'type': 'str'},
            'source_volume': {'type': 'str'},
            'state': {'type': 'str', 'default': 'present',
                      'choices': ['present', 'absent']},
        },
        required_one_of=[('name', 'id')],
        mutually_exclusive=[('snapshot', 'source_volume')],
    )
    backend = common.open_backend(module)
    params = module.params
    try:
        volume = common.find_volume(module, backend, params['name'],
                                    params['id'])
        if params['state'] == 'absent':
            result = absent(module, volume)
        elif volume is None:
            result = create(module, backend)
        else:
            result = update(module, volume)
    except Exception as exc:
        common.fail(module, exc)
    before = result.pop('before')
    if module._diff:
        result['diff'] = {'before': common.diff_of_volume(before),
                          'after': common.diff_of_volume(result.get('volume'))}
    module.exit_json(**result)


def absent(module, volume):
    if volume is None:
        return {'changed': False, 'before': None}
    before = common.volume_facts(volume)
    if not module.check_mode:
        volume.delete()
    return {'changed': True, 'before': before}


def create(module, backend):
    params = module.params
    arguments = {key: params[key] for key in (
        'name', 'description', 'metadata', 'extra_specs', 'qos_specs',
        'pool_name', 'id', 'size') if params[key] is not None}
    source = None
    if params['snapshot'] is not None:
        source = common.snapshot_by_reference(module, backend,
                                              params['snapshot'])
    elif params['source_volume'] is not None:
        source = common.volume_by_reference(module, backend,
                                            params['source_volume'])
    elif params['size'] is None:
        module.fail_json(msg='Invalid size: required to create volume '
                             f'{params["name"] or params["id"]!r}')
    if module.check_mode:
        return {'changed': True, 'before': None,
                'volume': _planned_volume(backend, source, arguments)}
    if isinstance(source, common.cinderlib.Snapshot):
        volume = source.create_volume(**arguments)
    elif source is not None:
        volume = source.clone(**arguments)
    else:
        volume = backend.create_volume(arguments.pop('size'), **arguments)
    return {'changed': True, 'before': None,
            'volume': common.volume_facts(volume)}


def _planned_volume(backend, source, arguments):
    """The facts of the volume create() would make, from a volume object
    that is not created: the library checks the arguments as for a real
    one."""
    cinderlib = common.cinderlib
    if isinstance(source, cinderlib.Snapshot):
        arguments.setdefault('size', source.volume_size)
        volume = cinderlib.Volume(source.volume, **arguments)
    else:
        volume = cinderlib.Volume(source or backend, **arguments)
    facts = common.volume_facts(volume)
    facts.update(status='creating', created_at=None)
    if isinstance(source, cinderlib.Snapshot):
        facts['snapshot_id'] = source.id
    elif source is not None:
        facts['source_volume_id'] = source.id
    if 'id' not in arguments:
        facts.update(id=None, name_in_storage=None)
    return facts


def _planned_changes(module, volume, before):
    """{field: new value} of what differs; fails on what cannot change."""
    params = module.params
    changes = {}
    size = params['size']
    if size is not None and size < 1:
        raise common.cinderlib.exception.InvalidArgument(
            'size', f'must be at least 1 GiB, got {size}')
    if size is not None and size < volume.size:
        raise common.cinderlib.exception.InvalidArgument(
            'size', f'volume {volume.id} has {volume.size} GiB and volumes '
                    f'never shrink, got {size}')
    if size is not None and size > volume.size:
        changes['size'] = size
    if params['id'] is not None and params['name'] is not None and \
            params['name'] != volume.name:
        changes['name'] = params['name']
    if params['description'] is not None and \
            params['description'] != volume.description:
        changes['description'] = params['description']
    if params['metadata'] is not None:
        metadata = {key: str(value)
                    for key, value in params['metadata'].items()}
        if metadata != before['metadata']:
            changes['metadata'] = metadata
    for field in ('extra_specs', 'qos_specs', 'pool_name'):
        wanted = params[field]
        if isinstance(wanted, dict):
            wanted = {key: str(value) for key, value in wanted.items()}
        if wanted is not None and wanted != before[field]:
            raise common.cinderlib.exception.InvalidArgument(
                field, f'volume {volume.id} has {before[field]!r}, and the '
                       f'library cannot change it on an existing volume')
    return changes


def update(module, volume):
    before = common.volume_facts(volume)
    if volume.status == 'error':
        raise common.cinderlib.exception.InvalidVolume(
            reason=f'volume {volume.id} is in status error: delete it '
                   f'(state: absent) and create it again')
    changes = _planned_changes(module, volume, before)
    if not changes:
        return {'changed': False, 'before': before, 'volume': before}
    if module.check_mode:
        return {'changed': True, 'before': before,
                'volume': dict(before, **changes)}
    if 'size' in changes:
        volume.extend(changes['size'])
    if changes.keys() - {'size'}:
        if 'name' in changes:
            volume.name = changes['name']
        if 'description' in changes:
            volume.description = changes['description']
        if 'metadata' in changes:
            volume._ovo.metadata = changes['metadata']
        volume.save()
    return {'changed': True, 'before': before,
            'volume': common.volume_facts(volume)}


if __name__ == '__main__':
    main()
