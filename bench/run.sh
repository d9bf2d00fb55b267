#!/usr/bin/env bash
# Times `headshot run` against vipsthumbnail making the same derivatives from
# the same 24-megapixel JPEGs, interleaved in one run, for two jobs: the
# default `web` export (2048 + 400) and the booth job (`gallery` export,
# clean-bright tone, headshot-4x5 face crop: 2048, 1024, 400 and a 512 square).
# Then: re-runs after changing only the tone or only the names sheet, and the
# booth job's peak RSS at 300 and 3,000 small portraits. See bench/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/run.sh [options]

  -n N            photos per run (default 16, env BENCH_N)
  -r ROUNDS       timed rounds, rotating which tool goes first (default 3, env BENCH_ROUNDS)
  -j JOBS         parallel workers for both tools (default nproc, env BENCH_JOBS)
  --job JOB       web   : `headshot run --export web` vs vipsthumbnail making 2048 + 400
                  booth : `--export gallery --tone clean-bright --crop headshot-4x5` vs
                          vipsthumbnail making 2048, 1024, 400 and 512x512 --smartcrop attention
                  both  : web, then booth (default, env BENCH_JOB)
  --mode MODE     parallel  : headshot --jobs JOBS vs vipsthumbnail on JOBS workers (default)
                  per-core  : headshot --jobs 1 vs vipsthumbnail with VIPS_CONCURRENCY=1, one at a time
                  both      : parallel, then per-core
  --vips-mode M   how vipsthumbnail gets its JOBS workers (env BENCH_VIPS_MODE):
                  threads : one invocation per size over all files, VIPS_CONCURRENCY=JOBS
                            (default: the faster for vips when measured here)
                  procs   : xargs -P JOBS, one file per invocation, VIPS_CONCURRENCY=1 each
  --no-rerun      skip the re-runs (tone changed: no face detection; names changed: no decode)
  --no-scale      skip the booth job's peak-RSS check at --rss-counts photos
  --rss-counts L  shoot sizes for that check, small 1200x1800 portraits (default "300 3000",
                  env BENCH_RSS_COUNTS); each size runs BENCH_RSS_ROUNDS times (default 3)
  --scale-only    only that check (no comparison, no re-runs)
  --scratch DIR   where that check's shoot and outputs go (default bench/work; about 1 MB per
                  photo at 3000, so a tmpfs such as /dev/shm suits; env BENCH_SCRATCH)
  --vips-only     time vipsthumbnail alone (no cargo build, no headshot)
  --no-build      use the existing target/release/headshot
  --headshot PATH time this headshot binary instead (implies --no-build); give it twice (e.g. a
                  build with nasm and one without) to time both in the same interleaved rounds
  --regen         throw away the cached inputs in bench/work/ and make them again
  --inputs-only   make the inputs and stop
  -h, --help      this text

Inputs and outputs live in bench/work/ (gitignored); inputs are cached between runs.
Times on a shared machine are noisy: read the ratio, not the seconds.
EOF
}

photos=${BENCH_N:-16}
rounds=${BENCH_ROUNDS:-3}
jobs=${BENCH_JOBS:-$(nproc)}
job_choice=${BENCH_JOB:-both}
mode=parallel
vips_mode=${BENCH_VIPS_MODE:-threads}
rss_counts=${BENCH_RSS_COUNTS:-300 3000}
rss_rounds=${BENCH_RSS_ROUNDS:-3}
scratch=${BENCH_SCRATCH:-}
scale_check=1
rerun_check=1
scale_only=0
vips_only=0
build=1
regen=0
inputs_only=0
declare -a headshot_overrides=()

while (($#)); do
  case $1 in
    -n) photos=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --job) job_choice=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --vips-mode) vips_mode=$2; shift 2 ;;
    --no-rerun) rerun_check=0; shift ;;
    --no-scale) scale_check=0; shift ;;
    --rss-counts) rss_counts=$2; shift 2 ;;
    --scratch) scratch=$2; shift 2 ;;
    --scale-only) scale_only=1; scale_check=1; rerun_check=0; shift ;;
    --vips-only) vips_only=1; build=0; scale_check=0; rerun_check=0; shift ;;
    --no-build) build=0; shift ;;
    --headshot) headshot_overrides+=("$2"); build=0; shift 2 ;;
    --regen) regen=1; shift ;;
    --inputs-only) inputs_only=1; build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

