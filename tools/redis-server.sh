#!/usr/bin/env bash
# A throw-away Redis server on 127.0.0.1: the coordination backend (tooz)
# of the cross-host locking tests.
#
#   tools/redis-server.sh start DIR   install Debian's redis-server if
#                                     missing, start it with its data and
#                                     PID file in DIR, print
#                                     CINDERLIB_TEST_REDIS_URL=redis://...
#   tools/redis-server.sh stop DIR    stop the server started in DIR
set -euo pipefail

action=${1:?usage: redis-server.sh start|stop DIR}
dir=${2:?usage: redis-server.sh start|stop DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

case "$action" in
start)
    if ! command -v redis-server >/dev/null; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            redis-server >/dev/null
    fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" \
        --daemonize yes --pidfile "$dir/redis.pid" \
        --logfile "$dir/redis.log" --save '' --appendonly no >/dev/null
    for _ in $(seq 50); do
        if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
            echo "CINDERLIB_TEST_REDIS_URL=redis://127.0.0.1:$port"
            exit 0
        fi
        sleep 0.1
    done
    echo "redis-server did not answer on port $port:" >&2
    tail -5 "$dir/redis.log" >&2 || true
    exit 1
    ;;
stop)
    if [ -f "$dir/redis.pid" ]; then
        kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    fi
    ;;
*)
    echo "unknown action $action" >&2
    exit 2
    ;;
esac
