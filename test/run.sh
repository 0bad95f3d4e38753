#!/usr/bin/env bash
# Runs every test: C unit tests, a short libFuzzer run of every fuzz target over
# its seed corpus, a 60-second soak, and the end-to-end suites (real npm
# clients against the servers in $BUILD), plain, then the thread-heavy ones
# against the ThreadSanitizer build ($TSAN_BUILD), then over TLS (E2E_TLS=1). Prints
# "N passed, M failed" as its last line; exits 1 if anything failed. Called by
# `make test` after the builds.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/asan}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0
failed=0
failures=()

count() { # name rc passed failed
    passed=$((passed + $3))
    failed=$((failed + $4))
    if [ "$4" -gt 0 ] || [ "$2" -ne 0 ]; then failures+=("$1"); fi
}

echo "== format (clang-format, .clang-format)"
if out=$(make -s format-check 2>&1); then
    echo "format-check: ok"
    count format-check 0 1 0
else
    echo "$out" | head -20
    echo "format-check: FAILED (run make format)"
    count format-check 1 0 1
fi

echo "== unit tests ($BUILD/test)"
for t in "$BUILD"/test/test_*; do
    [ -x "$t" ] || continue
    out=$(timeout 120 "$t" 2>&1)
    rc=$?
    p=$(grep -c '^ok - ' <<<"$out")
    f=$(grep -c '^not ok - ' <<<"$out")
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crashed or sanitizer report
    [ $rc -ne 0 ] && echo "$out" | tail -40
    echo "$(basename "$t"): $p passed, $f failed"
    count "$(basename "$t")" $rc "$p" "$f"
done

echo "== fuzz targets (${FUZZ_SECONDS}s each)"
for fz in build/fuzz/fuzz_*; do
    [ -x "$fz" ] || continue
    name=$(basename "$fz")
    seeds=test/fuzz/corpus/$name
    work=$(mktemp -d)
    dict=()
    [ -f "test/fuzz/$name.dict" ] && dict=(-dict="test/fuzz/$name.dict")
    if timeout $((FUZZ_SECONDS + 60)) "$fz" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 "${dict[@]}" \
        -artifact_prefix="$work/" "$work" "$seeds" >"$work/log" 2>&1; then
        echo "$name: ok"
        count "$name" 0 1 0
    else
        tail -30 "$work/log"
        echo "$name: FAILED (artifacts in $work)"
        count "$name" 1 0 1
        continue
    fi
    rm -rf "$work"
done

echo "== benchmark smoke run (bench/run.sh --smoke, C server, a few seconds)"
if out=$(BUILD=$BUILD timeout 300 bash bench/run.sh --smoke 2>&1); then
    echo "bench-smoke: ok"
    count bench-smoke 0 1 0
else
    echo "$out" | tail -20
    echo "bench-smoke: FAILED"
    count bench-smoke 1 0 1
fi

echo "== soak smoke run (test/soak/soak.js --seconds 60: churn against $BUILD/bench-server, RSS and descriptors)"
if out=$(timeout 400 node test/soak/soak.js --seconds 60 --build "$BUILD" --out build/soak-smoke 2>&1); then
    echo "$out" | grep -E '^soak: (connects|RSS|descriptors)'
    echo "soak-smoke: ok"
    count soak-smoke 0 1 0
else
    echo "$out" | tail -40
    echo "soak-smoke: FAILED (build/soak-smoke/)"
    count soak-smoke 1 0 1
fi

echo "== packaging (test/packaging/check.sh: make install, hello built with pkg-config alone)"
if out=$(timeout 300 bash test/packaging/check.sh 2>&1); then
    echo "$out" | tail -1
    count packaging 0 1 0
else
    echo "$out" | tail -20
    echo "packaging: FAILED"
    count packaging 1 0 1
fi

echo "== cluster benchmark smoke run (bench/cluster.sh --smoke: two C nodes over redis-server)"
if out=$(BUILD=$BUILD timeout 120 bash bench/cluster.sh --smoke 2>&1); then
    echo "cluster-bench-smoke: ok"
    count cluster-bench-smoke 0 1 0
else
    echo "$out" | tail -20
    echo "cluster-bench-smoke: FAILED"
    count cluster-bench-smoke 1 0 1
fi

echo "== interop (test/interop: python-socketio client against sio-echo and sio-test)"
if command -v python3 >/dev/null 2>&1; then
    venv=build/interop-venv
    req=test/interop/requirements.txt
    # (Re)built only when missing or when the requirements changed.
    if ! { [ -x "$venv/bin/python" ] && cmp -s "$req" "$venv/requirements.txt"; }; then
        rm -rf "$venv"
        if python3 -m venv "$venv" >/dev/null 2>&1 &&
            "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >"$venv.log" 2>&1; then
            cp "$req" "$venv/requirements.txt"
        else
            tail -20 "$venv.log" 2>/dev/null
            echo "interop: could not set up $venv (python3 -m venv needs python3-venv; pip needs PyPI)"
        fi
    fi
    if [ -f "$venv/requirements.txt" ]; then
        out=$(BUILD_DIR="$(cd "$BUILD" && pwd)" timeout 120 "$venv/bin/python" \
            test/interop/test_python_client.py 2>&1)
        rc=$?
        p=$(grep -c '^ok - ' <<<"$out")
        f=$(grep -c '^not ok - ' <<<"$out")
        if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        [ $rc -ne 0 ] && grep -v '^ok - ' <<<"$out" | tail -60
        echo "interop-python: $p passed, $f failed"
        count interop-python $rc "$p" "$f"
    else
        count interop-python 1 0 1
    fi
