#!/usr/bin/env bash
# Runs every fuzz target for N minutes (default 10), one at a time, at the lowest priority, and
# prints libFuzzer's final stats per target. Needs cargo-fuzz and the nightly toolchain:
#   cargo install cargo-fuzz; fuzz/seed.sh; fuzz/run-all.sh 10
# Crash inputs land in fuzz/artifacts/<target>/; logs in fuzz/logs/.
set -uo pipefail
cd "$(dirname "$0")"
minutes=${1:-10}
targets=${TARGETS:-"decode exif avif webp sheets cube toml slate"}
# A target dir of its own: the sanitizer flags would otherwise rebuild the main one.
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target}
# No sanitizer: the C decoders are not instrumented by cargo-fuzz anyway, and safe Rust
# needs none; debug assertions (-a) turn overflows into crashes.
build_flags=(--sanitizer none -a -O)
mkdir -p logs
nice -n 19 cargo +nightly fuzz build "${build_flags[@]}" || exit 1
status=0
for target in $targets; do
    mkdir -p "corpus/$target" "artifacts/$target"
    log="logs/$target.log"
    nice -n 19 cargo +nightly fuzz run "${build_flags[@]}" "$target" "corpus/$target" -- \
        -max_total_time=$((minutes * 60)) -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
        -artifact_prefix="artifacts/$target/" >"$log" 2>&1 || status=1
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    crashes=$(ls "artifacts/$target" | wc -l)
    echo "$target: ${runs:-?} executions, $crashes crash/timeout/oom inputs"
done
exit $status
