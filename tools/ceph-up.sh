#!/usr/bin/env bash
# A throw-away single-node Ceph cluster in userspace, for the tests.
#
#   tools/ceph-up.sh DIR
#
# Installs the Debian packages if missing, starts one mon, one mgr and one
# OSD (memstore: data in RAM) on 127.0.0.1 with cephx, everything under DIR,
# creates the pool `volumes` and the user `client.cinder` with the caps
# Cinder uses, makes the `rados`/`rbd` Python modules importable in the
# project's .venv (links to just those two modules, so nothing shadows the
# venv's packages), and prints the settings as KEY=VALUE lines:
#   CINDERLIB_CEPH_CONF, CINDERLIB_CEPH_KEYRING, CINDERLIB_CEPH_POOL,
#   CINDERLIB_CEPH_USER, CINDERLIB_CEPH_PYTHONPATH (the folder of the
#   module links, for a Python process that started before they existed)
# tools/ceph-down.sh DIR stops exactly the daemons started here.
set -euo pipefail

dir=${1:?usage: ceph-up.sh DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if ! command -v ceph-osd >/dev/null || \
        ! ls /usr/lib/python3/dist-packages/rbd.cpython-*.so >/dev/null 2>&1
then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends ceph-mon ceph-mgr ceph-osd ceph-common \
        python3-rados python3-rbd >/dev/null
fi

if [ -x "$root/.venv/bin/python" ]; then
    links=$(bash "$root/tools/ceph-python.sh")
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
v1=$(free_port)
v2=$(free_port)
fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
mkdir -p "$dir/run" "$dir/log" "$dir/mon/ceph-a" "$dir/mgr/ceph-x"
conf="$dir/ceph.conf"
cat > "$conf" <<EOF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$v2,v1:127.0.0.1:$v1]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_autoscale_mode = off
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
paxos_propose_interval = 0.1
rbd_default_features = 61
run_dir = $dir/run
log_file = $dir/log/\$name.log
admin_socket = $dir/run/\$name.asok
pid_file = $dir/run/\$name.pid
mon_data = $dir/mon/\$cluster-\$id
mgr_data = $dir/mgr/\$cluster-\$id
osd_data = $dir/osd/\$cluster-\$id
[osd]
osd_objectstore = memstore
memstore_device_bytes = 4294967296
[client.admin]
keyring = $dir/ceph.client.admin.keyring
[client.cinder]
keyring = $dir/ceph.client.cinder.keyring
EOF

ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. \
    --cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$dir/ceph.client.admin.keyring" --gen-key \
    -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
    --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool "$dir/mon.keyring" \
    --import-keyring "$dir/ceph.client.admin.keyring" >/dev/null
monmaptool --create --addv a "[v2:127.0.0.1:$v2,v1:127.0.0.1:$v1]" \
    --fsid "$fsid" "$dir/monmap" >/dev/null
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" \
    --keyring "$dir/mon.keyring"
ceph-mon -c "$conf" -i a

ceph() { command ceph -c "$conf" --connect-timeout 20 "$@"; }
ceph auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' \
    mds 'allow *' -o "$dir/mgr/ceph-x/keyring"
ceph-mgr -c "$conf" -i x

osd_uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
secret=$(ceph-authtool --gen-print-key)
osd_id=$(echo "{\"cephx_secret\": \"$secret\"}" | \
    ceph osd new "$osd_uuid" -i -)
mkdir -p "$dir/osd/ceph-$osd_id"
ceph-authtool --create-keyring "$dir/osd/ceph-$osd_id/keyring" \
    --name "osd.$osd_id" --add-key "$secret" >/dev/null
ceph-osd -c "$conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" \
    2>"$dir/log/osd-mkfs.log"
ceph-osd -c "$conf" -i "$osd_id"

ceph osd set-require-min-compat-client mimic >/dev/null 2>&1
ceph osd pool create volumes 8 >/dev/null 2>&1
rbd -c "$conf" pool init volumes
ceph auth get-or-create client.cinder mon 'profile rbd' \
    osd 'profile rbd pool=volumes' mgr 'profile rbd pool=volumes' \
    -o "$dir/ceph.client.cinder.keyring"

# Ready when an object can be written and the pool reports free space.
for _ in $(seq 1 150); do
    if rados -c "$conf" -p volumes put probe "$conf" >/dev/null 2>&1 && \
            ceph df --format json 2>/dev/null | python3 -c '
import json, sys
pools = json.load(sys.stdin)["pools"]
sys.exit(0 if any(p["name"] == "volumes" and p["stats"]["max_avail"] > 0
                  for p in pools) else 1)'; then
        rados -c "$conf" -p volumes rm probe
        echo "CINDERLIB_CEPH_CONF=$conf"
        echo "CINDERLIB_CEPH_KEYRING=$dir/ceph.client.cinder.keyring"
        echo "CINDERLIB_CEPH_POOL=volumes"
        echo "CINDERLIB_CEPH_USER=cinder"
        [ -n "${links:-}" ] && echo "CINDERLIB_CEPH_PYTHONPATH=$links"
        exit 0
    fi
    sleep 0.2
done
echo "ceph cluster in $dir did not become ready; logs in $dir/log" >&2
exit 1
