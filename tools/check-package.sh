#!/usr/bin/env bash
# Build the sdist and the wheel, check that a plain `pip install .` prints
# nothing but pip's own lines (no build back-end warnings), install the
# wheel in a fresh virtualenv and run the unit tests against the installed
# package (from a copy of tests/, so that the checkout's cinderlib/ cannot
# be imported instead).  The virtualenv takes the versions of
# constraints/cinder-29.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/cinderlib-package-XXXXXX)
trap 'rm -rf "$work"' EXIT
constraints=$root/constraints/cinder-29.txt

"$root/.venv/bin/python" -m pip install -q build
"$root/.venv/bin/python" -m build -q --outdir "$work/dist" "$root" \
    >"$work/build.log" 2>&1 || { tail -20 "$work/build.log"; exit 1; }
ls "$work"/dist/cinderlib-*.tar.gz "$work"/dist/cinderlib-*.whl >/dev/null

"$root/.venv/bin/python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --upgrade pip
# A plain `pip install .`: the build back-end's output is indented under
# pip's own lines, and a warning there (setuptools' deprecation walls)
# fails the check.  (pip builds in the checkout: build/ and *.egg-info,
# which git ignores.)
(cd "$root" && PIP_CONSTRAINT=$constraints "$work/venv/bin/python" -m pip \
    install . >"$work/install.log" 2>&1) ||
    { tail -40 "$work/install.log"; exit 1; }
if grep -E -i '^[[:space:]].*(warn|deprecat|!!|\*{8})' "$work/install.log"
then
    echo 'check-package: `pip install .` printed the lines above' >&2
    exit 1
fi
echo "pip install . printed $(wc -l <"$work/install.log") lines, all pip's"
"$work/venv/bin/python" -m pip install -q -c "$constraints" \
    --force-reinstall --no-deps "$(ls "$work"/dist/*.whl)"
"$work/venv/bin/python" -m pip install -q -c "$constraints" \
    "$(ls "$work"/dist/*.whl)[test,docs]"
# doc/: tests/unit/test_docs.py checks its reference against the package;
# tools/ and constraints/: tests/unit/test_support_matrix.py reads them.
cp -r "$root/tests" "$root/examples" "$root/doc" "$root/tools" \
    "$root/constraints" "$work/"
rm -rf "$work/doc/build"
cp "$root/pyproject.toml" "$work/"
cd "$work"
"$work/venv/bin/python" - <<'PY'
import cinderlib, importlib.metadata as md
assert '/site-packages/' in cinderlib.__file__, cinderlib.__file__
assert cinderlib.__version__ == md.version('cinderlib')
assert md.metadata('cinderlib')['License-Expression'] == 'Apache-2.0'
print('installed', cinderlib.__version__, 'from', cinderlib.__file__)
PY
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit
