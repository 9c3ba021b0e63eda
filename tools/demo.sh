#!/usr/bin/env bash
# The main job on a fresh machine: install the project in .venv, then run
# the demo of the embedded file backend (`cinderlib demo`).  Extra
# arguments go to the demo (e.g. --dir DIR to keep its files).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
exec .venv/bin/cinderlib demo "$@"