die() { echo "bench: $*" >&2; exit 2; }
[[ $photos =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive whole number, got '$photos'"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "-r wants a positive whole number, got '$rounds'"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "-j wants a positive whole number, got '$jobs'"
[[ $rss_counts =~ ^[1-9][0-9]*( +[1-9][0-9]*)*$ ]] || die "--rss-counts wants whole numbers, got '$rss_counts'"
[[ $rss_rounds =~ ^[1-9][0-9]*$ ]] || die "BENCH_RSS_ROUNDS wants a whole number from 1, got '$rss_rounds'"
case $mode in parallel|per-core|both) ;; *) die "--mode is parallel, per-core or both, got '$mode'" ;; esac
case $vips_mode in procs|threads) ;; *) die "--vips-mode is procs or threads, got '$vips_mode'" ;; esac
case $job_choice in
  web|booth) job_list=("$job_choice") ;;
  both) job_list=(web booth) ;;
  *) die "--job is web, booth or both, got '$job_choice'" ;;
esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$repo/bench/work
scratch=${scratch:-$work}
pool=$work/pool            # every generated input, bench_001.jpg ...
gen=$work/gen              # base image, grain field, parameters stamp
base_image=$repo/sample-images/IMG_0103.jpg
if ((${#headshot_overrides[@]})); then
  headshots=("${headshot_overrides[@]}")
else
  headshots=("${CARGO_TARGET_DIR:-$repo/target}/release/headshot")
fi

for tool in vips vipsthumbnail vipsheader xargs python3; do
  command -v "$tool" >/dev/null || die "needs '$tool' (Debian: apt-get install libvips-tools findutils python3)"
done
if ! /usr/bin/time -f %e true 2>/dev/null; then
  die "needs GNU time at /usr/bin/time (Debian: apt-get install time)"
fi
[[ -f $base_image ]] || die "missing $base_image"

say() { echo "$*" >&2; }

# ---------------------------------------------------------------- inputs ---
# 4000x6000 (24 MP, portrait orientation) JPEGs at q92, 4:2:0 like most
# cameras: a public-domain portrait from sample-images/ (a face, so the face
# crop has something to frame), cropped to 2:3 and upscaled 2.86x (Lanczos3),
# plus monochrome grain (gaussian, sigma 6) so they compress like real photos
# (~7 MB each). One grain field is made once; each photo takes it at a
# different wrap-around offset, so no two files are alike.
width=4000 height=6000 grain_sigma=6
input_params="v2 base=$(sha256sum "$base_image" | cut -c1-16) ${width}x${height} q92 4:2:0 grain=$grain_sigma"

# The portrait at WIDTHxHEIGHT (2:3): the middle 2:3 of the source, resized.
make_base() {
  local out=$1 w=$2 h=$3 src_w src_h crop_w left
  src_w=$(vipsheader -f width "$base_image") src_h=$(vipsheader -f height "$base_image")
  crop_w=$((src_h * 2 / 3)) left=$(((src_w - src_h * 2 / 3) / 2))
  vips crop "$base_image" "$gen/crop.v" "$left" 0 "$crop_w" "$src_h"
  vips thumbnail "$gen/crop.v" "$gen/scaled.v" "$w" --height "$h" --size force
  rm -f "$gen/crop.v"
  mv "$gen/scaled.v" "$out"
}

make_inputs() {
  local count=$1 i file offset_x offset_y made=0
  if ((regen)) || [[ ! -f $gen/params ]] || [[ $(cat "$gen/params") != "$input_params" ]]; then
    rm -rf "$pool" "$gen"
  fi
  mkdir -p "$pool" "$gen"
  if [[ ! -f $gen/base.v ]]; then
    say "making the ${width}x${height} base image from ${base_image#"$repo"/}"
    make_base "$gen/base.tmp.v" "$width" "$height"
    vips gaussnoise "$gen/grain-float.v" "$width" "$height" --sigma "$grain_sigma" --mean 0 --seed 42
    vips cast "$gen/grain-float.v" "$gen/grain.v" char
    rm -f "$gen/grain-float.v"
    mv "$gen/base.tmp.v" "$gen/base.v"
    echo "$input_params" > "$gen/params"
  fi
  for ((i = 1; i <= count; i++)); do
    file=$pool/$(printf 'bench_%03d.jpg' "$i")
    [[ -s $file ]] && continue
    ((made == 0)) && say "making inputs in ${pool#"$repo"/} (cached for later runs)"
    offset_x=$(((i * 1237) % width)) offset_y=$(((i * 733) % height))
    vips wrap "$gen/grain.v" "$gen/grain-shifted.v" --x "$offset_x" --y "$offset_y"
    vips add "$gen/base.v" "$gen/grain-shifted.v" "$gen/photo.tmp.jpg[Q=92,subsample-mode=on]"
    mv "$gen/photo.tmp.jpg" "$file"
    made=$((made + 1))
  done
  rm -f "$gen/grain-shifted.v"
  ((made == 0)) || say "made $made input(s)"
}

# A folder holding exactly the first $1 pool photos (hard links).
input_folder() {
  local count=$1 folder=$work/in-$1 i
  rm -rf "$folder"
  mkdir -p "$folder"
  for ((i = 1; i <= count; i++)); do
    ln "$pool/$(printf 'bench_%03d.jpg' "$i")" "$folder/"
  done
  echo "$folder"
}

# ------------------------------------------------------------------ jobs ---
# headshot's flags for a job.
job_flags() {
  case $1 in
    web) echo "--export web" ;;
    booth) echo "--export gallery --tone clean-bright --crop headshot-4x5" ;;
  esac
}
# The derivatives of the job's export preset, "name size quality chroma" a line;
# vipsthumbnail is asked for the same (size "512sq": 512x512 --smartcrop attention).
# Both write progressive JPEGs with optimised Huffman tables, as the presets say.
job_derivatives() {
  case $1 in
    web) printf '%s\n' "large 2048 85 4:2:0" "thumb 400 80 4:4:4" ;;
    booth) printf '%s\n' "large 2048 85 4:2:0" "medium 1024 82 4:2:0" "thumb 400 80 4:4:4" "avatar 512sq 85 4:4:4" ;;
  esac
}

