#!/usr/bin/env bash
# Runs every fuzz target for N minutes (default 10), one at a time, at the lowest priority, and
# prints one table row per target (the table in fuzz/README.md). Needs cargo-fuzz and nightly:
#   cargo install cargo-fuzz; fuzz/seed.sh; fuzz/run-all.sh 10
# Crash inputs land in fuzz/artifacts/<target>/ (crash-*, timeout-*, oom-*; caught-* are
# panics headshot catches on purpose, see fuzz_targets/caught.rs); logs in fuzz/logs/.
set -uo pipefail
cd "$(dirname "$0")"
minutes=${1:-10}
targets=${TARGETS:-"decode exif avif webp sheets cube toml slate"}
# A target dir of its own: the sanitizer flags would otherwise rebuild the main one.
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target}
# No sanitizer: the C decoders are not instrumented by cargo-fuzz anyway, and safe Rust
# needs none; debug assertions (-a) turn overflows into crashes. 16 codegen units: the
# instrumented release build of every dependency otherwise takes most of an hour on 2 cores.
build_flags=(--sanitizer none -a -O --codegen-units 16)
mkdir -p logs
# The build at the usual build priority (nice 10); only the long runs go to the lowest.
nice -n 10 cargo +nightly fuzz build "${build_flags[@]}" || exit 1
echo "| target | minutes | executions | execs/s | crash/timeout/oom inputs | caught panics |"
echo "|---|---|---|---|---|---|"
status=0
for target in $targets; do
    mkdir -p "corpus/$target" "artifacts/$target"
    log="logs/$target.log"
    started=$(date +%s)
    FUZZ_CAUGHT_DIR="artifacts/$target" nice -n 19 cargo +nightly fuzz run "${build_flags[@]}" \
        "$target" "corpus/$target" -- \
        -max_total_time=$((minutes * 60)) -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
        -artifact_prefix="artifacts/$target/" >"$log" 2>&1 || status=1
    elapsed=$(($(date +%s) - started))
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    crashes=$(find "artifacts/$target" -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' | wc -l)
    caught=$(find "artifacts/$target" -name 'caught-*' | wc -l)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$target" "$(awk "BEGIN{printf \"%.1f\", $elapsed/60}")" \
        "${runs:-?}" "${speed:-?}" "$crashes" "$caught"
done
exit $status
