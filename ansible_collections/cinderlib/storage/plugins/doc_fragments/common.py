# Copyright: cinderlib developers
# Apache License 2.0 (see LICENSE at the root of the cinderlib repository)
"""The options every module of cinderlib.storage takes: which backend, where
the state is kept, and the library's process-wide settings."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  backend:
    description:
      - The storage backend, as the keyword arguments of C(cinderlib.Backend).
        C(volume_backend_name) (a name of your choice, unique among the hosts
        that share one I(persistence)), C(volume_driver) (the driver's dotted
        class path) and the driver's options exactly as in a C(cinder.conf)
        backend section (C(rbd_pool), C(san_ip)...).
      - Put the driver's passwords and tokens in I(backend_secrets), which
        Ansible keeps out of its logs and output.  A value given here under
        a name that looks secret (C(*password), C(*token), C(*secret)...) is
        masked in the module's result, with a warning.
    type: dict
    required: true
  backend_secrets:
    description:
      - Driver options that are secrets (C(san_password), API tokens...),
        merged into I(backend).  Marked C(no_log).
    type: dict
  persistence:
    description:
      - Where the library keeps what it knows of volumes, snapshots and
        connections, the C(persistence_config) of C(cinderlib.setup), for
        example C(storage=db) and C(connection=sqlite:////var/lib/app/state.db)
        (or a PostgreSQL or MySQL URL).
      - Each task is a new process, so the C(memory) plugins forget
        everything between tasks; use C(db).
      - Defaults to the SQLite file the C(cinderlib) command uses,
        C($XDG_STATE_HOME/cinderlib/state.sqlite), by default
        C(~/.local/state/cinderlib/state.sqlite).
      - A password in a database URL is masked in the module's result.
    type: dict
  setup:
    description:
      - Other keyword arguments of C(cinderlib.setup) (C(host),
        C(coordination_backend_url), C(non_uuid_ids), C(root_helper),
        Cinder C([DEFAULT]) options...).
      - C(state_path), where drivers and locks keep their files, defaults to
        the directory of the default I(persistence) file (created private);
        C(fail_on_missing_backend) defaults to C(false), so that objects of
        other backends sharing the I(persistence) do not stop a look-up.
    type: dict
    default: {}
requirements:
  - Python 3.11 or later and the C(cinderlib) library on the managed host
    (run the modules with the interpreter it is installed for, see
    C(ansible_python_interpreter)).
notes:
  - Volumes and snapshots are found by I(name) on this I(backend); when
    several have the same name, give their I(id).
  - Sizes are in GiB.
  - Check mode loads the backend (which may create its state file and the
    driver's directories) but creates, changes and deletes nothing.
"""