# Writes $work/vips-JOB.sh: `sh vips-JOB.sh OUTPUT PHOTO...`, one vipsthumbnail
# per derivative over all the photos given.
write_vips_script() {
  local job=$1 name size quality chroma subsample geometry
  {
    # shellcheck disable=SC2016  # expanded by that sh, not here
    echo 'out=$1; shift'
    while read -r name size quality chroma; do
      subsample=on; [[ $chroma == 4:4:4 ]] && subsample=off
      if [[ $size == *sq ]]; then
        geometry="-s ${size%sq}x${size%sq} --smartcrop attention"
      else
        geometry="-s ${size}x${size}"
      fi
      echo "vipsthumbnail \"\$@\" $geometry -o \"\$out/%s_$name.jpg[Q=$quality,strip,interlace,optimize-coding,subsample-mode=$subsample]\" || exit 1"
    done < <(job_derivatives "$job")
  } > "$work/vips-$job.sh"
}

# ------------------------------------------------------------- the tools ---
# Each runner takes: job, input folder, output folder, workers; it runs under
# /usr/bin/time, which records wall seconds and peak RSS (KB) in $timing_file.
# Per process, so two bench runs sharing bench/work do not read each other's.
timing_file=$work/timing.$$

# run_headshot BINARY JOB INPUT OUTPUT WORKERS [EXTRA FLAGS...]
run_headshot() {
  local binary=$1 job=$2 input=$3 output=$4 workers=$5
  shift 5
  local -a flags
  read -r -a flags <<< "$(job_flags "$job")"
  /usr/bin/time -f '%e %M' -o "$timing_file" \
    "$binary" run "$input" --out "$output" --quiet --jobs "$workers" "${flags[@]}" "$@" >"$work/headshot.log" 2>&1 \
    || { say "headshot failed (exit $?); its output:"; cat "$work/headshot.log" >&2; exit 1; }
}

run_vips() {
  local job=$1 input=$2 output=$3 workers=$4
  mkdir -p "$output"
  find "$input" -maxdepth 1 -name '*.jpg' -print0 | sort -z > "$work/vips-inputs"
  if [[ $vips_mode == procs ]] || ((workers == 1)); then
    # One process per photo, $workers at a time, each single-threaded.
    /usr/bin/time -f '%e %M' -o "$timing_file" \
      env VIPS_CONCURRENCY=1 xargs -0 -P "$workers" -n 1 -a "$work/vips-inputs" \
      sh "$work/vips-$job.sh" "$output" \
      || { say "vipsthumbnail failed"; exit 1; }
  else
    # vips' own thread pool: one invocation per size over all photos.
    /usr/bin/time -f '%e %M' -o "$timing_file" \
      env VIPS_CONCURRENCY="$workers" xargs -0 -a "$work/vips-inputs" \
      sh "$work/vips-$job.sh" "$output" \
      || { say "vipsthumbnail failed"; exit 1; }
  fi
}

long_edge() {
  local w h
  w=$(vipsheader -f width "$1") h=$(vipsheader -f height "$1")
  echo $((w > h ? w : h)) "${w}x${h}"
}

# Fails the bench unless OUTPUT holds each derivative of JOB once per photo,
# at its size (vipsthumbnail: exactly; headshot: at most, since a face crop
# is never upscaled). check_outputs TOOL JOB OUTPUT COUNT
check_outputs() {
  local tool=$1 job=$2 output=$3 count=$4 name size quality chroma found edge dims want
  while read -r name size quality chroma; do
    found=$(find "$output" -maxdepth 1 -name "*_$name.jpg" | wc -l)
    ((found == count)) || { say "$tool wrote $found $name JPEGs for $count photos in $output"; exit 1; }
    read -r edge dims <<< "$(long_edge "$output/bench_001_$name.jpg")"
    want=${size%sq}
    if [[ $size == *sq ]]; then
      [[ $dims == "${want}x${want}" ]] || { say "$tool: bench_001_$name.jpg is $dims, not ${want}x${want}"; exit 1; }
    elif [[ $tool == vips ]]; then
      ((edge == want)) || { say "$tool: bench_001_$name.jpg is $dims, not $want px on the long edge"; exit 1; }
    else
      ((edge <= want)) || { say "$tool: bench_001_$name.jpg is $dims, over $want px"; exit 1; }
    fi
  done < <(job_derivatives "$job")
}

# "q85 baseline 4:2:0": the JPEG quality exiftool estimates from the
# quantisation tables (exact for libjpeg's standard tables), the coding, and
# the chroma subsampling. Empty without exiftool.
describe_jpeg() {
  command -v exiftool >/dev/null || return 0
  exiftool -s -s -s -JPEGQualityEstimate -EncodingProcess -YCbCrSubSampling "$1" \
    | awk 'NR == 1 {q = "q" $1} NR == 2 {c = ($0 ~ /Progressive/) ? "progressive" : "baseline"}
           NR == 3 {sub(/^YCbCr/, ""); sub(/ .*/, ""); s = $0} END {print q, c, s}'
}

# Prints how each tool encoded photo 1's derivatives, and warns when the
# estimated quality is not the one the job's preset asks for.
# describe_outputs JOB OUTPUT-FOLDER-LABEL...
describe_outputs() {
  local job=$1 label name size want chroma got
  shift
  command -v exiftool >/dev/null || { say "(install exiftool to check the encoders' quality)"; return 0; }
  for label in "$@"; do
    while read -r name size want chroma; do
      got=$(describe_jpeg "$work/out-$label/bench_001_$name.jpg")
      say "$(printf '  %-10s %-6s %s (preset: q%s %s)' "$label" "$name" "$got" "$want" "$chroma")"
      [[ $got == "q$want "* ]] || say "  warning: $label's $name is ${got%% *}, asked for q$want: not like for like"
    done < <(job_derivatives "$job")
  done
}

output_bytes() { find "$1" -maxdepth 1 -name '*.jpg' -printf '%s\n' | awk '{t += $1} END {print t + 0}'; }

# One line of a manifest's timing: "wall decode=S analyse=S ... | decodes=N ...".
manifest_timing() {
  python3 - "$1" <<'PY2'
import json, sys
timing = json.load(open(sys.argv[1]))["timing"]
print(" ".join([str(timing["wall_seconds"])] + [f"{k}={v}" for k, v in timing["stage_seconds"].items()]
               + ["|"] + [f"{k}={v}" for k, v in timing.get("counts", {}).items()]))
PY2
}

