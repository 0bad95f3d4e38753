#!/usr/bin/env bash
# bench/run.sh: the benchmark (`make bench`). Runs every scenario of
# build/loadgen against the C server (build/bench-server), the reference Node
# socket.io server (bench/node-ref) and the Rust socketioxide server
# (bench/socketioxide-ref), one after the other on this machine, a fresh server
# process for each run, and prints a table of figures and ratios (ours / Node,
# ours / socketioxide). The table also goes to $BUILD/bench-results.txt, every
# raw result line to $BUILD/bench-raw.txt.
#
#   bash bench/run.sh            full run (a few minutes)
#   bash bench/run.sh --smoke    tiny sizes, C server only, a few seconds; exits
#                                non-zero if the generator could not complete
#   bash bench/run.sh --only echo,fanout   some scenarios only
#
# socketioxide: built once with cargo (rustc >= 1.94) into
# $BUILD/socketioxide-target, rebuilt only when its sources are newer than the
# binary; without cargo, or if the build fails, it is skipped with a note.
#
# Environment: BUILD (build), PORT_BASE (21100; keep it below the ephemeral range),
# SOCKETIOXIDE (1; 0 to skip that peer), and the sizes below
# (CONNECT_N, ECHO_C, ECHO_SECS, FANOUT_N, FANOUT_R, HS_SECS, SLOW_K, SLOW_N,
# SLOW_SECS, SLOW_PAYLOAD, POLL_C, POLL_SECS).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SMOKE=0
ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
    --smoke) SMOKE=1 ;;
    --only) ONLY=",$2,"; shift ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "usage: bench/run.sh [--smoke] [--only a,b]" >&2; exit 2 ;;
    esac
    shift
done

# Both processes hold one descriptor per client: take the hard limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

LG=$BUILD/loadgen
CSRV=$BUILD/bench-server
PORT=${PORT_BASE:-21100}
LOGDIR=$(mktemp -d /tmp/bench.XXXXXX)
trap 'rm -rf "$LOGDIR"' EXIT

# ------------------------------------------------------------------ build
build() {
    if [ -x "$LG" ] && [ -x "$CSRV" ] && [ "$SMOKE" = 1 ]; then return 0; fi
    make -s BUILD="$BUILD" c >/dev/null || return 1
    if make -n BUILD="$BUILD" "$LG" "$CSRV" >/dev/null 2>&1; then
        make -s BUILD="$BUILD" "$LG" "$CSRV" || return 1
    else # no Makefile rule: build them here
        local cf="-std=c11 -D_GNU_SOURCE -O2 -g -pthread -I. ${SANITIZE:+-fsanitize=$SANITIZE}"
        cc $cf -o "$LG" bench/loadgen.c -lm -lssl -lcrypto -lz || return 1
        cc $cf -o "$CSRV" bench/server.c examples/common.c "$BUILD/libsrv.a" \
            "$BUILD/libsocketio.a" "$BUILD/libengineio.a" \
            -lcivetweb -lcjson -lssl -lcrypto -lpthread || return 1
    fi
}
if ! build; then echo "bench: build failed" >&2; exit 1; fi
if [ "$SMOKE" = 0 ]; then
    if ! command -v node >/dev/null; then echo "bench: node is needed (make deps)" >&2; exit 1; fi
    (cd bench/node-ref && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] ||
        npm ci --no-audit --no-fund --loglevel=error; }) || { echo "bench: npm ci failed" >&2; exit 1; }
fi

