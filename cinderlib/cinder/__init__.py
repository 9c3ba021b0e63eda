"""Every dependency of cinderlib on Cinder's internals, in one package.

When Cinder changes, this is the package to read; it is the only one that
imports ``cinder`` (``tests/unit/test_layers.py`` checks it), and it does
so lazily: importing it imports no Cinder module.

- ``config``: loading Cinder, oslo.config (``[DEFAULT]`` options, one
  group per backend, secrets), Cinder's privsep settings, the request
  context;
- ``drivers``: importing, building and setting up drivers, Cinder's
  coordinator;
- ``ovo``: Cinder's versioned objects, built, filled, tracked, and turned
  into primitives and back;
- ``primitives``: the one validator of primitives;
- ``db_shim``: the DB API drivers and Cinder's objects call, served from
  the persistence plugin;
- ``listing``: the installed drivers, described;
- ``deferred``: Cinder's import, trimmed (modules no driver uses run on
  first use);
- ``rbd_connections``: the RBD driver's cluster connection, kept open.
- ``manageable``: what adopting and releasing storage objects needs
  (whether a driver implements it, the listing arguments).
"""
