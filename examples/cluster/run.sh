#!/usr/bin/env bash
# The chat as a cluster on one machine: one build/chat node per core on
# 127.0.0.1:PORT+1..PORT+N, one Redis between them, and HAProxy in front on
# PORT (haproxy.cfg next to this file). Ctrl-C stops everything.
#
#   examples/cluster/run.sh                     # after `make`; then open http://localhost:5000
#   PORT=8080 NODES=3 examples/cluster/run.sh
#   REDIS_URL=redis://10.0.0.5:6379 examples/cluster/run.sh   # an existing Redis
#
# Needs redis-server (unless REDIS_URL is given) and haproxy:
#   apt-get install -y redis-server haproxy
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${PORT:-5000}
NODES=${NODES:-$(nproc)}
BUILD=${BUILD:-build}
[ -x "$BUILD/chat" ] || { echo "no $BUILD/chat: run make first" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
stop() { # the last started first: HAProxy, the nodes, then Redis
    trap - EXIT INT TERM
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null && wait "${pids[i]}" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 0' INT TERM

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port name: wait up to 10 s until something listens on port
    for _ in $(seq 100); do listening "$1" && return; sleep 0.1; done
    echo "$2 is not listening on port $1" >&2
    exit 1
}

# Redis: the nodes' only shared state (pub/sub between them).
if [ -z "${REDIS_URL:-}" ]; then
    REDIS_PORT=${REDIS_PORT:-6379}
    if listening "$REDIS_PORT"; then
        echo "port $REDIS_PORT is taken: REDIS_URL=redis://127.0.0.1:$REDIS_PORT to use that Redis, or REDIS_PORT=..." >&2
        exit 1
    fi
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning &
    pids+=($!)
    wait_port "$REDIS_PORT" redis-server
    REDIS_URL=redis://127.0.0.1:$REDIS_PORT
fi

# The nodes, on loopback only (clients come through HAProxy); each with
# --cookie io, which HAProxy's stickiness learns the session id from. Their
# server lines go at the end of a copy of haproxy.cfg.
cp examples/cluster/haproxy.cfg "$tmp/haproxy.cfg"
for i in $(seq "$NODES"); do
    port=$((PORT + i))
    "$BUILD/chat" --port "$port" --host 127.0.0.1 --adapter "$REDIS_URL" --cookie io &
    pids+=($!)
    echo "    server node$i 127.0.0.1:$port" >>"$tmp/haproxy.cfg"
done
for i in $(seq "$NODES"); do wait_port $((PORT + i)) "chat node $i"; done

FRONT_PORT=$PORT haproxy -db -f "$tmp/haproxy.cfg" &
pids+=($!)
wait_port "$PORT" haproxy
echo "chat cluster: $NODES nodes on $REDIS_URL behind http://localhost:$PORT/ (Ctrl-C stops)"

wait -n # until Ctrl-C, or until one of them exits (then the others are stopped)
