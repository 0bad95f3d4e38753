#!/usr/bin/env bash
# bench/wss.sh: the WSS benchmark (WebSocket over TLS). Runs build/loadgen --tls
# against the C server (build/bench-server --tls-cert/--tls-key) and the
# reference Node socket.io server on https.createServer (bench/node-ref), one
# after the other on this machine, a fresh server process for each run, and
# prints a table of figures and the ratio C / Node. The table is also appended
# to $BUILD/bench-results-wss.txt, every raw result line goes to
# $BUILD/bench-raw-wss.txt.
#
#   bash bench/wss.sh            full run (about a minute)
#   bash bench/wss.sh --smoke    a 2-second echo with 10 clients, C server only;
#                                exits non-zero if the generator could not complete
#
# Scenarios: WSS echo (ECHO_C clients, 100, for ECHO_SECS, 10: acks/s, p99) and
# CONNECT_N (10,000) idle WSS clients held (server memory per client: its RSS
# after minus before, over the clients connected, as run.sh's connect).
# The certificate: a self-signed ECDSA P-256 one for localhost, made with
# `openssl req -x509` into $BUILD/bench-tls/ (again when missing or about to
# expire). TLS as both servers negotiate it by default (TLS 1.3 here).
#
# Environment: BUILD (build), PORT_BASE (21400; ports in use are skipped; keep
# it below the ephemeral range), ECHO_C, ECHO_SECS, CONNECT_N.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SMOKE=0
while [ $# -gt 0 ]; do
    case "$1" in
    --smoke) SMOKE=1 ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "usage: bench/wss.sh [--smoke]" >&2; exit 2 ;;
    esac
    shift
done

# Both processes hold one descriptor per client: take the hard limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

LG=$BUILD/loadgen
CSRV=$BUILD/bench-server
PORT=${PORT_BASE:-21400}
LOGDIR=$(mktemp -d /tmp/bench-wss.XXXXXX)
trap 'rm -rf "$LOGDIR"' EXIT

# ------------------------------------------------------------------ build
if ! { [ "$SMOKE" = 1 ] && [ -x "$LG" ] && [ -x "$CSRV" ]; }; then
    make -s BUILD="$BUILD" "$LG" "$CSRV" >/dev/null || { echo "wss: build failed" >&2; exit 1; }
fi
if ! "$LG" --help 2>&1 | grep -q -- --tls; then
    echo "wss: $LG has no --tls (rebuild it: make c)" >&2
    exit 1
fi
if [ "$SMOKE" = 0 ]; then
    if ! command -v node >/dev/null; then echo "wss: node is needed (make deps)" >&2; exit 1; fi
    (cd bench/node-ref && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] ||
        npm ci --no-audit --no-fund --loglevel=error; }) || { echo "wss: npm ci failed" >&2; exit 1; }
fi

# ------------------------------------------------------------------ certificate
TLSDIR=$BUILD/bench-tls
CERT=$TLSDIR/cert.pem
KEY=$TLSDIR/key.pem
if ! { [ -s "$CERT" ] && [ -s "$KEY" ] && openssl x509 -in "$CERT" -noout -checkend 86400 >/dev/null 2>&1; }; then
    mkdir -p "$TLSDIR"
    if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$KEY" -out "$CERT" -days 30 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$LOGDIR/openssl.log" 2>&1; then
        echo "wss: openssl req failed:" >&2
        cat "$LOGDIR/openssl.log" >&2
        exit 1
    fi
    chmod 600 "$KEY"
fi

# ------------------------------------------------------------------ servers
next_port() { # sets PORT to the next port nobody listens on
    PORT=$((PORT + 1))
    while [ -n "$(ss -Htln "sport = :$PORT" 2>/dev/null)" ]; do PORT=$((PORT + 1)); done
}
SRV_PID=""
start_server() { # kind port max_clients
    local kind=$1 port=$2 maxc=$3 log="$LOGDIR/server-$1-$2.log"
    case "$kind" in
    c) "$CSRV" --port "$port" --max-clients "$maxc" --log-level warn \
        --tls-cert "$CERT" --tls-key "$KEY" >"$log" 2>&1 & ;;
    node) node bench/node-ref/server.js --port "$port" --tls-cert "$CERT" --tls-key "$KEY" >"$log" 2>&1 & ;;
    esac
    SRV_PID=$!
    for _ in $(seq 1 100); do
        grep -q "listening on https://" "$log" 2>/dev/null && return 0
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "wss: the $kind server did not start on https://:$port:" >&2
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

tls_params() { # port: "TLSv1.3 TLS_AES_256_GCM_SHA384" as the server negotiates it
    openssl s_client -connect "127.0.0.1:$1" -brief </dev/null 2>&1 |
        awk -F': ' '/^Protocol version/ { p = $2 } /^Ciphersuite/ { c = $2 } END { if (p) print p, c }'
}

# ------------------------------------------------------------------ scenarios
if [ "$SMOKE" = 1 ]; then
    SCEN=(echo)
    declare -A ARGS=([echo]="--warmup 0.2 echo 10 2")
    KINDS=(c)
    MAXC=200