# The socketioxide peer: a Cargo project, built here (not by make) when cargo is
# there. SXBIN is set if it can run; SX_NOTE says why not otherwise.
SXDIR=bench/socketioxide-ref
SXTARGET=$BUILD/socketioxide-target
SXBIN=""
SX_NOTE=""
build_socketioxide() {
    if [ "${SOCKETIOXIDE:-1}" = 0 ]; then SX_NOTE="skipped (SOCKETIOXIDE=0)"; return 1; fi
    if ! command -v cargo >/dev/null || ! command -v rustc >/dev/null; then
        SX_NOTE="skipped (no cargo/rustc on PATH)"
        return 1
    fi
    local v
    v=$(rustc --version 2>/dev/null | awk '{print $2}')
    if ! awk -v v="$v" 'BEGIN { split(v, a, "."); exit !(a[1] > 1 || (a[1] == 1 && a[2] >= 94)) }'; then
        SX_NOTE="skipped (rustc ${v:-?} is older than 1.94, socketioxide's minimum)"
        return 1
    fi
    local bin=$SXTARGET/release/socketioxide-ref
    if [ -x "$bin" ] && [ -z "$(find "$SXDIR/Cargo.toml" "$SXDIR/Cargo.lock" "$SXDIR/src" -newer "$bin" 2>/dev/null | head -1)" ]; then
        SXBIN=$bin
        return 0
    fi
    echo "bench: building the socketioxide peer (cargo build --release, log in $BUILD/socketioxide-build.log)" >&2
    mkdir -p "$BUILD"
    if CARGO_TARGET_DIR=$SXTARGET cargo build --release --locked --manifest-path "$SXDIR/Cargo.toml" \
        >"$BUILD/socketioxide-build.log" 2>&1 && [ -x "$bin" ]; then
        touch "$bin" # newer than the sources even when cargo had nothing to do
        SXBIN=$bin
        return 0
    fi
    tail -5 "$BUILD/socketioxide-build.log" >&2
    SX_NOTE="skipped (cargo build failed, see $BUILD/socketioxide-build.log)"
    return 1
}
if [ "$SMOKE" = 0 ] && ! build_socketioxide; then
    echo "bench: socketioxide $SX_NOTE" >&2
fi

# ------------------------------------------------------------------ servers
SRV_PID=""
start_server() { # kind port max_clients [server options, the same for C and Node]
    local kind=$1 port=$2 maxc=$3 log="$LOGDIR/server-$1-$2.log"
    shift 3
    case "$kind" in
    c) "$CSRV" --port "$port" --max-clients "$maxc" --log-level warn "$@" >"$log" 2>&1 & ;;
    node) node bench/node-ref/server.js --port "$port" "$@" >"$log" 2>&1 & ;;
    socketioxide) "$SXBIN" --port "$port" >"$log" 2>&1 & ;; # the binary itself: its PID is the server's
    esac
    SRV_PID=$!
    for _ in $(seq 1 100); do
        grep -q "listening on" "$log" 2>/dev/null && return 0
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "bench: the $kind server did not start:" >&2
    cat "$log" >&2
    return 1
}
SRV_RC=0
stop_server() { # sets SRV_RC: the server's exit status after SIGTERM (0: clean)
    [ -n "$SRV_PID" ] || return 0
    kill -TERM "$SRV_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SRV_PID" 2>/dev/null
    wait "$SRV_PID" 2>/dev/null
    SRV_RC=$?
    SRV_PID=""
}
trap 'stop_server; rm -rf "$LOGDIR"' EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ scenarios
# Scenarios with server options (C and Node alike; socketioxide runs only the
# plain ones): the msgpack parser, permessage-deflate (2 KB messages, above the
# 1024-byte threshold, so that they are compressed), connection state recovery.
declare -A SOPTS=(
    [echo_mp]="--parser msgpack" [fanout_mp]="--parser msgpack"
    [echo_pmd]="--per-message-deflate" [fanout_pmd]="--per-message-deflate"
    [connect_rec]="--recovery"
)
if [ "$SMOKE" = 1 ]; then
    SCEN=(connect echo fanout handshake slow pollecho echo_mp fanout_mp echo_pmd connect_rec)
    declare -A ARGS=(
        [connect]="--hold 0.5 connect 50"
        [echo]="--warmup 0.2 echo 10 1"
        [fanout]="fanout 50 5"
        [handshake]="--warmup 0.2 handshake 1"
        [slow]="--payload 1024 slow 1 20 --secs 0.5"
        [pollecho]="--warmup 0.2 pollecho 2 1"
        [echo_mp]="--msgpack --warmup 0.2 echo 10 1"
        [fanout_mp]="--msgpack fanout 50 5"
        [echo_pmd]="--deflate --payload 2048 --warmup 0.2 echo 10 1"
        [connect_rec]="--hold 0.5 connect 50"
    )
    KINDS=(c)
    MAXC=200