# Headshot binaries are labelled by what their --version says of libjpeg SIMD.
declare -a labels=()
label_binaries() {
  local binary version simd i=0
  for binary in "${headshots[@]}"; do
    i=$((i + 1))
    version=$("$binary" --version)
    case $version in
      *"SIMD: yes"*) simd=simd ;;
      *"SIMD: no"*) simd=nosimd ;;
      *) simd=unknown ;;
    esac
    say "headshot $i: $binary: $version"
    if ((${#headshots[@]} == 1)); then labels+=("headshot"); else labels+=("hs$i-$simd"); fi
  done
}

# One timed run: clears the output folder, runs, checks, and echoes
# "seconds peak_kb output_bytes". TOOL is a headshot label or vips.
# For headshot it also appends the manifest's timing to $work/stages-JOB-LABEL.
timed() {
  local tool=$1 job=$2 input=$3 workers=$4 count=$5 output=$work/out-$1 i
  rm -rf "$output"
  sync
  if [[ $tool == vips ]]; then
    run_vips "$job" "$input" "$output" "$workers"
  else
    for i in "${!labels[@]}"; do [[ ${labels[$i]} == "$tool" ]] && break; done
    run_headshot "${headshots[$i]}" "$job" "$input" "$output" "$workers"
    manifest_timing "$output/manifest.json" >> "$work/stages-$job-$tool"
  fi
  check_outputs "$tool" "$job" "$output" "$count"
  echo "$(cat "$timing_file") $(output_bytes "$output")"
}

median() { sort -g | awk '{v[NR] = $1} END {printf "%.2f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
mb() { awk -v b="$1" 'BEGIN {printf "%.1f MB", b / 1e6}'; }
kb_to_mb() { awk -v k="$1" 'BEGIN {printf "%.0f MB", k * 1024 / 1e6}'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.2f", n / s}'; }

# ----------------------------------------------------------- comparisons ---
declare -a table_rows=()

# compare JOB LABEL HEADSHOT_JOBS VIPS_WORKERS
compare() {
  local job=$1 label=$2 headshot_jobs=$3 vips_workers=$4 input round tool k n_tools
  local seconds kb bytes vips_how
  local -a tools order
  local -A times=() rss=() out_bytes=() ratios=()
  input=$(input_folder "$photos")
  if ((vips_workers == 1)); then
    vips_how="one vipsthumbnail at a time, VIPS_CONCURRENCY=1"
  elif [[ $vips_mode == procs ]]; then
    vips_how="xargs -P $vips_workers, VIPS_CONCURRENCY=1 each"
  else
    vips_how="vips thread pool, VIPS_CONCURRENCY=$vips_workers"
  fi
  if ((vips_only)); then tools=(vips); else tools=("${labels[@]}" vips); fi
  n_tools=${#tools[@]}
  for tool in "${tools[@]}"; do rm -f "$work/stages-$job-$tool"; times[$tool]=""; rss[$tool]=0; ratios[$tool]=""; done
  write_vips_script "$job"
  say ""
  say "== $job job ($(job_flags "$job")), $label: $photos photos; headshot --jobs $headshot_jobs; vipsthumbnail: $vips_how"
  say "warm-up (untimed; fills the page cache, checks every tool's outputs)"
  for tool in "${tools[@]}"; do
    if [[ $tool == vips ]]; then
      timed vips "$job" "$input" "$vips_workers" "$photos" >/dev/null
    else
      timed "$tool" "$job" "$input" "$headshot_jobs" "$photos" >/dev/null
    fi
  done
  rm -f "$work"/stages-"$job"-*
  say "encoded as (exiftool's quality estimate, coding, chroma):"
  describe_outputs "$job" "${tools[@]}"

  for ((round = 1; round <= rounds; round++)); do
    # Rotate the order, so each tool goes first in turn.
    order=()
    for ((k = 0; k < n_tools; k++)); do order+=("${tools[$(((k + round - 1) % n_tools))]}"); done
    local line="round $round:"
    for tool in "${order[@]}"; do
      local workers=$headshot_jobs
      [[ $tool == vips ]] && workers=$vips_workers
      timed "$tool" "$job" "$input" "$workers" "$photos" > "$work/result.$$"
      read -r seconds kb bytes < "$work/result.$$"
      times[$tool]+="$seconds "
      ((kb > rss[$tool])) && rss[$tool]=$kb
      out_bytes[$tool]=$bytes
      line+=$(printf '  %s %.2f s %.2f/s %s' "$tool" "$seconds" "$(rate "$photos" "$seconds")" "$(kb_to_mb "$kb")")
    done
    say "$line"
    ((vips_only)) && continue
    local vips_seconds=${times[vips]% } ratio_line="  ratios:"
    vips_seconds=${vips_seconds##* }
    for tool in "${labels[@]}"; do
      local last=${times[$tool]% }
      last=${last##* }
      local ratio
      ratio=$(awk -v h="$last" -v v="$vips_seconds" 'BEGIN {printf "%.2f", v / h}')
      ratios[$tool]+="$ratio "
      ratio_line+=" $tool ${ratio}x"
    done
    say "$ratio_line"
  done

  local vips_median vips_rate
  # shellcheck disable=SC2086  # a list of numbers
  vips_median=$(printf '%s\n' ${times[vips]} | median)
  vips_rate=$(rate "$photos" "$vips_median")
  if ((vips_only)); then
    table_rows+=("| $job | $label | - | - | $vips_median s, $vips_rate photos/s | - | - / $(kb_to_mb "${rss[vips]}") |")
    return
  fi
  for tool in "${labels[@]}"; do
    local headshot_median headshot_rate ratio ratio_low ratio_high
    # shellcheck disable=SC2086
    headshot_median=$(printf '%s\n' ${times[$tool]} | median)
    headshot_rate=$(rate "$photos" "$headshot_median")
    ratio=$(awk -v h="$headshot_median" -v v="$vips_median" 'BEGIN {printf "%.2f", v / h}')
    # shellcheck disable=SC2086
    ratio_low=$(printf '%s\n' ${ratios[$tool]} | sort -g | head -1)
    # shellcheck disable=SC2086
    ratio_high=$(printf '%s\n' ${ratios[$tool]} | sort -g | tail -1)
    say "median: $tool $headshot_median s ($headshot_rate photos/s), vipsthumbnail $vips_median s ($vips_rate photos/s); throughput ${ratio}x (rounds ${ratio_low}x-${ratio_high}x)"
    say "output bytes: $tool $(mb "${out_bytes[$tool]}"), vipsthumbnail $(mb "${out_bytes[vips]}")"
    table_rows+=("| $job | $label | $tool | $headshot_median s, $headshot_rate photos/s | $vips_median s, $vips_rate photos/s | **${ratio}x** (${ratio_low}-${ratio_high}) | $(kb_to_mb "${rss[$tool]}") / $(kb_to_mb "${rss[vips]}") |")
  done
}

# Where the booth job's time goes: per stage, the median over the rounds of
# worker milliseconds per photo, and the counts of the last round.
declare -a stage_rows=()
stage_table() {
  local job=$1 tool
  for tool in "${labels[@]}"; do
    [[ -s $work/stages-$job-$tool ]] || continue
    stage_rows+=("$(python3 - "$work/stages-$job-$tool" "$photos" "$job" "$tool" <<'PY2'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
n = int(sys.argv[2])
stages, counts = {}, ""
for row in rows:
    bar = row.index("|")
    for item in row[1:bar]:
        k, v = item.split("=")
        stages.setdefault(k, []).append(float(v) * 1000 / n)
    counts = " ".join(row[bar + 1:])
med = {k: statistics.median(v) for k, v in stages.items()}
total = sum(med.values())
wall = statistics.median(float(r[0]) for r in rows)
order = ["decode", "analyse", "tone", "resize", "encode", "write", "decide", "finish"]
cells = [f"{med.get(k, 0):.0f} ({med.get(k, 0) / total:.0%})" for k in order]
print(f"| {sys.argv[3]} | {sys.argv[4]} | {wall:.2f} | " + " | ".join(cells) + f" | {total:.0f} | {counts} |")
PY2
)")
  done
}

# ------------------------------------------------------------- re-runs ---
# The booth job with a names sheet, then only --tone changed (no face
# detection: analyses come from the cache), then only the names sheet
# changed (no decode). Each is checked on the manifest's timing.counts.
declare -a rerun_rows=()
rerun() {
  local i=$1 tool=${labels[$1]} binary=${headshots[$1]} input output=$work/rerun-out
  local first tone names kb count_line k
  input=$(input_folder "$photos")
  local n
  for n in a b; do
    {
      echo "file,name"
      for ((k = 1; k <= photos; k++)); do printf 'bench_%03d.jpg,Person %s%d\n' "$k" "${n^^}" "$k"; done
    } > "$work/names-$n.csv"
  done
  rm -rf "$output"
  say ""
  say "== re-runs, $tool: booth job with --names, then --tone warm, then another names sheet"
  counts() { python3 -c 'import json, sys; c = json.load(open(sys.argv[1]))["timing"]["counts"]; print(" ".join(f"{k}={v}" for k, v in c.items()))' "$output/manifest.json"; }
  count_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["timing"]["counts"][sys.argv[2]])' "$output/manifest.json" "$1"; }

  run_headshot "$binary" booth "$input" "$output" "$jobs" --names "$work/names-a.csv"
  read -r first kb < "$timing_file"
  count_line=$(counts)
  say "first run:           $first s, peak RSS $(kb_to_mb "$kb"); $count_line"

  # Only the tone changes: everything renders again, no analyser runs.
  local -a flags=(--export gallery --tone warm --crop headshot-4x5 --names "$work/names-a.csv")
  /usr/bin/time -f '%e %M' -o "$timing_file" "$binary" run "$input" --out "$output" --quiet --jobs "$jobs" "${flags[@]}" >"$work/headshot.log" 2>&1 \
    || { say "headshot failed:"; cat "$work/headshot.log" >&2; exit 1; }
  read -r tone kb < "$timing_file"
  count_line=$(counts)
  say "--tone warm re-run:  $tone s; $count_line"
  [[ $(count_of face_detections) == 0 ]] || say "  warning: the tone re-run ran the face detector (face_detections != 0)"
  local tone_counts=$count_line

  # Only the names sheet changes: metadata is rewritten, nothing is decoded.
  flags=(--export gallery --tone warm --crop headshot-4x5 --names "$work/names-b.csv")
  /usr/bin/time -f '%e %M' -o "$timing_file" "$binary" run "$input" --out "$output" --quiet --jobs "$jobs" "${flags[@]}" >"$work/headshot.log" 2>&1 \
    || { say "headshot failed:"; cat "$work/headshot.log" >&2; exit 1; }
  read -r names kb < "$timing_file"
  count_line=$(counts)
  say "names re-run:        $names s; $count_line"
  [[ $(count_of decodes) == 0 ]] || say "  warning: the names re-run decoded photos (decodes != 0)"
  rerun_rows+=("| $tool | $first s | $tone s ($(awk -v a="$tone" -v b="$first" 'BEGIN {printf "%.0f%%", 100 * a / b}')); $tone_counts | $names s ($(awk -v a="$names" -v b="$first" 'BEGIN {printf "%.0f%%", 100 * a / b}')); $count_line |")
}

# ------------------------------------------------------ memory by shoot ---
# The booth job's peak RSS over shoots of --rss-counts small portraits
# (1200x1800, ~300 KB): 16 grain variants of the portrait, each photo a copy
# with its own JPEG comment, so every file has its own content hash (no
# analysis is shared) at the cost of one small write per photo.
declare -a scale_rows=()
scale() {
  local tool=$1 binary=$2 count max=0 folder seconds kb first_kb=""
  local small=$scratch/rss-pool
  for count in $rss_counts; do ((count > max)) && max=$count; done
  if [[ ! -f $small/params ]] || [[ $(cat "$small/params") != "$input_params small $max" ]]; then
    say "making $max small portraits in $small"
    rm -rf "$small"
    mkdir -p "$small/variants"
    make_base "$gen/small.v" 1200 1800
    vips gaussnoise "$gen/small-grain-float.v" 1200 1800 --sigma 4 --mean 0 --seed 7
    vips cast "$gen/small-grain-float.v" "$gen/small-grain.v" char
    local v
    for ((v = 0; v < 16; v++)); do
      vips wrap "$gen/small-grain.v" "$gen/small-shift.v" --x $((v * 97)) --y $((v * 211))
      vips add "$gen/small.v" "$gen/small-shift.v" "$small/variants/v$v.jpg[Q=90,subsample-mode=on]"
    done
    rm -f "$gen"/small*.v
    python3 - "$small" "$max" <<'PY2'
import os, sys
folder, count = sys.argv[1], int(sys.argv[2])
variants = [open(os.path.join(folder, "variants", f"v{v}.jpg"), "rb").read() for v in range(16)]
os.makedirs(os.path.join(folder, "all"), exist_ok=True)
for i in range(count):
    data = variants[i % 16]
    comment = f"bench photo {i:05d}".encode()
    # SOI, then a COM segment naming the photo, then the rest of the file.
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    with open(os.path.join(folder, "all", f"portrait_{i:05d}.jpg"), "wb") as out:
        out.write(data[:2] + segment + data[2:])
PY2
    echo "$input_params small $max" > "$small/params"
  fi
  say ""
  say "== booth job's peak RSS by shoot size ($tool, --jobs $jobs): $rss_counts small portraits"
  local row="| $tool |"
  for count in $rss_counts; do
    folder=$small/in-$count
    rm -rf "$folder" "$small/out"
    mkdir -p "$folder"
    local i
    for ((i = 0; i < count; i++)); do ln "$small/all/$(printf 'portrait_%05d.jpg' "$i")" "$folder/"; done
    # Peak RSS varies by about 10% between runs of the same shoot (how the two workers'
    # allocations interleave): the median of rss_rounds fresh runs, and their range.
    local -a kbs=() times=()
    local round
    for ((round = 1; round <= rss_rounds; round++)); do
      rm -rf "$small/out"
      run_headshot "$binary" booth "$folder" "$small/out" "$jobs"
      read -r seconds kb < "$timing_file"
      say "$count photos, round $round: $seconds s, peak RSS $(kb_to_mb "$kb"); $(manifest_timing "$small/out/manifest.json" | sed 's/.*| //')"
      kbs+=("$kb") times+=("$seconds")
    done
    local sorted
    sorted=$(printf '%s\n' "${kbs[@]}" | sort -n)
    kb=$(sed -n "$(((rss_rounds + 1) / 2))p" <<<"$sorted")
    seconds=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((rss_rounds + 1) / 2))p")
    row+=" $(kb_to_mb "$kb") ($(kb_to_mb "$(head -1 <<<"$sorted")")-$(kb_to_mb "$(tail -1 <<<"$sorted")"); $seconds s) |"
    [[ -z $first_kb ]] && first_kb=$kb
    rm -rf "$folder" "$small/out"
  done
  row+=" $(awk -v a="$kb" -v b="$first_kb" 'BEGIN {printf "%.2fx", a / b}') |"
  scale_rows+=("$row")
}

# ------------------------------------------------------------------ main ---
mkdir -p "$work"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

if ((build)); then
  say "cargo build --release"
  (cd "$repo" && cargo build --release --quiet) \
    || die "cargo build --release failed; 'bench/run.sh --vips-only' times vipsthumbnail alone"
fi
if ((!vips_only && !inputs_only)); then
  for binary in "${headshots[@]}"; do
    [[ -x $binary ]] || die "no $binary; build it or use --vips-only"
  done
  label_binaries
fi

make_inputs "$photos"
((inputs_only)) && exit 0

((scale_only)) && job_list=()
for job in "${job_list[@]}"; do
  case $mode in
    parallel) compare "$job" "$jobs jobs" "$jobs" "$jobs" ;;
    per-core) compare "$job" "1 job" 1 1 ;;
    both) compare "$job" "$jobs jobs" "$jobs" "$jobs"; compare "$job" "1 job" 1 1 ;;
  esac
  ((vips_only)) || stage_table "$job"
done
if ((rerun_check)); then
  for i in "${!labels[@]}"; do rerun "$i"; done
fi
# Memory does not depend on libjpeg's SIMD: the first binary only.
((scale_check)) && scale "${labels[0]}" "${headshots[0]}"
rm -f "$timing_file" "$work/result.$$" "$work/vips-inputs"

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
revision=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$repo" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || revision+="+changes"
if ((!vips_only)); then
  for binary in "${headshots[@]}"; do
    if [[ -n $(find "$repo/src" "$repo/Cargo.toml" "$repo/Cargo.lock" -newer "$binary" -print -quit) ]]; then
      revision+=" ($binary is older than the sources)"
    fi
  done
fi
echo ""
echo "$photos photos, ${width}x${height} JPEG q92; median of $rounds interleaved rounds"
echo "$(nproc) cores ($cpu), load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after;" \
  "headshot $revision, $(vips --version)"
echo ""
echo "| job | workers | binary | headshot | vipsthumbnail | throughput headshot/vips (rounds) | peak RSS headshot / vips |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${table_rows[@]}"
if ((${#stage_rows[@]})); then
  echo ""
  echo "Where the time goes (timing.stage_seconds: worker ms per photo, median of the rounds; counts of a round):"
  echo ""
  echo "| job | headshot | wall s | decode | analyse | tone | resize | encode | write | decide | finish | total | counts |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${stage_rows[@]}"
fi
if ((${#rerun_rows[@]})); then
  echo ""
  echo "Re-runs of the booth job ($photos photos, --jobs $jobs; wall seconds, share of the first run, timing.counts):"
  echo ""
  echo "| headshot | first run | only --tone changed | only the names sheet changed |"
  echo "| --- | --- | --- | --- |"
  printf '%s\n' "${rerun_rows[@]}"
fi
if ((${#scale_rows[@]})); then
  echo ""
  echo "Booth job peak RSS (GNU time %M) by shoot size, --jobs $jobs, 1200x1800 portraits; median (range) of $rss_rounds runs:"
  echo ""
  header="| headshot |" sep="| --- |"
  for count in $rss_counts; do header+=" $count photos |"; sep+=" --- |"; done
  echo "$header last / first |"
  echo "$sep --- |"
  printf '%s\n' "${scale_rows[@]}"
fi
if [[ $vips_mode == procs ]]; then
  echo ""
  echo "vips peak RSS is one vipsthumbnail process; with xargs -P N, N of them run at once."
fi
