#!/usr/bin/env bash
# Creates or updates the two virtual environments. An environment is rebuilt only
# when the sha256 of its lock files differs from the one recorded at its last install.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "setup: Python 3.11 is required ($PYTHON is $("$PYTHON" --version 2>&1))." >&2
    echo "setup: set PYTHON=/path/to/python3.11 and try again." >&2
    exit 1
fi

# ensure_env DIR INSTALL_FUNCTION LOCK_FILE...
ensure_env() {
    local dir=$1 installer=$2
    shift 2
    local want
    want=$(cat "$@" | sha256sum | cut -d' ' -f1)
    if [ -f "$dir/.lock-sha256" ] && [ "$(cat "$dir/.lock-sha256")" = "$want" ]; then
        return 0
    fi
    echo "setup: installing $dir (first run or lock changed; this takes a few minutes)" >&2
    local started=$SECONDS
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir"
    "$installer" "$dir/bin/python"
    echo "$want" > "$dir/.lock-sha256"
    echo "setup: $dir ready in $((SECONDS - started)) s" >&2
}

# pip warns once per package about this machine's optional local index folders; drop that noise.
pip_install() {
    local python=$1
    shift
    "$python" -m pip install --quiet --disable-pip-version-check --no-deps "$@" 2>&1 \
        | { grep -v "is ignored: it is neither a file nor a directory" || true; }
}

install_bot() {
    pip_install "$1" -r requirements/bot.lock
}

install_rasa() {
    pip_install "$1" -r requirements/rasa.lock
    pip_install "$1" --ignore-requires-python -r requirements/rasa-engine.txt
}

ensure_env .venv install_bot requirements/bot.lock
ensure_env .venv-rasa install_rasa requirements/rasa.lock requirements/rasa-engine.txt

# The bulletin's charts write Chinese (bot/insight/charts.py looks the font up through
# matplotlib): Debian's fonts-wqy-microhei, installed only when no Chinese font is there.
ensure_cjk_font() {
    if [ -n "$(find /usr/share/fonts /usr/local/share/fonts -iname '*wqy*' -o -iname '*notosanscjk*' \
              -o -iname '*notoserifcjk*' -o -iname '*droidsansfallback*' 2>/dev/null | head -n 1)" ]; then
        return 0
    fi
    if command -v apt-get > /dev/null && [ "$(id -u)" = 0 ]; then
        echo "setup: installing a Chinese font for the charts (fonts-wqy-microhei)" >&2
        export DEBIAN_FRONTEND=noninteractive
        if apt-get install -y -qq fonts-wqy-microhei > /dev/null 2>&1 \
            || { apt-get update -qq > /dev/null 2>&1 \
                 && apt-get install -y -qq fonts-wqy-microhei > /dev/null 2>&1; }; then
            return 0
        fi
    fi
    echo "setup: warning: no Chinese font; the bulletin's charts need one" \
         "(apt-get install fonts-wqy-microhei, or fonts-noto-cjk)" >&2
}

ensure_cjk_font

# The case store's PostgreSQL tests and benchmark start a private server (scripts/pg.sh)
# from Debian's PostgreSQL: installed here when missing. In CI (CI=true) the PostgreSQL
# tests fail without it; elsewhere they skip and say why.
ensure_postgresql() {
    if ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1; then
        return 0
    fi
    if command -v apt-get > /dev/null && [ "$(id -u)" = 0 ]; then
        echo "setup: installing PostgreSQL for the case store's tests (postgresql)" >&2
        export DEBIAN_FRONTEND=noninteractive
        if apt-get install -y -qq postgresql > /dev/null 2>&1 \
            || { apt-get update -qq > /dev/null 2>&1 \
                 && apt-get install -y -qq postgresql > /dev/null 2>&1; }; then
            return 0
        fi
    fi
    echo "setup: warning: no PostgreSQL; its store tests will skip (fail with CI=true)" \
         "(apt-get install postgresql)" >&2
}

ensure_postgresql

# Rasa's lock store and tracker store in the scaled topology (make run-scaled, its e2e
# test): Debian's redis-server, started by scripts/redis.sh; installed here when missing.
ensure_redis() {
    if command -v redis-server > /dev/null; then
        return 0
    fi
    if command -v apt-get > /dev/null && [ "$(id -u)" = 0 ]; then
        echo "setup: installing Redis for the scaled topology (redis-server)" >&2
        export DEBIAN_FRONTEND=noninteractive
        if apt-get install -y -qq redis-server > /dev/null 2>&1 \
            || { apt-get update -qq > /dev/null 2>&1 \
                 && apt-get install -y -qq redis-server > /dev/null 2>&1; }; then
            return 0
        fi
    fi
    echo "setup: warning: no Redis; the scaled topology's tests will skip (fail with CI=true)" \
         "(apt-get install redis-server)" >&2
}

ensure_redis