else
    SCEN=(echo fanout handshake connect slow pollecho)
    declare -A ARGS=(
        [connect]="connect ${CONNECT_N:-19000}"
        [echo]="echo ${ECHO_C:-100} ${ECHO_SECS:-10}"
        [fanout]="fanout ${FANOUT_N:-10000} ${FANOUT_R:-50}"
        [handshake]="handshake ${HS_SECS:-10}"
        [slow]="--payload ${SLOW_PAYLOAD:-16384} slow ${SLOW_K:-8} ${SLOW_N:-1000} --secs ${SLOW_SECS:-8}"
        [pollecho]="pollecho ${POLL_C:-50} ${POLL_SECS:-5}"
        [echo_mp]="--msgpack echo ${ECHO_C:-100} ${ECHO_SECS:-10}"
        [fanout_mp]="--msgpack fanout ${FANOUT_N:-10000} ${FANOUT_R:-50}"
        [echo_pmd]="--deflate --payload 2048 echo ${ECHO_C:-100} ${ECHO_SECS:-10}"
        [fanout_pmd]="--deflate --payload 2048 fanout ${FANOUT_PMD_N:-1000} ${FANOUT_R:-50}"
        [connect_rec]="connect ${CONNECT_N:-19000}"
    )
    SCEN+=(echo_mp fanout_mp echo_pmd fanout_pmd connect_rec)
    KINDS=(c node)
    [ -n "$SXBIN" ] && KINDS+=(socketioxide)
    MAXC=19500
fi

