#!/usr/bin/env bash
# A private Redis for the scaled topology (Rasa's lock store and tracker store), from
# Debian's redis-server package, on 127.0.0.1 only.
#
#   scripts/redis.sh start   install redis-server if missing (apt-get, as root), start it
#   scripts/redis.sh stop    stop it
#   scripts/redis.sh url     print its URL
#
# HOTLINE_REDIS_PORT (default 56379) and HOTLINE_DATA_DIR (default var/) choose where.
# Conversations are kept in an append-only file under $HOTLINE_DATA_DIR/redis/, so a
# restart loses no half-filled form.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${HOTLINE_REDIS_PORT:-56379}"
data="${HOTLINE_DATA_DIR:-$PWD/var}/redis"
pidfile="$data/redis.pid"

running() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
start)
    if ! command -v redis-server > /dev/null; then
        echo "installing redis-server (Debian package)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server > /dev/null
    fi
    mkdir -p "$data"
    if ! running; then
        redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes --daemonize yes \
            --dir "$data" --pidfile "$pidfile" --logfile "$data/redis.log" \
            --appendonly yes --appendfsync everysec --save ""
        for _ in $(seq 50); do
            redis-cli -p "$port" ping > /dev/null 2>&1 && break
            sleep 0.1
        done
    fi
    redis-cli -p "$port" ping > /dev/null
    echo "redis://127.0.0.1:$port/0"
    ;;
stop)
    if running; then
        redis-cli -p "$port" shutdown > /dev/null 2>&1 || kill "$(cat "$pidfile")"
        for _ in $(seq 50); do running || break; sleep 0.1; done
    fi
    ;;
url)
    echo "redis://127.0.0.1:$port/0"
    ;;
*)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
