#!/usr/bin/env bash
# Times `headshot run` against vipsthumbnail making the same derivatives
# (2048 px q85 + 400 px q80) from the same 24-megapixel JPEGs, interleaved in
# one run, and prints the throughput ratio. See bench/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/run.sh [options]

  -n N            photos per run (default 16, env BENCH_N)
  -r ROUNDS       timed rounds, alternating which tool goes first (default 3, env BENCH_ROUNDS)
  -j JOBS         parallel workers for both tools (default nproc, env BENCH_JOBS)
  --mode MODE     parallel  : headshot --jobs JOBS vs vipsthumbnail on JOBS workers (default)
                  per-core  : headshot --jobs 1 vs vipsthumbnail with VIPS_CONCURRENCY=1, one at a time
                  both      : parallel, then per-core
  --vips-mode M   how vipsthumbnail gets its JOBS workers (env BENCH_VIPS_MODE):
                  threads : one invocation per size over all files, VIPS_CONCURRENCY=JOBS
                            (default: the faster for vips when measured here)
                  procs   : xargs -P JOBS, one file per invocation, VIPS_CONCURRENCY=1 each
  --no-scale      skip the headshot run over 2N photos (peak-memory growth check)
  --vips-only     time vipsthumbnail alone (no cargo build, no headshot)
  --no-build      use the existing target/release/headshot
  --headshot PATH time this headshot binary instead (implies --no-build)
  --regen         throw away the cached inputs in bench/work/ and make them again
  --inputs-only   make the inputs (N, or 2N with the scale check) and stop
  -h, --help      this text

Inputs and outputs live in bench/work/ (gitignored); inputs are cached between runs.
Times on a shared machine are noisy: read the ratio, not the seconds.
EOF
}

photos=${BENCH_N:-16}
rounds=${BENCH_ROUNDS:-3}
jobs=${BENCH_JOBS:-$(nproc)}
mode=parallel
vips_mode=${BENCH_VIPS_MODE:-threads}
scale_check=1
vips_only=0
build=1
regen=0
inputs_only=0
headshot_override=""

while (($#)); do
  case $1 in
    -n) photos=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --vips-mode) vips_mode=$2; shift 2 ;;
    --no-scale) scale_check=0; shift ;;
    --vips-only) vips_only=1; build=0; scale_check=0; shift ;;
    --no-build) build=0; shift ;;
    --headshot) headshot_override=$2; build=0; shift 2 ;;
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
case $mode in parallel|per-core|both) ;; *) die "--mode is parallel, per-core or both, got '$mode'" ;; esac
case $vips_mode in procs|threads) ;; *) die "--vips-mode is procs or threads, got '$vips_mode'" ;; esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$repo/bench/work
pool=$work/pool            # every generated input, bench_001.jpg ...
gen=$work/gen              # base image, grain field, parameters stamp
headshot=${headshot_override:-$repo/target/release/headshot}
base_image=$repo/tests/data/samples/coffee.png

for tool in vips vipsthumbnail vipsheader xargs; do
  command -v "$tool" >/dev/null || die "needs '$tool' (Debian: apt-get install libvips-tools findutils)"
done
if ! /usr/bin/time -f %e true 2>/dev/null; then
  die "needs GNU time at /usr/bin/time (Debian: apt-get install time)"
fi
[[ -f $base_image ]] || die "missing $base_image"

say() { echo "$*" >&2; }

# ---------------------------------------------------------------- inputs ---
# 6000x4000 JPEGs at q92, 4:2:0 like most cameras: the 600x400 CC0 coffee
# photo upscaled 10x (Lanczos3), plus monochrome grain (gaussian, sigma 6)
# so they compress like real photos (~7.5 MB each). One grain field is made
# once; each photo takes it at a different wrap-around offset, so no two
# files are alike and each costs ~1 s to make.
width=6000 height=4000 grain_sigma=6
input_params="v1 base=$(sha256sum "$base_image" | cut -c1-16) ${width}x${height} q92 4:2:0 grain=$grain_sigma"

make_inputs() {
  local count=$1 i file offset_x offset_y made=0
  if ((regen)) || [[ ! -f $gen/params ]] || [[ $(cat "$gen/params") != "$input_params" ]]; then
    rm -rf "$pool" "$gen"
  fi
  mkdir -p "$pool" "$gen"
  if [[ ! -f $gen/base.v ]]; then
    say "making the ${width}x${height} base image from ${base_image#"$repo"/}"
    vips resize "$base_image" "$gen/base.tmp.v" $((width / 600)) --kernel lanczos3
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

# ------------------------------------------------------------- the tools ---
# Each runner takes: input folder, output folder, workers; it runs under
# /usr/bin/time, which records wall seconds and peak RSS (KB) in $timing_file.
timing_file=$work/timing

run_headshot() {
  local input=$1 output=$2 workers=$3
  /usr/bin/time -f '%e %M' -o "$timing_file" \
    "$headshot" run "$input" --out "$output" --quiet --jobs "$workers" >"$work/headshot.log" 2>&1 \
    || { say "headshot failed (exit $?); its output:"; cat "$work/headshot.log" >&2; exit 1; }
}

# vipsthumbnail makes one size per invocation, so each photo is opened twice
# (as a user of vipsthumbnail has to). -s WxW bounds the long edge.
# Called as: sh -c "$vips_one_photo" sh OUTPUT PHOTO
# shellcheck disable=SC2016  # expanded by that sh, not here
vips_one_photo='vipsthumbnail "$2" -s 2048x2048 -o "$1/%s_large.jpg[Q=85,strip]" &&
                vipsthumbnail "$2" -s 400x400 -o "$1/%s_thumb.jpg[Q=80,strip]"'

run_vips() {
  local input=$1 output=$2 workers=$3
  mkdir -p "$output"
  if [[ $vips_mode == procs ]] || ((workers == 1)); then
    # One process per photo, $workers at a time, each single-threaded.
    find "$input" -maxdepth 1 -name '*.jpg' -print0 | sort -z > "$work/vips-inputs"
    /usr/bin/time -f '%e %M' -o "$timing_file" \
      env VIPS_CONCURRENCY=1 xargs -0 -P "$workers" -n 1 -a "$work/vips-inputs" \
      sh -c "$vips_one_photo" sh "$output" \
      || { say "vipsthumbnail failed"; exit 1; }
  else
    # vips' own thread pool: one invocation per size over all photos.
    # shellcheck disable=SC2016  # expanded by that sh, not here
    /usr/bin/time -f '%e %M' -o "$timing_file" \
      env VIPS_CONCURRENCY="$workers" sh -c '
        vipsthumbnail "$1"/*.jpg -s 2048x2048 -o "$2/%s_large.jpg[Q=85,strip]" &&
        vipsthumbnail "$1"/*.jpg -s 400x400 -o "$2/%s_thumb.jpg[Q=80,strip]"' sh "$input" "$output" \
      || { say "vipsthumbnail failed"; exit 1; }
  fi
}

# Fails the bench unless $1 holds a 2048 px large and a 400 px thumb per photo.
check_outputs() {
  local tool=$1 output=$2 count=$3 large thumb size
  large=$(find "$output" -maxdepth 1 -name '*_large.jpg' | wc -l)
  thumb=$(find "$output" -maxdepth 1 -name '*_thumb.jpg' | wc -l)
  if ((large != count || thumb != count)); then
    say "$tool wrote $large large and $thumb thumb JPEGs for $count photos in $output"
    exit 1
  fi
  size=$(vipsheader -f width "$output/bench_001_large.jpg")x$(vipsheader -f height "$output/bench_001_large.jpg")
  [[ $size == 2048x1365 || $size == 2048x1366 ]] || { say "$tool: bench_001_large.jpg is $size, not 2048x1365"; exit 1; }
  size=$(vipsheader -f width "$output/bench_001_thumb.jpg")x$(vipsheader -f height "$output/bench_001_thumb.jpg")
  [[ $size == 400x267 || $size == 400x266 ]] || { say "$tool: bench_001_thumb.jpg is $size, not 400x267"; exit 1; }
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
# estimated quality is not the one asked for (85 large, 80 thumb).
describe_outputs() {
  local tool derivative want got
  command -v exiftool >/dev/null || { say "(install exiftool to check the encoders' quality)"; return 0; }
  for tool in "$@"; do
    for derivative in large thumb; do
      want=85; [[ $derivative == thumb ]] && want=80
      got=$(describe_jpeg "$work/out-$tool/bench_001_$derivative.jpg")
      say "$(printf '  %-8s %-5s %s' "$tool" "$derivative" "$got")"
      [[ $got == "q$want "* ]] || say "  warning: $tool's $derivative is ${got%% *}, asked for q$want: not like for like"
    done
  done
}

output_bytes() { find "$1" -maxdepth 1 -name '*.jpg' -printf '%s\n' | awk '{t += $1} END {print t + 0}'; }

# One timed run: clears the output folder, runs, checks, and echoes
# "seconds peak_kb output_bytes".
timed() {
  local tool=$1 input=$2 workers=$3 count=$4 output=$work/out-$1
  rm -rf "$output"
  sync
  "run_$tool" "$input" "$output" "$workers"
  check_outputs "$tool" "$output" "$count"
  echo "$(cat "$timing_file") $(output_bytes "$output")"
}

median() { sort -g | awk '{v[NR] = $1} END {printf "%.2f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
mb() { awk -v b="$1" 'BEGIN {printf "%.1f MB", b / 1e6}'; }
kb_to_mb() { awk -v k="$1" 'BEGIN {printf "%.0f MB", k * 1024 / 1e6}'; }

# ----------------------------------------------------------- comparisons ---
declare -a table_rows=()

# compare LABEL HEADSHOT_JOBS VIPS_WORKERS
compare() {
  local label=$1 headshot_jobs=$2 vips_workers=$3 input round tool order
  local -a headshot_times=() vips_times=() ratios=()
  local headshot_rss=0 vips_rss=0 headshot_bytes=0 vips_bytes=0 seconds kb bytes
  input=$(input_folder "$photos")
  local vips_how
  if ((vips_workers == 1)); then
    vips_how="one vipsthumbnail at a time, VIPS_CONCURRENCY=1"
  elif [[ $vips_mode == procs ]]; then
    vips_how="xargs -P $vips_workers, VIPS_CONCURRENCY=1 each"
  else
    vips_how="vips thread pool, VIPS_CONCURRENCY=$vips_workers"
  fi
  say ""
  if ((vips_only)); then
    say "== $label: $photos photos; vipsthumbnail: $vips_how"
  else
    say "== $label: $photos photos; headshot --jobs $headshot_jobs; vipsthumbnail: $vips_how"
  fi
  say "warm-up (untimed; fills the page cache, checks both tools' outputs)"
  ((vips_only)) || timed headshot "$input" "$headshot_jobs" "$photos" >/dev/null
  timed vips "$input" "$vips_workers" "$photos" >/dev/null
  say "encoded as (exiftool's quality estimate, coding, chroma):"
  if ((vips_only)); then describe_outputs vips; else describe_outputs headshot vips; fi

  for ((round = 1; round <= rounds; round++)); do
    if ((vips_only)); then order=(vips); elif ((round % 2)); then order=(headshot vips); else order=(vips headshot); fi
    local line="round $round:"
    for tool in "${order[@]}"; do
      local workers=$vips_workers
      [[ $tool == headshot ]] && workers=$headshot_jobs
      timed "$tool" "$input" "$workers" "$photos" > "$work/result"
      read -r seconds kb bytes < "$work/result"
      if [[ $tool == headshot ]]; then
        headshot_times+=("$seconds"); ((kb > headshot_rss)) && headshot_rss=$kb; headshot_bytes=$bytes
      else
        vips_times+=("$seconds"); ((kb > vips_rss)) && vips_rss=$kb; vips_bytes=$bytes
      fi
      line+=$(printf '  %-8s %6.2f s %6.2f photos/s %7s' "$tool" "$seconds" \
        "$(awk -v n="$photos" -v s="$seconds" 'BEGIN {print n / s}')" "$(kb_to_mb "$kb")")
    done
    if ((!vips_only)); then
      local ratio
      ratio=$(awk -v h="${headshot_times[-1]}" -v v="${vips_times[-1]}" 'BEGIN {printf "%.2f", v / h}')
      ratios+=("$ratio")
      line+="  ratio ${ratio}x"
    fi
    say "$line"
  done

  local vips_median vips_rate
  vips_median=$(printf '%s\n' "${vips_times[@]}" | median)
  vips_rate=$(awk -v n="$photos" -v s="$vips_median" 'BEGIN {printf "%.2f", n / s}')
  if ((vips_only)); then
    table_rows+=("| $label | - | $vips_median s, $vips_rate photos/s | - | - / $(kb_to_mb "$vips_rss") |")
    return
  fi
  local headshot_median headshot_rate ratio ratio_low ratio_high
  headshot_median=$(printf '%s\n' "${headshot_times[@]}" | median)
  headshot_rate=$(awk -v n="$photos" -v s="$headshot_median" 'BEGIN {printf "%.2f", n / s}')
  ratio=$(awk -v h="$headshot_median" -v v="$vips_median" 'BEGIN {printf "%.2f", v / h}')
  ratio_low=$(printf '%s\n' "${ratios[@]}" | sort -g | head -1)
  ratio_high=$(printf '%s\n' "${ratios[@]}" | sort -g | tail -1)
  say "median: headshot $headshot_median s ($headshot_rate photos/s), vipsthumbnail $vips_median s ($vips_rate photos/s); headshot/vips throughput ${ratio}x (rounds ${ratio_low}x-${ratio_high}x)"
  say "output bytes: headshot $(mb "$headshot_bytes"), vipsthumbnail $(mb "$vips_bytes")"
  table_rows+=("| $label | $headshot_median s, $headshot_rate photos/s | $vips_median s, $vips_rate photos/s | **${ratio}x** (${ratio_low}-${ratio_high}) | $(kb_to_mb "$headshot_rss") / $(kb_to_mb "$vips_rss") |")
}

# headshot's peak RSS at N and 2N photos: bounded by workers, not shoot size.
scale_row=""
scale() {
  local rss_n rss_2n seconds bytes input
  say ""
  say "== peak memory as the shoot grows: headshot --jobs $jobs over $photos and $((2 * photos)) photos"
  input=$(input_folder "$photos")
  timed headshot "$input" "$jobs" "$photos" > "$work/result"
  read -r seconds rss_n bytes < "$work/result"
  say "$photos photos: $seconds s, peak RSS $(kb_to_mb "$rss_n")"
  input=$(input_folder $((2 * photos)))
  timed headshot "$input" "$jobs" $((2 * photos)) > "$work/result"
  read -r seconds rss_2n bytes < "$work/result"
  say "$((2 * photos)) photos: $seconds s, peak RSS $(kb_to_mb "$rss_2n")"
  scale_row="headshot peak RSS, --jobs $jobs: $(kb_to_mb "$rss_n") at $photos photos, $(kb_to_mb "$rss_2n") at $((2 * photos)) photos"
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
  [[ -x $headshot ]] || die "no $headshot; build it or use --vips-only"
fi

needed=$photos
((scale_check)) && needed=$((2 * photos))
make_inputs "$needed"
((inputs_only)) && exit 0

case $mode in
  parallel) compare "$jobs jobs" "$jobs" "$jobs" ;;
  per-core) compare "1 job" 1 1 ;;
  both) compare "$jobs jobs" "$jobs" "$jobs"; compare "1 job" 1 1 ;;
esac
((scale_check)) && scale
rm -f "$timing_file" "$work/result" "$work/vips-inputs"

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
if [[ -n $headshot_override ]]; then
  revision=$headshot_override
else
  revision=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
  git -C "$repo" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || revision+="+changes"
  if ((!vips_only)) && [[ -n $(find "$repo/src" "$repo/Cargo.toml" "$repo/Cargo.lock" -newer "$headshot" -print -quit) ]]; then
    revision+=" (binary older than the sources: built with --no-build?)"
  fi
fi
echo ""
echo "$photos photos, ${width}x${height} JPEG q92 -> 2048 px q85 + 400 px q80; median of $rounds interleaved rounds"
echo "$(nproc) cores ($cpu), load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after;" \
  "headshot $revision, $(vips --version)"
echo ""
echo "| workers | headshot | vipsthumbnail x2 | throughput headshot/vips (rounds) | peak RSS headshot / vips |"
echo "| --- | --- | --- | --- | --- |"
printf '%s\n' "${table_rows[@]}"
[[ -n $scale_row ]] && { echo ""; echo "$scale_row"; }
if [[ $vips_mode == procs ]]; then
  echo ""
  echo "vips peak RSS is one vipsthumbnail process; with xargs -P N, N of them run at once."
fi
