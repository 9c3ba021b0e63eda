#!/usr/bin/python
# Copyright: cinderlib developers
# Apache License 2.0 (see LICENSE at the root of the cinderlib repository)

from __future__ import annotations

DOCUMENTATION = r"""
module: snapshot
short_description: Create and delete snapshots of volumes of a Cinder driver
version_added: 1.0.0
description:
  - Manages one snapshot of a volume through the cinderlib library.
  - With I(state=present) the snapshot of I(volume) is created if missing;
    with I(state=absent) it is deleted.
author:
  - cinderlib developers (@cinderlib)
options:
  name:
    description:
      - The snapshot's name.  The snapshot is found by it (among the
        snapshots of I(volume) when given) unless I(id) is given.
    type: str
  id:
    description:
      - The snapshot's id; a snapshot created with it gets this id.
    type: str
  volume:
    description:
      - The name or id of the volume to snapshot (required to create the
        snapshot).
    type: str
  description:
    description:
      - The snapshot's description, set at creation.
    type: str
  metadata:
    description:
      - The snapshot's metadata (strings), set at creation.
    type: dict
  state:
    description:
      - Whether the snapshot should exist.
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
  - module: cinderlib.storage.volume
"""

EXAMPLES = r"""
- name: Snapshot the volume data before an upgrade
  cinderlib.storage.snapshot:
    backend: "{{ ceph_backend }}"
    volume: data
    name: before-upgrade

- name: A new volume with the snapshot's data
  cinderlib.storage.volume:
    backend: "{{ ceph_backend }}"
    name: data-restored
    snapshot: before-upgrade

- name: Delete the snapshot
  cinderlib.storage.snapshot:
    backend: "{{ ceph_backend }}"
    volume: data
    name: before-upgrade
    state: absent
"""

RETURN = r"""
snapshot:
  description: The snapshot (with I(state=present)); in check mode, what it
    would be (C(id) is null for a snapshot that would be created without
    one).
  returned: when state is present
  type: dict
  contains:
    id:
      description: The snapshot's id.
      type: str
      sample: 5e8d6f21-1c2b-4b8e-9a37-0b1e5f3d2c10
    name:
      description: The snapshot's name.
      type: str
      sample: before-upgrade
    description:
      description: The snapshot's description.
      type: str
    volume_id:
      description: The id of the snapshot's volume.
      type: str
    volume_size:
      description: The volume's size in GiB when the snapshot was taken.
      type: int
      sample: 10
    status:
      description: C(available), C(error)...
      type: str
      sample: available
    backend:
      description: The backend's I(volume_backend_name).
      type: str
      sample: ceph
    created_at:
      description: When the snapshot was taken (ISO 8601, UTC).
      type: str
"""

# After the documentation, as in every Ansible module.
from ansible_collections.cinderlib.storage.plugins.module_utils import common  # noqa: E402,E501


def main():
    module = common.new_module(
        {
            'name': {'type': 'str'},
            'id': {'type': 'str'},
            'volume': {'type': 'str'},
            'description': {'type': 'str'},
            'metadata': {'type': 'dict'},
            'state': {'type': 'str', 'default': 'present',
                      'choices': ['present', 'absent']},
        },
        required_one_of=[('name', 'id')],
    )
    backend = common.open_backend(module)
    params = module.params
    try:
        volume = _volume(module, backend)
        if volume is None and params['volume'] is not None:
            found = []  # state=absent, and the volume is gone too
        else:
            found = common.find_snapshots(backend, params['name'],
                                          params['id'], volume)
        if len(found) > 1:
            module.fail_json(msg=f'{len(found)} snapshots are named '
                                 f'{params["name"]!r}: give the id of one '
                                 f'(or the volume)')
        snapshot = found[0] if found else None
        if params['state'] == 'absent':
            result = absent(module, snapshot)
        elif snapshot is None:
            result = create(module, volume)
        else:
            before = common.snapshot_facts(snapshot)
            result = {'changed': False, 'before': before, 'snapshot': before}
    except Exception as exc:
        common.fail(module, exc)
    before = result.pop('before')
    if module._diff:
        result['diff'] = {'before': _diff(before),
                          'after': _diff(result.get('snapshot'))}
    module.exit_json(**result)


def _volume(module, backend):
    """The volume option's volume: None if not given, or not found with
    state=absent (which then has nothing to do)."""
    reference = module.params['volume']
    if reference is None:
        return None
    if module.params['state'] == 'present':
        return common.volume_by_reference(module, backend, reference)
    return (common.find_volume(module, backend, volume_id=reference) or
            common.find_volume(module, backend, name=reference))


def _diff(facts):
    if not facts:
        return {}
    return {field: facts[field] for field in ('id', 'name', 'volume_id')}


def absent(module, snapshot):
    if snapshot is None:
        return {'changed': False, 'before': None}
    before = common.snapshot_facts(snapshot)
    if not module.check_mode:
        snapshot.delete()
    return {'changed': True, 'before': before}


def create(module, volume):
    params = module.params
    if volume is None:
        module.fail_json(msg='Invalid volume: required to create snapshot '
                             f'{params["name"] or params["id"]!r}')
    arguments = {key: params[key] for key in (
        'name', 'id', 'description', 'metadata') if params[key] is not None}
    if module.check_mode:
        # Not created: the library only checks the arguments.
        facts = common.snapshot_facts(
            common.cinderlib.Snapshot(volume, **arguments))
        facts.update(status='creating', created_at=None)
        if params['id'] is None:
            facts['id'] = None
        return {'changed': True, 'before': None, 'snapshot': facts}
    snapshot = volume.create_snapshot(**arguments)
    return {'changed': True, 'before': None,
            'snapshot': common.snapshot_facts(snapshot)}


if __name__ == '__main__':
    main()
