#!/usr/bin/env bash
# Encoder comparison: which JPEG encoder gives the smallest file for the quality at a good
# speed, with lossy WebP and AVIF for context. Builds bench/encoders/ (a standalone cargo
# project) and runs it over N real camera photos from the shared corpus, each downsized to
# 2048 px (the `large` derivative). Per encoder it measures file size, single-threaded encode
# time (median of BENCH_REPS runs) and SSIMULACRA2 against the 2048 px source, and prints two
# Markdown tables: (a) every encoder at quality 85; (b) the size each encoder needs to match
# mozjpeg-fast's q85 score on each photo. See bench/README.md.
#
#   bench/encoders.sh                   # 8 photos, 3 timed runs per measurement
#   BENCH_N=4 BENCH_REPS=1 bench/encoders.sh
#   BENCH_ONLY=cjpeg,jpeg-encoder bench/encoders.sh   # a subset (mozjpeg-fast always runs)
#   BENCH_FAST_AVIF=1 bench/encoders.sh # rav1e with assembly (needs nasm), like --features fast-avif
#
# Needs: a Rust toolchain, `cjpeg` (Debian libjpeg-turbo-progs), the corpus at
# ../shared/corpus/exif/ (or BENCH_CORPUS=dir), and for AVIF scores `avifdec` (Debian
# libavif-bin; without it AVIF gets sizes and times only). AVIF dominates the run time: about
# 20 minutes for 8 photos on 2 shared cores; BENCH_ONLY without avif takes a few minutes.
set -euo pipefail

photos=${BENCH_N:-8}
reps=${BENCH_REPS:-3}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
corpus=${BENCH_CORPUS:-$repo/../shared/corpus/exif}
manifest=$repo/bench/encoders/Cargo.toml

# Real camera photos of a decent size from exif/ (see ../shared/corpus/MANIFEST.md), largest
# first. Left out: canon-dslr.jpg (18 MP but a black frame, mean level 1/255),
# 67-0_length_string.jpg (a flat grey frame), odd/ (broken files), the ~100 px thumbnails and
# the 8x8 exiftool samples. orientation/*_1 are the upright Unsplash photos of that set (with
# small overlaid labels). Only the first two are larger than 2048 px; the rest encode at
# their own size (never upscaled), hence times per megapixel.
candidates=(
  33-type_error.jpg                          # 2560x1600 Canon G9, sky and clouds
  Sony_DSLR-A200.jpg                         # 1391x2463 Sony DSLR, flower on black
  orientation/Landscape_1.jpg                # 1800x1200 waterfall landscape
  orientation/Portrait_1.jpg                 # 1200x1800 figure by a waterfall
  22-canon_tags.jpg                          # 1600x1200 Canon SD300, car interior
  Google_Pixel_IMG_20180725_163423-tiny.jpg  # 1012x759 phone, path and sky
  door-knocker.jpg                           # 800x533 Olympus E-M10, textured metal
  DSCN0010.jpg                               # 640x480 Nikon P6000, village and trees
)

if [[ ! -d $corpus ]]; then
  echo "encoders.sh: corpus not found at $corpus (the shared test corpus; set BENCH_CORPUS=dir)" >&2
  exit 1
fi
if ! command -v cjpeg >/dev/null; then
  echo "encoders.sh: cjpeg not found: apt-get install libjpeg-turbo-progs" >&2
  exit 1
fi
if ! command -v avifdec >/dev/null; then
  echo "encoders.sh: note: avifdec not found (apt-get install libavif-bin): AVIF will not be scored" >&2
fi
if ((photos > ${#candidates[@]})); then
  echo "encoders.sh: only ${#candidates[@]} suitable photos in the corpus; using all of them" >&2
  photos=${#candidates[@]}
fi
inputs=()
for name in "${candidates[@]:0:photos}"; do
  if [[ ! -f $corpus/$name ]]; then
    echo "encoders.sh: $corpus/$name is missing from the corpus" >&2
    exit 1
  fi
  inputs+=("$corpus/$name")
done

features=()
if [[ ${BENCH_FAST_AVIF:-0} == 1 ]]; then
  features=(--features fast-avif)
fi
# One job: the machines have 2 shared cores, and other builds may be running.
CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} cargo build --release --quiet --manifest-path "$manifest" "${features[@]}"

only=()
if [[ -n ${BENCH_ONLY:-} ]]; then
  only=(--only "$BENCH_ONLY")
fi
echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run; $(date -u +%Y-%m-%d)"
echo
"$repo/bench/encoders/target/release/headshot-encoder-bench" --reps "$reps" "${only[@]}" "${inputs[@]}"
echo
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
