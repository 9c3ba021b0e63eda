#!/usr/bin/env bash
# Build the sdist and the wheel, install the wheel in a fresh virtualenv and
# run the unit tests against the installed package (from a copy of tests/,
# so that the checkout's cinderlib/ cannot be imported instead).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/cinderlib-package-XXXXXX)
trap 'rm -rf "$work"' EXIT

"$root/.venv/bin/python" -m pip install -q build
"$root/.venv/bin/python" -m build -q --outdir "$work/dist" "$root" \
    >"$work/build.log" 2>&1 || { tail -20 "$work/build.log"; exit 1; }
ls "$work"/dist/cinderlib-*.tar.gz "$work"/dist/cinderlib-*.whl >/dev/null

python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --upgrade pip
"$work/venv/bin/python" -m pip install -q "$(ls "$work"/dist/*.whl)[test,docs]"
# doc/: tests/unit/test_docs.py checks its reference against the package.
cp -r "$root/tests" "$root/examples" "$root/doc" "$work/"
rm -rf "$work/doc/build"
cp "$root/pyproject.toml" "$work/"
cd "$work"
"$work/venv/bin/python" - <<'PY'
import cinderlib, importlib.metadata as md
assert '/site-packages/' in cinderlib.__file__, cinderlib.__file__
assert cinderlib.__version__ == md.version('cinderlib')
print('installed', cinderlib.__version__, 'from', cinderlib.__file__)
PY
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit
