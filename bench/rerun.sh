#!/usr/bin/env bash
# Times a no-change re-run: `headshot run` over a shoot whose outputs are all current, which
# should only stat files (no decode, no hashing). Prints seconds per hundred photos.
# See bench/README.md ("Re-runs").
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/rerun.sh [options]

  -n N            photos in the shoot (default 300, env BENCH_RERUN_N)
  -r ROUNDS       timed no-change re-runs (default 5)
  -j JOBS         workers (default nproc)
  --no-build      use the existing target/release/headshot
  --headshot PATH time this headshot binary instead (implies --no-build)
  -h, --help      this text

The shoot hard-links the bench's cached 24-megapixel inputs (bench/run.sh --inputs-only makes
8 of them) under N names. The first, untimed run makes two small derivatives per photo (so it
takes seconds, not minutes); the re-runs have the same settings and nothing to do.
EOF
}

photos=${BENCH_RERUN_N:-300}
rounds=5
jobs=$(nproc)
build=1
headshot=""
while (($#)); do
  case $1 in
    -n) photos=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --headshot) headshot=$2; build=0; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
die() { echo "bench: $*" >&2; exit 2; }
[[ $photos =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive whole number, got '$photos'"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "-r wants a positive whole number, got '$rounds'"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$repo/bench/work
headshot=${headshot:-${CARGO_TARGET_DIR:-$repo/target}/release/headshot}
if ((build)); then
  (cd "$repo" && cargo build --release --quiet) || die "cargo build --release failed"
fi
[[ -x $headshot ]] || die "no $headshot; build it or pass --headshot PATH"

base_count=8
"$repo/bench/run.sh" --inputs-only --no-scale -n "$base_count" >/dev/null
shoot=$work/rerun-in-$photos out=$work/rerun-out
rm -rf "$shoot" "$out"
mkdir -p "$shoot"
for ((i = 0; i < photos; i++)); do
  ln "$work/pool/$(printf 'bench_%03d.jpg' $((i % base_count + 1)))" "$shoot/$(printf 'photo_%04d.jpg' "$i")"
done
cat > "$work/rerun-export.toml" <<'EOF'
description = "bench/rerun.sh: two small derivatives, so the first run is quick"
[[derivative]]
name = "small"
long_edge = 400
[[derivative]]
name = "tiny"
long_edge = 200
EOF
run() { "$headshot" run "$shoot" --out "$out" --export "$work/rerun-export.toml" --jobs "$jobs" --quiet; }

echo "first run (untimed): $photos photos" >&2
run >&2
declare -a times=()
for ((round = 1; round <= rounds; round++)); do
  start=$(date +%s.%N)
  summary=$(run)
  end=$(date +%s.%N)
  [[ $summary == *"0 ok, 0 failed, $photos skipped"* ]] || die "round $round did not skip everything: $summary"
  times+=("$(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.3f", e - s}')")
  echo "round $round: ${times[-1]} s" >&2
done
median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{v[NR] = $1} END {printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
revision=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo ""
echo "no-change re-run over $photos photos ($((photos * 2)) outputs), --jobs $jobs, median of $rounds: $median s," \
  "$(awk -v s="$median" -v n="$photos" 'BEGIN {printf "%.3f", s * 100 / n}') s per 100 photos" \
  "(headshot $revision, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