declare -A RES
failed=0
LOADAVG0=$(cut -d' ' -f1-3 /proc/loadavg)
RAW=$BUILD/bench-raw.txt
mkdir -p "$BUILD"
: >"$RAW"
for s in "${SCEN[@]}"; do
    case "$ONLY" in "" | *",$s,"*) ;; *) continue ;; esac
    for k in "${KINDS[@]}"; do
        [ -n "${SOPTS[$s]:-}" ] && [ "$k" = socketioxide ] && continue
        PORT=$((PORT + 1))
        # shellcheck disable=SC2086
        if ! start_server "$k" "$PORT" "$MAXC" ${SOPTS[$s]:-}; then
            failed=1
            continue
        fi
        echo "== $s on $k: loadgen ${ARGS[$s]}" >&2
        # shellcheck disable=SC2086
        line=$(timeout 400 "$LG" --port "$PORT" --pid "$SRV_PID" --timeout 350 ${ARGS[$s]} \
            2>"$LOGDIR/lg-$s-$k.err")
        rc=$?
        hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$SRV_PID/status" 2>/dev/null)
        cpu=$(awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$SRV_PID/stat" 2>/dev/null)
        stop_server
        echo "$line" >&2
        echo "$k $line server_peak_rss_mb=$(awk -v k="${hwm:-0}" 'BEGIN{printf "%.1f", k/1024}') server_cpu_s=${cpu:-?}" >>"$RAW"
        RES[$s.$k]="$line"
        if [ $SRV_RC -ne 0 ]; then
            echo "bench: the $k server exited with status $SRV_RC after SIGTERM" >&2
            tail -20 "$LOGDIR/server-$k-$PORT.log" >&2
            failed=1
        fi
        if [ $rc -ne 0 ] || [ -z "$line" ]; then
            echo "bench: $s on $k did not complete (exit $rc)" >&2
            tail -5 "$LOGDIR/lg-$s-$k.err" >&2
            grep -v "listening on" "$LOGDIR/server-$k-$PORT.log" | tail -5 >&2
            failed=1
        fi
        [ "$SMOKE" = 1 ] || sleep 1 # let the closed connections go away
    done
done

if [ "$SMOKE" = 1 ]; then
    if [ $failed -ne 0 ]; then
        echo "bench smoke: FAILED"
        exit 1
    fi
    echo "bench smoke: every scenario completed"
    exit 0
fi

# ------------------------------------------------------------------ table
kv() { # line key
    sed -n "s|.* $2=\([^ ]*\).*|\1|p" <<<" $1" | head -1
}
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}
OUT=$BUILD/bench-results.txt
sx_version() { # the socketioxide version in the lock file
    awk '/^name = "socketioxide"$/ { f = 1; next } f && /^version/ { gsub(/"/, "", $3); print $3; exit }' "$SXDIR/Cargo.lock" 2>/dev/null
}
{
    echo "Benchmark: C server (bench/server.c) vs Node socket.io $(node -p 'require("./bench/node-ref/node_modules/socket.io/package.json").version' 2>/dev/null) (bench/node-ref) vs socketioxide $(sx_version) (bench/socketioxide-ref, axum, tokio), same generator (bench/loadgen.c), loopback"
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB, Linux $(uname -r), node $(node --version), $(rustc --version 2>/dev/null | cut -d' ' -f1-2 | grep . || echo "no rustc"), open files $(ulimit -n)"
    echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null), load average before: $LOADAVG0"
    [ -z "$SX_NOTE" ] || echo "socketioxide: $SX_NOTE"
    echo
    printf "%-10s %-26s %12s %12s %12s %8s %9s\n" scenario metric C Node socketioxide "C/Node" "C/sioxide"
    printf "%-10s %-26s %12s %12s %12s %8s %9s\n" ---------- -------------------------- ------------ ------------ ------------ -------- ---------
    row() { # scenario metric key [label]
        local c n x
        c=$(kv "${RES[$1.c]:-}" "$3")
        n=$(kv "${RES[$1.node]:-}" "$3")
        x=$(kv "${RES[$1.socketioxide]:-}" "$3")
        printf "%-10s %-26s %12s %12s %12s %8s %9s\n" "$1" "${4:-$3}" "${c:--}" "${n:--}" "${x:--}" \
            "$(ratio "$c" "$n")" "$(ratio "$c" "$x")"
    }
    row echo "acks/s" "acks/s" "acks/s (${ECHO_C:-100} clients)"
    row echo p50_ms p50_ms
    row echo p99_ms p99_ms
    row fanout deliveries/s deliveries/s "deliveries/s (${FANOUT_N:-10000})"
    row fanout p50_ms p50_ms "p50_ms (send->last)"
    row fanout p99_ms p99_ms "p99_ms (send->last)"
    row fanout missing missing
    row handshake per_s per_s "handshakes/s"
    row handshake p99_ms p99_ms
    row connect connected connected "held (of ${CONNECT_N:-19000})"
    row connect conn/s conn/s
    row connect kb_per_client kb_per_client "server KB per client"
    row connect rss_after_mb rss_after_mb "server RSS held (MB)"
    row slow p99_base_ms p99_base_ms "p99_ms without slow"
    row slow p99_ms p99_ms "p99_ms with ${SLOW_K:-8} slow"
    row slow p99_ratio p99_ratio "p99 with/without"
    row slow rss_base_mb rss_base_mb "RSS before (MB)"
    row slow rss_peak_mb rss_peak_mb "RSS peak, slow phase (MB)"
    row slow dropped dropped "slow clients dropped"
    row slow still_behind still_behind "slow left behind (lost)"
    row pollecho "acks/s" "acks/s" "acks/s (${POLL_C:-50} polling)"
    row pollecho p99_ms p99_ms
    row echo_mp "acks/s" "acks/s" "acks/s (msgpack parser)"
    row echo_mp p99_ms p99_ms
    row fanout_mp deliveries/s deliveries/s "deliveries/s (msgpack)"
    row fanout_mp p99_ms p99_ms "p99_ms (send->last)"
    row echo_pmd "acks/s" "acks/s" "acks/s (2 KB, deflate)"
    row echo_pmd p99_ms p99_ms
    row fanout_pmd deliveries/s deliveries/s "deliveries/s (${FANOUT_PMD_N:-1000}, 2 KB)"
    row fanout_pmd p99_ms p99_ms "p99_ms (send->last)"
    row fanout_pmd rss_mb rss_mb "server RSS peak (MB)"
    row connect_rec kb_per_client kb_per_client "KB per client (recovery)"
    echo
    # the targets of the issue
    e_c=$(kv "${RES[echo.c]:-}" "acks/s"); e_n=$(kv "${RES[echo.node]:-}" "acks/s")
    e_pc=$(kv "${RES[echo.c]:-}" p99_ms); e_pn=$(kv "${RES[echo.node]:-}" p99_ms)
    f_c=$(kv "${RES[fanout.c]:-}" "deliveries/s"); f_n=$(kv "${RES[fanout.node]:-}" "deliveries/s")
    f_m=$(kv "${RES[fanout.c]:-}" missing)
    h_c=$(kv "${RES[handshake.c]:-}" per_s); h_n=$(kv "${RES[handshake.node]:-}" per_s)
    c_h=$(kv "${RES[connect.c]:-}" held); c_kc=$(kv "${RES[connect.c]:-}" kb_per_client)
    c_kn=$(kv "${RES[connect.node]:-}" kb_per_client)
    s_r=$(kv "${RES[slow.c]:-}" p99_ratio); s_d=$(kv "${RES[slow.c]:-}" dropped)
    s_b=$(kv "${RES[slow.c]:-}" rss_base_mb); s_p=$(kv "${RES[slow.c]:-}" rss_peak_mb)
    verdict() { if awk "BEGIN { exit !($1) }" 2>/dev/null; then echo met; else echo "NOT met"; fi; }
    echo "Targets:"
    echo "  echo: >= 2x Node's acks/s and a lower p99 ($(ratio "$e_c" "$e_n")x, p99 ${e_pc:-?} vs ${e_pn:-?} ms): $(verdict "${e_c:-0} >= 2 * ${e_n:-1} && ${e_pc:-9e9} < ${e_pn:-0}")"
    echo "  fanout: >= 2x Node's deliveries/s, nothing missing ($(ratio "$f_c" "$f_n")x, missing ${f_m:-?}): $(verdict "${f_c:-0} >= 2 * ${f_n:-1} && ${f_m:-1} == 0")"
    echo "  handshake: >= 3x Node's per second ($(ratio "$h_c" "$h_n")x): $(verdict "${h_c:-0} >= 3 * ${h_n:-1}")"
    echo "  connect: ${CONNECT_N:-19000} held (${c_h:-0}), KB per client <= Node's (${c_kc:-?} vs ${c_kn:-?}): $(verdict "${c_h:-0} >= ${CONNECT_N:-19000} && ${c_kc:-9e9} <= ${c_kn:-0}")"
    echo "  slow: p99 within 2x (${s_r:-?}x), ${SLOW_K:-8} dropped (${s_d:-?}), memory bounded (+$(awk -v a="${s_p:-0}" -v b="${s_b:-0}" 'BEGIN{printf "%.1f", a-b}') MB): $(verdict "${s_r:-9} <= 2 && ${s_d:-0} == ${SLOW_K:-8} && ${s_p:-9e9} - ${s_b:-0} <= ${SLOW_K:-8} * 4 + 16")"
    echo
    echo "Command: make bench (bash bench/run.sh); raw lines: $RAW"
} | tee "$OUT"
[ $failed -eq 0 ]
