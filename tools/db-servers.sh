#!/usr/bin/env bash
# Throw-away PostgreSQL and MariaDB servers on 127.0.0.1 for the tests.
#
#   tools/db-servers.sh start DIR [SERVER...]
#       install the Debian packages if missing, start the servers (both, or
#       those named: postgresql, mariadb) with their data in DIR, print
#       CINDERLIB_TEST_*_URL lines.  A PostgreSQL server stopped earlier in
#       DIR starts again with its data, on the same port.
#   tools/db-servers.sh stop DIR [SERVER...]
#       stop the servers started in DIR (by the PIDs they recorded there,
#       nothing else), keeping their data; PostgreSQL ends its sessions
#       (fast shutdown).  Returns once they are gone.
#   tools/db-servers.sh crash DIR postgresql
#       stop PostgreSQL as a crash would (immediate shutdown: no
#       checkpoint, recovery from the WAL at the next start).
#
# A server that fails to start is reported on stderr; the other still runs.
set -uo pipefail

usage='usage: db-servers.sh start|stop|crash DIR [postgresql|mariadb...]'
action=${1:?$usage}
dir=${2:?$usage}
shift 2
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(postgresql mariadb)
for server in "${servers[@]}"; do
    case "$server" in
        postgresql|mariadb) ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# The servers run as their own users: they must reach DIR.
chmod 755 "$dir"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wanted() {
    local server
    for server in "${servers[@]}"; do
        [ "$server" = "$1" ] && return 0
    done
    return 1
}

install_packages() {
    local missing=()
    wanted postgresql && ! ls /usr/lib/postgresql/*/bin/initdb \
        >/dev/null 2>&1 && missing+=(postgresql)
    wanted mariadb && ! command -v mariadbd >/dev/null && \
        missing+=(mariadb-server)
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

postgresql_bin() {
    dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)"
}

start_postgresql() {
    local bin port data="$dir/postgresql" new=
    bin=$(postgresql_bin)
    if [ -f "$data/port" ] && [ -d "$data/db" ]; then
        port=$(cat "$data/port")   # started before: same data, same port
    else
        new=1
        port=$(free_port)
        mkdir -p "$data" && chown postgres "$data"
        runuser -u postgres -- "$bin/initdb" -D "$data/db" -U cinderlib \
            --auth=trust >"$data/initdb.log" 2>&1 || {
            echo "postgresql: initdb failed: $(tail -3 "$data/initdb.log")" >&2
            return 1; }
        echo "$port" >"$data/port"
    fi
    runuser -u postgres -- "$bin/pg_ctl" -D "$data/db" -l "$data/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off" \
        -w start >/dev/null 2>&1 || {
        echo "postgresql: start failed: $(tail -3 "$data/server.log")" >&2
        return 1; }
    [ -z "$new" ] || "$bin/createdb" -h 127.0.0.1 -p "$port" -U cinderlib \
        cinderlib
    echo "CINDERLIB_TEST_POSTGRES_URL=postgresql+psycopg://cinderlib:secret@127.0.0.1:$port/cinderlib"
}

# stop_postgresql fast|immediate: returns once the server is gone.
stop_postgresql() {
    local data="$dir/postgresql"
    [ -f "$data/db/postmaster.pid" ] || return 0
    runuser -u postgres -- "$(postgresql_bin)/pg_ctl" -D "$data/db" \
        -m "$1" -w -t 60 stop >/dev/null 2>&1 || {
        echo "postgresql: stop failed: $(tail -3 "$data/server.log")" >&2
        return 1; }
}

start_mariadb() {
    local port data="$dir/mariadb"
    port=$(free_port)
    mkdir -p "$data" && chown mysql "$data"
    mariadb-install-db --user=mysql --datadir="$data/db" \
        --auth-root-authentication-method=normal >"$data/install.log" 2>&1 || {
        echo "mariadb: install-db failed: $(tail -3 "$data/install.log")" >&2
        return 1; }
    mariadbd --user=mysql --datadir="$data/db" --bind-address=127.0.0.1 \
        --port="$port" --socket="$data/mysqld.sock" \
        --pid-file="$data/mysqld.pid" --skip-name-resolve \
        --innodb-flush-log-at-trx-commit=2 \
        >"$data/server.log" 2>&1 &
    for _ in $(seq 1 100); do
        mariadb -uroot --socket="$data/mysqld.sock" -e 'select 1' \
            >/dev/null 2>&1 && break
        sleep 0.2
    done
    mariadb -uroot --socket="$data/mysqld.sock" -e "
        CREATE DATABASE cinderlib CHARACTER SET utf8mb4;
        CREATE USER 'cinderlib'@'127.0.0.1' IDENTIFIED BY 'secret';
        GRANT ALL ON \`cinderlib%\`.* TO 'cinderlib'@'127.0.0.1';" || {
        echo "mariadb: start failed: $(tail -3 "$data/server.log")" >&2
        return 1; }
    echo "CINDERLIB_TEST_MYSQL_URL=mysql+pymysql://cinderlib:secret@127.0.0.1:$port/cinderlib"
}

stop_mariadb() {
    local pid_file="$dir/mariadb/mysqld.pid"
    [ -f "$pid_file" ] || return 0
    kill "$(head -1 "$pid_file")" 2>/dev/null
    for _ in $(seq 1 50); do
        [ -f "$pid_file" ] || return 0
        sleep 0.2
    done
}

status=0
case "$action" in
    start)
        install_packages || echo 'database packages could not be installed' >&2
        if wanted postgresql; then start_postgresql || status=1; fi
        if wanted mariadb; then start_mariadb || status=1; fi
        # Both at once (the tests' session): each failure was reported,
        # and the tests skip or fail the server that did not start.
        [ ${#servers[@]} -eq 1 ] || status=0
        ;;
    stop)
        if wanted postgresql; then stop_postgresql fast || status=1; fi
        if wanted mariadb; then stop_mariadb || status=1; fi
        ;;
    crash)
        if wanted mariadb; then echo "$usage" >&2; exit 2; fi
        stop_postgresql immediate || status=1
        ;;
    *)
        echo "$usage" >&2
        exit 2
        ;;
esac
exit $status
