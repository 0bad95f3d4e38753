#!/usr/bin/env bash
# bench/cluster.sh: the cluster benchmark. Two nodes on one redis-server
# (Debian's, started here on a loopback port), the fan-out receivers split
# between them (loadgen --port2: odd connections to the second node), the
# broadcaster on the first: every broadcast reaches half its receivers through
# Redis. Run for two C nodes (build/bench-server --adapter) and two Node nodes
# (bench/node-ref with @socket.io/redis-adapter), classic adapter, one after
# the other, a fresh Redis and fresh nodes each time; prints deliveries/s and
# latency, and the ratio C+C / Node+Node. The table also goes to
# $BUILD/bench-results-cluster.txt, the raw lines to $BUILD/bench-raw-cluster.txt.
#
#   bash bench/cluster.sh           full run (about a minute)
#   bash bench/cluster.sh --smoke   two C nodes, 20 receivers, 20 broadcasts
#
# Environment: BUILD (build), PORT_BASE (21600), FANOUT_N (10000 receivers),
# FANOUT_R (50 broadcasts), MODE (classic; or sharded).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SMOKE=0
case "${1:-}" in
--smoke) SMOKE=1 ;;
"") ;;
*) sed -n '2,17p' "$0"; exit 2 ;;
esac
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LG=$BUILD/loadgen
CSRV=$BUILD/bench-server
PORT=${PORT_BASE:-21600}
MODE=${MODE:-classic}
LOGDIR=$(mktemp -d /tmp/bench-cluster.XXXXXX)
if ! { [ "$SMOKE" = 1 ] && [ -x "$LG" ] && [ -x "$CSRV" ]; }; then
    make -s BUILD="$BUILD" "$LG" "$CSRV" >/dev/null || { echo "cluster: build failed" >&2; exit 1; }
fi
command -v redis-server >/dev/null || { echo "cluster: redis-server is needed (apt-get install redis-server)" >&2; exit 1; }
if [ "$SMOKE" = 0 ]; then
    (cd bench/node-ref && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] ||
        npm ci --no-audit --no-fund --loglevel=error; }) || { echo "cluster: npm ci failed" >&2; exit 1; }
fi

next_port() {
    PORT=$((PORT + 1))
    while [ -n "$(ss -Htln "sport = :$PORT" 2>/dev/null)" ]; do PORT=$((PORT + 1)); done
}
PIDS=()
stop_all() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    PIDS=()
}
trap 'stop_all; rm -rf "$LOGDIR"' EXIT
trap 'exit 130' INT TERM

wait_for() { # log pattern pid
    for _ in $(seq 1 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || break
        sleep 0.1
    done
    echo "cluster: $1 never said \"$2\":" >&2
    cat "$1" >&2
    return 1
}

start_node() { # kind port redis_port; sets NODE_PID
    local log="$LOGDIR/$1-$2.log" url="redis://127.0.0.1:$3"
    case "$1" in
    c) "$CSRV" --port "$2" --max-clients 19500 --log-level warn --adapter "$url" \
        --adapter-mode "$MODE" >"$log" 2>&1 & ;;
    node) node bench/node-ref/server.js --port "$2" --adapter "$url" --adapter-mode "$MODE" >"$log" 2>&1 & ;;
    esac
    NODE_PID=$!
    PIDS+=("$NODE_PID")
    wait_for "$log" "listening on" "$NODE_PID"
}

if [ "$SMOKE" = 1 ]; then
    KINDS=(c)
    ARGS="--warmup 0.2 fanout 20 20"
else
    KINDS=(c node)
    ARGS="fanout ${FANOUT_N:-10000} ${FANOUT_R:-50}"
fi
declare -A RES
failed=0
RAW=$BUILD/bench-raw-cluster.txt
[ "$SMOKE" = 1 ] || : >"$RAW"
for k in "${KINDS[@]}"; do
    next_port
    rport=$PORT
    redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >"$LOGDIR/redis-$k.log" 2>&1 &
    PIDS+=("$!")
    wait_for "$LOGDIR/redis-$k.log" "Ready to accept connections" "$!" || { failed=1; stop_all; continue; }
    next_port; p1=$PORT
    next_port; p2=$PORT
    if ! start_node "$k" "$p1" "$rport"; then failed=1; stop_all; continue; fi
    pid1=$NODE_PID
    if ! start_node "$k" "$p2" "$rport"; then failed=1; stop_all; continue; fi
    pid2=$NODE_PID
    echo "== cluster fan-out on $k+$k ($MODE): loadgen --port $p1 --port2 $p2 $ARGS" >&2
    # shellcheck disable=SC2086
    line=$(timeout 400 "$LG" --port "$p1" --port2 "$p2" --pid "$pid1" --timeout 350 $ARGS 2>"$LOGDIR/lg-$k.err")
    rc=$?
    cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$1/stat" 2>/dev/null; }
    extra="node1_cpu_s=$(cpu "$pid1") node2_cpu_s=$(cpu "$pid2")"
    stop_all
    echo "$line" >&2
    RES[$k]="$line $extra"
    [ "$SMOKE" = 1 ] || echo "$k $line $extra" >>"$RAW"
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        echo "cluster: the run on $k did not complete (exit $rc)" >&2
        tail -5 "$LOGDIR/lg-$k.err" >&2
        for f in "$LOGDIR/$k"-*.log; do grep -v "listening on" "$f" | tail -5 >&2; done
        failed=1
    fi
    [ "$SMOKE" = 1 ] || sleep 1
done

if [ "$SMOKE" = 1 ]; then
    [ $failed -eq 0 ] || { echo "cluster smoke: FAILED"; exit 1; }
    echo "cluster smoke: two C nodes over Redis: ${RES[c]}"
    exit 0
fi

kv() { sed -n "s|.* $2=\([^ ]*\).*|\1|p" <<<" $1" | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
OUT=$BUILD/bench-results-cluster.txt
{
    echo "Cluster benchmark: two C nodes (bench/server.c --adapter, $MODE) vs two Node socket.io $(node -p 'require("./bench/node-ref/node_modules/socket.io/package.json").version' 2>/dev/null) nodes with @socket.io/redis-adapter $(node -p 'require("./bench/node-ref/node_modules/@socket.io/redis-adapter/package.json").version' 2>/dev/null) (bench/node-ref), one redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), loopback"
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r), node $(node --version)"
    echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null); loadgen $ARGS, receivers split over the two nodes"
    echo
    printf "%-26s %12s %12s %8s\n" metric "C+C" "Node+Node" ratio
    for m in deliveries/s p50_ms p99_ms missing node1_cpu_s node2_cpu_s; do
        c=$(kv "${RES[c]:-}" "$m")
        n=$(kv "${RES[node]:-}" "$m")
        printf "%-26s %12s %12s %8s\n" "$m" "${c:--}" "${n:--}" "$(ratio "$c" "$n")"
    done
    d_c=$(kv "${RES[c]:-}" deliveries/s); d_n=$(kv "${RES[node]:-}" deliveries/s); m_c=$(kv "${RES[c]:-}" missing)
    echo
    echo "Target: C+C >= 2x Node+Node deliveries/s, nothing missing: $(ratio "$d_c" "$d_n")x, missing ${m_c:-?}: $(awk -v a="${d_c:-0}" -v b="${d_n:-1}" -v m="${m_c:-1}" 'BEGIN { print (a >= 2 * b && m == 0) ? "met" : "NOT met" }')"
} | tee "$OUT"
exit $failed
