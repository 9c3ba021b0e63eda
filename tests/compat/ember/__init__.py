"""Ember-CSI 0.9.1, run unmodified on this library.

``test_ember_csi.py`` starts Ember-CSI's plugin processes from a
virtualenv that ``venv.py`` builds once (about a minute; kept under
``~/.cache/cinderlib-tests``, or ``$CINDERLIB_TEST_CACHE``) and drives
them over CSI v1.1 (``csi_client.py``).  Its CRD persistence plugin talks
to ``fake_kube.py``.  Staging and publishing a volume on the node needs
root (bind mounts, in a private mount namespace) and ``/dev/shm``.

Under CI (``CI`` set), a virtualenv that cannot be built fails the tests;
elsewhere they are skipped, saying why.
"""
