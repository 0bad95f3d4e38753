#!/usr/bin/env bash
# `make fuzz-long`: runs each libFuzzer target of build/fuzz/ (or the ones
# named as arguments, e.g. fuzz_clu_message) for FUZZ_LONG_SECONDS (300) with
# its dictionary (test/fuzz/<target>.dict) over its seed corpus
# (test/fuzz/corpus/<target>/), one target at a time. New inputs go to
# build/fuzz-corpus/<target>/ (kept between runs, so a second run starts where
# the first stopped; the seeds in git stay small), crashes to
# build/fuzz-artifacts/<target>/. Prints a line per target (executions,
# coverage, corpus size) and exits 1 if any target crashed, leaked or timed
# out; the input that did it is named in the report.
set -u
cd "$(dirname "$0")/../.."
SECONDS_EACH=${FUZZ_LONG_SECONDS:-300}
RSS_LIMIT_MB=${FUZZ_RSS_LIMIT_MB:-2048}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for fz in build/fuzz/fuzz_*; do [ -x "$fz" ] && targets+=("$(basename "$fz")"); done
fi
failed=()
for name in "${targets[@]}"; do
    fz=build/fuzz/$name
    if [ ! -x "$fz" ]; then
        echo "$name: FAILED (no $fz: make fuzz)"
        failed+=("$name")
        continue
    fi
    seeds=test/fuzz/corpus/$name
    work=build/fuzz-corpus/$name
    artifacts=build/fuzz-artifacts/$name
    mkdir -p "$work" "$artifacts"
    log=$artifacts/log
    dict=()
    [ -f "test/fuzz/$name.dict" ] && dict=(-dict="test/fuzz/$name.dict")
    timeout $((SECONDS_EACH + 120)) "$fz" -max_total_time="$SECONDS_EACH" -rss_limit_mb="$RSS_LIMIT_MB" \
        -timeout=25 "${dict[@]}" -artifact_prefix="$artifacts/" -print_final_stats=1 \
        "$work" "$seeds" >"$log" 2>&1
    rc=$?
    runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    corpus=$(find "$work" -type f | wc -l)
    if [ $rc -eq 0 ]; then
        echo "$name: ok, ${runs:-?} runs in ${SECONDS_EACH}s, cov ${cov:-?}, ft ${ft:-?}, corpus $corpus"
    else
        grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -20
        tail -5 "$log"
        echo "$name: FAILED (exit $rc; log and inputs in $artifacts/)"
        failed+=("$name")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz-long: ${#failed[@]} of ${#targets[@]} failed: ${failed[*]}"
    exit 1
fi
echo "fuzz-long: ${#targets[@]} targets, ${SECONDS_EACH}s each, no crash"
