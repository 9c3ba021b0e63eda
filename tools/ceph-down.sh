#!/usr/bin/env bash
# Stop the Ceph daemons tools/ceph-up.sh started in DIR, by their PID
# files (never by name): the OSD first, or it waits for the gone mon.
set -uo pipefail
dir=${1:?usage: ceph-down.sh DIR}
for daemon in osd mgr mon; do
    for pid_file in "$dir"/run/"$daemon".*.pid; do
        [ -f "$pid_file" ] || continue
        pid=$(cat "$pid_file")
        kill "$pid" 2>/dev/null
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        rm -f "$pid_file"
    done
done
exit 0
