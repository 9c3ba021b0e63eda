#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it:
# a virtualenv in .venv with the project and its test tools, the flake8
# style check, mypy, the Sphinx docs (warnings are errors) and their
# examples (sphinx -b doctest), pytest (unit, persistence on real databases,
# locks across processes and hosts, functional on the file backend and a
# real Ceph cluster) and a check of the built packages.  Extra arguments go
# to pytest.
set -euo pipefail
# Servers the tests need (databases, Redis, Ceph) are started by the tests;
# under CI one that cannot start fails its tests instead of skipping them.
export CI=${CI:-true}
cd "$(dirname "$0")/.."

# mkfs.xfs lets the file driver's copy-on-write test mount an XFS loop file.
if [ "$(id -u)" = 0 ] && ! command -v mkfs.xfs >/dev/null; then
    apt-get update -qq >/dev/null && \
        apt-get install -y -qq xfsprogs >/dev/null || \
        echo 'warning: could not install xfsprogs; the reflink test skips'
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test,docs]'
# Ceph's bindings must be importable when the tests start: Cinder's RBD
# driver and os-brick look for them once, at import.
if [ "$(id -u)" = 0 ]; then
    bash tools/ceph-python.sh >/dev/null ||
        echo 'warning: Ceph bindings unavailable; the Ceph tests will say why'
fi

echo '== flake8'
.venv/bin/python -m flake8 cinderlib tests bench tools examples \
    doc/source/conf.py doc/source/_ext

echo '== mypy'
.venv/bin/python -m mypy

echo '== docs'
.venv/bin/python -m sphinx -W -q -b html doc/source doc/build/html
# The examples of the pages run (on the file driver, in temporary
# directories); a failing one fails this step.
.venv/bin/python -m sphinx -W -q -b doctest doc/source doc/build/doctest

echo '== pytest'
.venv/bin/python -m pytest -p no:cacheprovider "$@"

echo '== package (sdist, wheel, unit tests on the installed wheel)'
bash tools/check-package.sh
