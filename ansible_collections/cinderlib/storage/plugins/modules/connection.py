#!/usr/bin/python
# Copyright: cinderlib developers
# Apache License 2.0 (see LICENSE at the root of the cinderlib repository)

from __future__ import annotations

DOCUMENTATION = r"""
module: connection
short_description: Export a volume of a Cinder driver to a host, or stop
  exporting it
version_added: 1.0.0
description:
  - Exports (I(state=present)) a volume to the host an os-brick connector
    dict describes, as Cinder does before a host attaches a volume, and
    returns the C(connection_info) that host needs to attach it; or ends
    the export (I(state=absent)).
  - One connection per host. A volume already connected to the
    connector's C(host) is left as it is (to change the connection, remove
    it first).
  - This module does not attach the volume on the host (os-brick
    C(connect_volume)); the host does, with the returned
    C(connection_info).
author:
  - cinderlib developers (@cinderlib)
options:
  volume:
    description:
      - The name or id of the volume.
    type: str
    required: true
  connector:
    description:
      - The host's os-brick connector properties (C(host), C(initiator),
        C(ip), C(wwpns), C(multipath)...), as
        C(cinderlib.get_connector_properties) gives them on that host.
      - C(host) is required; it identifies the connection.  With
        I(state=absent) only C(host) is read.
    type: dict
    required: true
  attach_mode:
    description:
      - C(rw) or C(ro) (read-only) for a new connection; the driver's
        default when not given.
    type: str
    choices: [rw, ro]
  show_credentials:
    description:
      - Return the credentials of C(connection_info) (CHAP passwords, Ceph
        keyrings...) as they are.  By default they are masked, like
        C(no_log) values; with C(true), set C(no_log) on the task.
    type: bool
    default: false
  state:
    description:
      - Whether the volume should be exported to the host.
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
- name: Export the volume data to node-1 over iSCSI
  cinderlib.storage.connection:
    backend: "{{ array_backend }}"
    backend_secrets:
      san_password: "{{ vault_array_password }}"
    volume: data
    connector:
      host: node-1
      initiator: iqn.1993-08.org.debian:01:2f5c4c3b6a1
      ip: 192.0.2.10
      multipath: false
    show_credentials: true
  no_log: true
  register: export

- name: Stop exporting it to node-1
  cinderlib.storage.connection:
    backend: "{{ array_backend }}"
    backend_secrets:
      san_password: "{{ vault_array_password }}"
    volume: data
    connector:
      host: node-1
    state: absent
"""

RETURN = r"""
connection:
  description: The connection (with I(state=present)); in check mode, for a
    connection that would be made, its C(id) and C(connection_info) are
    null.
  returned: when state is present
  type: dict
  contains:
    id:
      description: The connection's id.
      type: str
    volume_id:
      description: The volume's id.
      type: str
    host:
      description: The connector's C(host).
      type: str
      sample: node-1
    protocol:
      description: The driver's C(driver_volume_type) (C(iscsi), C(rbd),
        C(fibre_channel), C(local)...).
      type: str
      sample: iscsi
    attach_mode:
      description: C(rw) or C(ro).
      type: str
      sample: rw
    status:
      description: The connection's C(attach_status).
      type: str
      sample: attached
connection_info:
  description:
    - What the host needs to attach the volume with os-brick
      (C(conn) is the driver's C(initialize_connection) result,
      C(connector) the connector, C(device) the attached device if any).
    - Credentials in it are masked unless I(show_credentials=true).
  returned: when state is present (null in check mode for a new connection)
  type: dict
  sample:
    conn:
      driver_volume_type: iscsi
      data:
        target_iqn: iqn.2010-10.org.openstack:volume-1b2cd9f0
        target_portal: 192.0.2.1:3260
        target_lun: 0
        auth_method: CHAP
        auth_username: user
        auth_password: VALUE_SPECIFIED_IN_NO_LOG_PARAMETER
        access_mode: rw
    connector:
      host: node-1
      initiator: iqn.1993-08.org.debian:01:2f5c4c3b6a1
    device: null
"""

# After the documentation, as in every Ansible module.
from ansible_collections.cinderlib.storage.plugins.module_utils import common  # noqa: E402,E501


def main():
    module = common.new_module(
        {
            'volume': {'type': 'str', 'required': True},
            'connector': {'type': 'dict', 'required': True},
            'attach_mode': {'type': 'str', 'choices': ['rw', 'ro']},
            'show_credentials': {'type': 'bool', 'default': False},
            'state': {'type': 'str', 'default': 'present',
                      'choices': ['present', 'absent']},
        },
    )
    params = module.params
    host = params['connector'].get('host')
    if not isinstance(host, str) or not host:
        module.fail_json(msg="Invalid connector: it must have a 'host' "
                             "(a string)")
    backend = common.open_backend(module)
    try:
        if params['state'] == 'absent':
            result = absent(module, backend, host)
        else:
            result = present(module, backend, host)
    except Exception as exc:
        common.fail(module, exc)
    before, after = result.pop('before'), result.get('connection')
    if module._diff:
        result['diff'] = {'before': _diff(before, host),
                          'after': _diff(after, host)}
    module.exit_json(**result)


def _diff(facts, host):
    if not facts:
        return {'host': host, 'connected': False}
    return {'host': host, 'connected': True,
            'volume_id': facts['volume_id'],
            'attach_mode': facts['attach_mode']}


def absent(module, backend, host):
    reference = module.params['volume']
    volume = (common.find_volume(module, backend, volume_id=reference) or
              common.find_volume(module, backend, name=reference))
    existing = common.connections_of_host(volume, host) if volume else []
    if not existing:
        return {'changed': False, 'before': None}
    before = common.connection_facts(existing[0])
    common.mask_credentials(module, before['connection_info'])
    if not module.check_mode:
        for connection in existing:
            connection.disconnect()
    return {'changed': True, 'before': before}


def present(module, backend, host):
    params = module.params
    volume = common.volume_by_reference(module, backend, params['volume'])
    existing = common.connections_of_host(volume, host)
    if existing:
        facts = common.connection_facts(existing[0])
        changed = False
    elif module.check_mode:
        backend.validate_connector(params['connector'])
        facts = {'id': None, 'volume_id': volume.id, 'host': host,
                 'protocol': None,
                 'attach_mode': params['attach_mode'] or 'rw',
                 'status': 'attaching', 'connection_info': None}
        changed = True
    else:
        options = {}
        if params['attach_mode']:
            options['attach_mode'] = params['attach_mode']
        facts = common.connection_facts(
            volume.connect(params['connector'], **options))
        changed = True
    if not params['show_credentials']:
        common.mask_credentials(module, facts['connection_info'])
    connection_info = facts.pop('connection_info')
    return {'changed': changed, 'before': facts if not changed else None,
            'connection': facts, 'connection_info': connection_info}


if __name__ == '__main__':
    main()
