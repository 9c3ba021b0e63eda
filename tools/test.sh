#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it:
# a virtualenv in .venv (Python 3.11, the versions of
# constraints/cinder-29.txt) with the project and its test tools, the
# flake8 style check, mypy, the test suite and the support matrix
# (tools/matrix.py run: the full suite in .venv for the newest cell,
# py311-cinder29, then the unit and persistence suites on every other
# Cinder release x Python cell), the Sphinx docs (warnings are errors),
# whose support table shows this run's results, and their examples
# (sphinx -b doctest), and a check of the built packages.  Extra arguments go to the full suite's
# pytest.
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

# Python 3.11: Debian's Ceph bindings load in no other version.  A missing
# interpreter is an error (tools/matrix.py says where it looked).
PYTHON=${PYTHON:-$(python3 tools/matrix.py python 3.11)}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints/cinder-29.txt \
    -e '.[test,docs]'
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

echo '== pytest: the full suite, then every cell of the support matrix'
# The results go to doc/build (the committed results file is rewritten by
# `tools/matrix.py run` alone), and the support table of the docs below
# shows them.
results=doc/build/matrix.json
.venv/bin/python tools/matrix.py run --jobs 2 --main-venv .venv \
    --results "$results" -- "$@"
export CINDERLIB_MATRIX_RESULTS=$PWD/$results

echo '== docs'
.venv/bin/python -m sphinx -W -q -b html doc/source doc/build/html
# The examples of the pages run (on the file driver, in temporary
# directories); a failing one fails this step.
.venv/bin/python -m sphinx -W -q -b doctest doc/source doc/build/doctest

echo '== package (sdist, wheel, unit tests on the installed wheel)'
bash tools/check-package.sh
