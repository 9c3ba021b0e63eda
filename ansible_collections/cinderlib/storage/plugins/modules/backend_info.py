#!/usr/bin/python
# Copyright: cinderlib developers
# Apache License 2.0 (see LICENSE at the root of the cinderlib repository)

from __future__ import annotations

DOCUMENTATION = r"""
module: backend_info
short_description: Stats, pools, volumes, snapshots and connections of a
  Cinder driver's backend
version_added: 1.0.0
description:
  - Reports a backend's driver stats and pools, and the volumes, snapshots
    and connections the library knows on it.  It never changes anything.
author:
  - cinderlib developers (@cinderlib)
options:
  refresh:
    description:
      - Ask the driver for fresh stats (capacity...) rather than those it
        gave when the backend was loaded.
    type: bool
    default: true
extends_documentation_fragment:
  - cinderlib.storage.common
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: The module never changes anything.
  diff_mode:
    support: none
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
- name: What is on the Ceph backend
  cinderlib.storage.backend_info:
    backend: "{{ ceph_backend }}"
  register: ceph

- name: Free space of each pool
  ansible.builtin.debug:
    msg: "{{ item.pool_name }}: {{ item.free_capacity_gb }} GiB free"
  loop: "{{ ceph.stats.pools }}"
"""

RETURN = r"""
backend:
  description: The backend.
  returned: always
  type: dict
  contains:
    name:
      description: Its I(volume_backend_name).
      type: str
      sample: ceph
    volume_driver:
      description: The driver's class path.
      type: str
      sample: cinder.volume.drivers.rbd.RBDDriver
    pool_names:
      description: Its pools.
      type: list
      elements: str
      sample: [volumes]
stats:
  description: The driver's stats (C(get_volume_stats)), with C(pools), a
    list of dicts with C(pool_name), C(total_capacity_gb),
    C(free_capacity_gb)... (one pool named after the backend when the
    driver reports none).
  returned: always
  type: dict
volumes:
  description: The backend's volumes, with the fields the
    M(cinderlib.storage.volume) module returns.
  returned: always
  type: list
  elements: dict
snapshots:
  description: Their snapshots, with the fields the
    M(cinderlib.storage.snapshot) module returns.
  returned: always
  type: list
  elements: dict
connections:
  description: Their connections, with the fields the
    M(cinderlib.storage.connection) module returns, and C(connection_info)
    with its credentials masked.
  returned: always
  type: list
  elements: dict
"""

# After the documentation, as in every Ansible module.
from ansible_collections.cinderlib.storage.plugins.module_utils import common  # noqa: E402,E501


def main():
    module = common.new_module({'refresh': {'type': 'bool',
                                            'default': True}})
    backend = common.open_backend(module)
    try:
        stats = backend.stats(refresh=module.params['refresh'])
        volumes, snapshots, connections = [], [], []
        for volume in backend.volumes:
            volumes.append(common.volume_facts(volume))
            snapshots.extend(common.snapshot_facts(snapshot)
                             for snapshot in volume.snapshots)
            connections.extend(common.connection_facts(connection)
                               for connection in volume.connections)
    except Exception as exc:
        common.fail(module, exc)
    for connection in connections:
        common.mask_credentials(module, connection['connection_info'])
    module.exit_json(
        changed=False,
        backend={'name': backend.id,
                 'volume_driver': module.params['backend']['volume_driver'],
                 'pool_names': list(backend.pool_names)},
        stats=stats, volumes=volumes, snapshots=snapshots,
        connections=connections)


if __name__ == '__main__':
    main()