else
    SCEN=(echo connect)
    declare -A ARGS=(
        [echo]="echo ${ECHO_C:-100} ${ECHO_SECS:-10}"
        [connect]="connect ${CONNECT_N:-10000}"
    )
    KINDS=(c node)
    MAXC=19500
fi

declare -A RES TLSP
failed=0
LOADAVG0=$(cut -d' ' -f1-3 /proc/loadavg)
RAW=$BUILD/bench-raw-wss.txt
mkdir -p "$BUILD"
[ "$SMOKE" = 1 ] || : >"$RAW"
for s in "${SCEN[@]}"; do
    for k in "${KINDS[@]}"; do
        next_port
        if ! start_server "$k" "$PORT" "$MAXC"; then
            failed=1
            continue
        fi
        # what TLS the server speaks (one connection, before the echo only:
        # the idle scenario measures the memory of its own clients)
        [ "$s" = echo ] && TLSP[$k]=$(tls_params "$PORT")
        echo "== wss $s on $k: loadgen --tls ${ARGS[$s]}" >&2
        # shellcheck disable=SC2086
        line=$(timeout 400 "$LG" --tls --port "$PORT" --pid "$SRV_PID" --timeout 350 ${ARGS[$s]} \
            2>"$LOGDIR/lg-$s-$k.err")
        rc=$?
        hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$SRV_PID/status" 2>/dev/null)
        cpu=$(awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$SRV_PID/stat" 2>/dev/null)
        stop_server
        echo "$line" >&2
        extra="server_peak_rss_mb=$(awk -v k="${hwm:-0}" 'BEGIN{printf "%.1f", k/1024}') server_cpu_s=${cpu:-?}"
        [ "$SMOKE" = 1 ] || echo "$k $line $extra" >>"$RAW"
        RES[$s.$k]="$line $extra"
        if [ $SRV_RC -ne 0 ]; then
            echo "wss: the $k server exited with status $SRV_RC after SIGTERM" >&2
            tail -20 "$LOGDIR/server-$k-$PORT.log" >&2
            failed=1
        fi
        if [ $rc -ne 0 ] || [ -z "$line" ]; then
            echo "wss: $s on $k did not complete (exit $rc)" >&2
            tail -5 "$LOGDIR/lg-$s-$k.err" >&2
            grep -v "listening on" "$LOGDIR/server-$k-$PORT.log" | tail -5 >&2
            failed=1
        fi
        [ "$SMOKE" = 1 ] || sleep 1 # let the closed connections go away
    done
done

if [ "$SMOKE" = 1 ]; then
    if [ $failed -ne 0 ]; then
        echo "wss smoke: FAILED"
        exit 1
    fi
    echo "wss smoke: WSS echo completed (${TLSP[c]:-TLS}): ${RES[echo.c]%% server_peak*}"
    exit 0
fi

# ------------------------------------------------------------------ table
kv() { # line key
    sed -n "s|.* $2=\([^ ]*\).*|\1|p" <<<" $1" | head -1
}
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}
OUT=$BUILD/bench-results-wss.txt
{
    echo "WSS benchmark: C server (bench/server.c) vs Node socket.io $(node -p 'require("./bench/node-ref/node_modules/socket.io/package.json").version' 2>/dev/null) on https.createServer (bench/node-ref), same generator (bench/loadgen.c --tls), loopback"
    echo "TLS: self-signed ECDSA P-256 certificate; C: ${TLSP[c]:-?}; Node: ${TLSP[node]:-?}; OpenSSL $(openssl version | cut -d' ' -f2) (C server, generator), node's $(node -p process.versions.openssl 2>/dev/null)"
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ {print $2}') GiB, Linux $(uname -r), node $(node --version), open files $(ulimit -n)"
    echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null), load average before: $LOADAVG0"
    echo
    printf "%-10s %-30s %12s %12s %8s\n" scenario metric C Node "C/Node"
    printf "%-10s %-30s %12s %12s %8s\n" ---------- ------------------------------ ------------ ------------ --------
    row() { # scenario label-in-table key [metric label]
        local c n
        c=$(kv "${RES[$1.c]:-}" "$3")
        n=$(kv "${RES[$1.node]:-}" "$3")
        printf "%-10s %-30s %12s %12s %8s\n" "$2" "${4:-$3}" "${c:--}" "${n:--}" "$(ratio "$c" "$n")"
    }
    row echo wss-echo "acks/s" "acks/s (${ECHO_C:-100} clients, ${ECHO_SECS:-10} s)"
    row echo wss-echo p50_ms
    row echo wss-echo p99_ms
    row echo wss-echo server_cpu_s "server CPU (s, whole run)"
    row connect wss-idle held "held (of ${CONNECT_N:-10000})"
    row connect wss-idle conn/s "connects/s (TLS handshakes)"
    row connect wss-idle kb_per_client "server KB per client"
    row connect wss-idle rss_after_mb "server RSS held (MB)"
    echo
    echo "Command: bash bench/wss.sh; raw lines: $RAW"
    echo
} | tee -a "$OUT"
[ $failed -eq 0 ]
