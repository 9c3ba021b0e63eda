#!/usr/bin/env bash
# Make Ceph's Python bindings (`rados`, `rbd`) importable in .venv:
# installs Debian's python3-rados and python3-rbd if missing, then links
# just those two modules into a folder the venv reads through a .pth file,
# so nothing else from the system's dist-packages shadows the venv's
# packages.  Prints the folder.  They are built for CPython 3.11.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if ! ls /usr/lib/python3/dist-packages/rbd.cpython-*.so >/dev/null 2>&1 ||
        ! ls /usr/lib/python3/dist-packages/rados.cpython-*.so \
            >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends python3-rados python3-rbd >/dev/null
fi
links="$root/.venv/ceph-bindings"
mkdir -p "$links"
ln -sf /usr/lib/python3/dist-packages/rados.cpython-*.so "$links/"
ln -sf /usr/lib/python3/dist-packages/rbd.cpython-*.so "$links/"
site=$("$root/.venv/bin/python" -c \
    'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$links" > "$site/cinderlib-ceph-bindings.pth"
echo "$links"
