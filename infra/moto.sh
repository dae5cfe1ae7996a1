#!/usr/bin/env bash
# Start or stop a local AWS-compatible server (moto_server, from PyPI `moto[server]`) on
# loopback, for the functions' integration tests.
#
#   infra/moto.sh start [PORT]   # prints `export CLIPPER_TEST_AWS_ENDPOINT=http://127.0.0.1:PORT`
#   infra/moto.sh stop
#   infra/moto.sh install        # pip install 'moto[server]' if python3 cannot import moto
#
# It runs moto through infra/moto_server.py, which serialises DynamoDB requests: moto's own
# server lets two conditional writes to one item both pass when they arrive together, AWS does not.
#
# The tests read CLIPPER_TEST_AWS_ENDPOINT and skip (saying so) when it is unset. State lives
# in memory only; stop discards it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Per checkout: two checkouts on one machine must not stop each other's server.
state_dir="${MOTO_STATE_DIR:-$here/../target/clipper-moto}"
pid_file="$state_dir/moto.pid"
log_file="$state_dir/moto.log"

python_bin() {
    command -v python3 || command -v python || true
}

# moto is run through our launcher (moto_server.py), so the Python that runs it must import it.
have_moto() {
    local py
    py=$(python_bin)
    [ -n "$py" ] && "$py" -c 'import moto.moto_server.werkzeug_app, werkzeug, flask' >/dev/null 2>&1
}

install() {
    if have_moto; then
        return 0
    fi
    local py
    py=$(python_bin)
    if [ -z "$py" ]; then
        echo "moto.sh: python3 is needed to install moto" >&2
        return 1
    fi
    echo "moto.sh: installing moto[server] from PyPI" >&2
    "$py" -m pip install --quiet 'moto[server]' >&2
    hash -r
    have_moto
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start() {
    install
    mkdir -p "$state_dir"
    if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
        echo "export CLIPPER_TEST_AWS_ENDPOINT=$(cat "$state_dir/endpoint")"
        return 0
    fi
    local port=${1:-$(free_port)}
    local endpoint="http://127.0.0.1:$port"
    # Our launcher, not moto_server itself: it makes DynamoDB writes atomic, as AWS does.
    "$(python_bin)" "$here/moto_server.py" 127.0.0.1 "$port" >"$log_file" 2>&1 &
    echo $! >"$pid_file"
    echo "$endpoint" >"$state_dir/endpoint"
    for _ in $(seq 1 100); do
        if python3 - "$endpoint" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
PY
        then
            echo "moto.sh: moto_server ready at $endpoint (pid $(cat "$pid_file"))" >&2
            echo "export CLIPPER_TEST_AWS_ENDPOINT=$endpoint"
            return 0
        fi
        if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
            echo "moto.sh: moto_server exited; log:" >&2
            cat "$log_file" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "moto.sh: moto_server did not answer within 20 s; log in $log_file" >&2
    return 1
}

stop() {
    if [ -f "$pid_file" ]; then
        local pid
        pid=$(cat "$pid_file")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
        fi
        rm -f "$pid_file" "$state_dir/endpoint"
    fi
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) stop ;;
    install) install ;;
    *) echo "usage: $0 start [PORT] | stop | install" >&2; exit 2 ;;
esac
: "$here"
