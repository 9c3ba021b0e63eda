#!/usr/bin/env bash
# Throw-away PostgreSQL and MariaDB servers on 127.0.0.1 for the tests.
#
#   tools/db-servers.sh start DIR   install the Debian packages if missing,
#                                   start both servers with their data in
#                                   DIR, print CINDERLIB_TEST_*_URL lines
#   tools/db-servers.sh stop DIR    stop the servers started in DIR (by the
#                                   PIDs they recorded there, nothing else)
#
# A server that fails to start is reported on stderr; the other still runs.
set -uo pipefail

action=${1:?usage: db-servers.sh start|stop DIR}
dir=${2:?usage: db-servers.sh start|stop DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# The servers run as their own users: they must reach DIR.
chmod 755 "$dir"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

install_packages() {
    local missing=()
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
    command -v mariadbd >/dev/null || missing+=(mariadb-server)
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

start_postgresql() {
    local bin port data="$dir/postgresql"
    bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
    port=$(free_port)
    mkdir -p "$data" && chown postgres "$data"
    runuser -u postgres -- "$bin/initdb" -D "$data/db" -U cinderlib \
        --auth=trust >"$data/initdb.log" 2>&1 || {
        echo "postgresql: initdb failed: $(tail -3 "$data/initdb.log")" >&2
        return 1; }
    runuser -u postgres -- "$bin/pg_ctl" -D "$data/db" -l "$data/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off" \
        -w start >/dev/null 2>&1 || {
        echo "postgresql: start failed: $(tail -3 "$data/server.log")" >&2
        return 1; }
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U cinderlib cinderlib
    echo "CINDERLIB_TEST_POSTGRES_URL=postgresql+psycopg://cinderlib:secret@127.0.0.1:$port/cinderlib"
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

stop_servers() {
    local pid_file
    for pid_file in "$dir"/postgresql/db/postmaster.pid \
                    "$dir"/mariadb/mysqld.pid; do
        [ -f "$pid_file" ] || continue
        kill "$(head -1 "$pid_file")" 2>/dev/null
    done
    for _ in $(seq 1 50); do
        [ -f "$dir/postgresql/db/postmaster.pid" ] || \
            [ -f "$dir/mariadb/mysqld.pid" ] || return 0
        sleep 0.2
    done
}

case "$action" in
    start)
        install_packages || echo 'database packages could not be installed' >&2
        start_postgresql
        start_mariadb
        ;;
    stop)
        stop_servers
        ;;
    *)
        echo "usage: db-servers.sh start|stop DIR" >&2
        exit 2
        ;;
esac
exit 0
