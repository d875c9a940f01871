#!/usr/bin/env bash
# A private PostgreSQL for the case store's tests and benchmarks, on 127.0.0.1 only.
#
#   scripts/pg.sh start   start it (creating the cluster and the database on first use),
#                         then print its URL; starting a running one only prints the URL
#   scripts/pg.sh stop    stop it (the data stays for the next start)
#   scripts/pg.sh url     print the URL
#   scripts/pg.sh pidfile print the server's pid file (its first line is the postmaster's pid)
#
# Debian's PostgreSQL (/usr/lib/postgresql/<version>/bin; scripts/setup.sh installs it).
# The cluster lives in $HOTLINE_PG_DIR (default /tmp/hotline-pg-<port>), owned by the
# `postgres` system user when run as root (initdb refuses root), listens on
# 127.0.0.1:$HOTLINE_PG_PORT (default 55432) and trusts local connections: for tests and
# benchmarks, never for a server others can reach. Text sorts in byte order (the store
# compares ISO times as text). synchronous_commit is off, as SQLite's WAL with
# synchronous=NORMAL: a crash of the machine may lose the last commits, never the data.
set -euo pipefail

port="${HOTLINE_PG_PORT:-55432}"
dir="${HOTLINE_PG_DIR:-/tmp/hotline-pg-$port}"
database="${HOTLINE_PG_DATABASE:-hotline}"
url="postgresql://postgres@127.0.0.1:$port/$database"

bin="$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -n 1 || true)"
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "pg: PostgreSQL is not installed (apt-get install postgresql, or make setup as root)" >&2
    exit 1
fi

# Runs a PostgreSQL program as the cluster's owner.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

running() {
    [ -f "$dir/data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$dir/data" status > /dev/null 2>&1
}

start() {
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        mkdir -p "$dir"
        if [ "$(id -u)" = 0 ]; then
            chown postgres: "$dir"
        fi
        chmod 700 "$dir"
        as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-locale \
            -E UTF8 > "$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! running; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c synchronous_commit=off" \
            > /dev/null \
            || { tail -n 20 "$dir/server.log" >&2; exit 1; }
    fi
    if [ -z "$(as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
                "SELECT 1 FROM pg_database WHERE datname = '$database'")" ]; then
        as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$database"
    fi
    echo "$url"
}

stop() {
    if running; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -w -m fast stop > /dev/null
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) echo "$url" ;;
    pidfile) echo "$dir/data/postmaster.pid" ;;
    *) echo "usage: scripts/pg.sh start|stop|url|pidfile" >&2; exit 2 ;;
esac
