#!/usr/bin/env bash
# Where a run's time goes: runs headshot over the bench inputs with several
# settings and reads each manifest's timing.stage_seconds (worker time per
# stage, summed over workers). Reports per-photo milliseconds per stage and
# the share of the whole, so the cost of face detection and of each tone
# preset can be read against the decode. See bench/README.md.
set -euo pipefail

photos=${BENCH_N:-16}
rounds=${BENCH_ROUNDS:-2}
jobs=${BENCH_JOBS:-$(nproc)}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
headshot=${HEADSHOT:-${CARGO_TARGET_DIR:-$repo/target}/release/headshot}
work=$repo/bench/work

if [[ -z ${HEADSHOT:-} ]]; then
  (cd "$repo" && cargo build --release --quiet)
fi
"$repo/bench/run.sh" -n "$photos" --inputs-only --no-scale >/dev/null
inputs=$work/stages-in
rm -rf "$inputs" && mkdir -p "$inputs"
for file in $(ls "$work/pool" | sort | head -n "$photos"); do
  ln -s "$work/pool/$file" "$inputs/$file"
done

# name|flags
variants=(
  "baseline (original crop, neutral tone)|"
  "--faces (detection only)|--faces"
  "--crop headshot-4x5 (face anchor)|--crop headshot-4x5"
  "--tone clean-bright|--tone clean-bright"
  "--tone warm|--tone warm"
  "--tone bw-classic|--tone bw-classic"
  "--tone high-key|--tone high-key"
  "--slates --no-biometrics (slate reading)|--crop headshot-4x5 --slates --no-biometrics"
  "--slates (slate reading + face descriptors)|--crop headshot-4x5 --slates"
)

results=$work/stages-results.tsv
: > "$results"
for ((round = 1; round <= rounds; round++)); do
  for variant in "${variants[@]}"; do
    name=${variant%%|*} flags=${variant#*|}
    out=$work/stages-out
    rm -rf "$out"
    # shellcheck disable=SC2086
    "$headshot" run "$inputs" --out "$out" --jobs "$jobs" --quiet $flags >/dev/null
    python3 - "$out/manifest.json" "$name" "$photos" >>"$results" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
stages = manifest["timing"]["stage_seconds"]
n = int(sys.argv[3])
print("\t".join([sys.argv[2], str(manifest["timing"]["wall_seconds"])] +
                [f"{k}={v * 1000 / n:.1f}" for k, v in stages.items()]))
PY
  done
done

python3 - "$results" "$photos" "$jobs" <<'PY'
import sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, wall, *stages = line.rstrip("\n").split("\t")
    rows[name].append((float(wall), {k: float(v) for k, v in (s.split("=") for s in stages)}))
n, jobs = int(sys.argv[2]), sys.argv[3]
print(f"{n} photos (the bench inputs: 24 MP JPEG), {jobs} workers; ms per photo of worker time, best of {len(next(iter(rows.values())))} rounds")
header = ["variant", "wall s", "decode", "analyse", "tone", "resize", "encode", "write", "total"]
print("| " + " | ".join(header) + " |")
print("|" + "---|" * len(header))
for name, runs in rows.items():
    wall, stages = min(runs, key=lambda r: sum(r[1].values()))
    total = sum(stages.values())
    cells = [name, f"{wall:.2f}"] + [f"{stages[k]:.0f} ({stages[k] / total:.0%})" for k in
             ["decode", "analyse", "tone", "resize", "encode", "write"]] + [f"{total:.0f}"]
    print("| " + " | ".join(cells) + " |")

# The face descriptors (identity) are part of the analyse stage: their cost per photo is the
# difference between the two --slates variants (the same work but the descriptor).
def analyse_ms(name):
    key = next((k for k in rows if k.startswith(name)), None)
    return key and min(r[1]["analyse"] for r in rows[key])
plain, described = analyse_ms("--slates --no-biometrics"), analyse_ms("--slates (slate")
if plain is not None and described is not None:
    print(f"\nface descriptors: {described - plain:.1f} ms per photo of analyse time with {jobs} "
          f"workers over these {n} photos, loading the network (waited for by every worker) included")
PY

# Per face, without the load: alignment + descriptor timed on one thread over the sample shoot
# (the example is built from this working tree, whatever HEADSHOT names).
echo ""
echo "face_descriptor example (built from the working tree):"
(cd "$repo" && cargo run --release --quiet --example face_descriptor -- bench "$repo"/sample-images/*.jpg)