else
    echo "interop: skipped (no python3)"
fi

# Runs every e2e file once (node:test, one file at a time) and counts the
# result as step $1; extra environment assignments follow (e.g. E2E_TLS=1).
run_e2e() { # name [VAR=value...]
    local name=$1 out rc p f
    shift
    out=$(cd test/e2e && env "$@" EIO_ECHO="$PWD/../../$BUILD/eio-echo" BUILD_DIR="$PWD/../../$BUILD" \
        timeout 900 node --test --test-reporter=tap --test-concurrency=1 $e2e_files 2>&1)
    rc=$?
    p=$(grep -E '^# pass ' <<<"$out" | awk '{print $3}')
    f=$(grep -E '^# fail ' <<<"$out" | awk '{print $3}')
    p=${p:-0}
    f=${f:-0}
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    grep -E '^\s*not ok ' <<<"$out" | head -40
    if [ "$f" -gt 0 ]; then
        grep -B2 -A25 -E '^\s*not ok ' <<<"$out" | grep -vE '^\s*(ok|# Subtest)' | head -150
    fi
    echo "$name: $p passed, $f failed"
    count "$name" $rc "$p" "$f"
}

echo "== end-to-end (test/e2e)"
e2e_files=$(cd test/e2e && ls *.test.js 2>/dev/null)
if [ -n "$e2e_files" ]; then
    run_e2e e2e
fi

# The suites that drive the threads (the engine's loop and its lock, civetweb's
# workers behind the hand-off, the Admin UI's bcrypt worker, the cluster's Redis
# connections on the loop, application threads calling in, shutdown) again,
# against the servers built with ThreadSanitizer ($TSAN_BUILD, `make test`
# builds it with SANITIZE=thread): ~2.5 min. A report makes the server's
# stderr fail assertNoSanitizerReport and its exit status exitcode=66 fail the
# SIGTERM check. No suppressions: the uninstrumented libcivetweb and
# libhiredis gave no report (civetweb's threads only touch the engine through
# its lock, hiredis runs on the loop).
TSAN_BUILD=${TSAN_BUILD:-build/tsan}
TSAN_SUITES="concurrency sio-echo client-v4 client-v3 raw-http raw-ws http-framing serve-client
    http-compression shutdown heartbeat limits options options2 sio-features sio-disconnect sio-raw
    recovery msgpack-parser admin-ui cluster-classic cluster-faults parallel-parse"
echo "== end-to-end under ThreadSanitizer ($TSAN_BUILD: $(echo $TSAN_SUITES | wc -w) suites)"
if [ -n "$e2e_files" ] && [ -x "$TSAN_BUILD/sio-test" ]; then
    tsan_files=$(for f in $TSAN_SUITES; do echo "$f.test.js"; done)
    e2e_files=$tsan_files BUILD=$TSAN_BUILD run_e2e e2e-tsan EIO_SLOW=2 \
        TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1"
elif [ -n "$e2e_files" ]; then
    echo "e2e-tsan: $TSAN_BUILD/sio-test is missing (make BUILD=$TSAN_BUILD SANITIZE=thread c)"
    count e2e-tsan 1 0 1
fi

echo "== end-to-end over TLS (test/e2e with E2E_TLS=1: HTTPS and WSS, self-signed certificate)"
if [ -n "$e2e_files" ]; then
    # One certificate for the run (CN localhost, SAN localhost, 127.0.0.1, ::1),
    # trusted by the clients through NODE_EXTRA_CA_CERTS (no verification
    # turned off); the same command as test/e2e/lib/tls.js's makeCert.
    tlsdir=$(mktemp -d)
    if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$tlsdir/key.pem" -out "$tlsdir/cert.pem" -days 30 -subj /CN=localhost \
        -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1' >"$tlsdir/openssl.log" 2>&1; then
        run_e2e e2e-tls E2E_TLS=1 E2E_TLS_CERT="$tlsdir/cert.pem" E2E_TLS_KEY="$tlsdir/key.pem" \
            NODE_EXTRA_CA_CERTS="$tlsdir/cert.pem"
    else
        cat "$tlsdir/openssl.log"
        echo "e2e-tls: could not make the test certificate with openssl"
        count e2e-tls 1 0 1
    fi
    rm -rf "$tlsdir"
fi

if [ ${#failures[@]} -gt 0 ]; then echo "failed: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
