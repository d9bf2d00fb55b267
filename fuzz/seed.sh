#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ (gitignored) with seeds from ../shared/corpus, the presets and
# small files made here. Corpus photos are copied outside git only (see their licence notes).
set -euo pipefail
cd "$(dirname "$0")"
photos=../../shared/corpus
[ -f "$photos/MANIFEST.md" ] || { echo "seed.sh: $photos is missing" >&2; exit 1; }
for target in decode exif avif webp sheets cube toml slate; do mkdir -p "corpus/$target"; done

# Images up to 120 KB (bigger seeds only slow every run down), plus PNG and TIFF samples.
find "$photos" ../sample-images -type f -size -120k \( -iname '*.jpg' -o -iname '*.png' -o -iname '*.tif' \) |
    while read -r file; do
        name=$(echo "${file#../}" | sed 's|^\.\./||; s|^shared/corpus/||' | tr '/' '_')
        cp "$file" "corpus/decode/$name"
        cp "$file" "corpus/exif/$name"
    done
python3 - <<'PY'
# Tiny PNG/TIFF variants (grey, 16-bit, alpha, palette) and WebP files as libwebp writes them.
import io, struct
from PIL import Image
base = Image.open("../../shared/corpus/faces/astronaut.png").convert("RGB").resize((40, 40))
for mode in ["L", "I;16", "RGBA", "P", "RGB", "LA"]:
    for fmt, ext in [("PNG", "png"), ("TIFF", "tif")]:
        try:
            buffer = io.BytesIO()
            base.convert(mode).save(buffer, fmt)
            open(f"corpus/decode/pil_{mode.replace(';', '')}.{ext}", "wb").write(buffer.getvalue())
        except Exception:
            pass
for name, kwargs, image in [("lossy", {"quality": 60}, base),
                            ("lossless", {"lossless": True}, base),
                            ("alpha", {"quality": 60}, base.convert("RGBA"))]:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", **kwargs)
    # The target reads a 4-byte canvas size first: 40x40.
    open(f"corpus/webp/{name}.bin", "wb").write(struct.pack("<HBB", 40, 40, 0) + buffer.getvalue())
PY

# AVIF from libheif (ImageMagick) as well as from headshot's own encoder, when built.
for file in "$photos/exif/Canon_40D.jpg" "$photos/faces/2008_001322.jpg"; do
    convert "$file" -resize 64x64 "corpus/avif/$(basename "$file" .jpg).avif" || true
done
headshot=${HEADSHOT_BIN:-}
if [ -n "$headshot" ] && [ -x "$headshot" ]; then
    work=$(mktemp -d)
    printf '[[derivative]]\nname = "a"\nformat = "avif"\nlong_edge = 64\n' >"$work/avif.toml"
    "$headshot" run "$photos/exif/Canon_40D.jpg" --out "$work/out" --export "$work/avif.toml" --quiet || true
    find "$work/out" -name '*.avif' -exec cp {} corpus/avif/ \;
    "$headshot" slates --roster <(printf 'id,name\nA-17,Ada Lovelace\n') --out "$work/cards" >/dev/null || true
    find "$work/cards" -name '*.png' | head -2 | while read -r card; do
        python3 - "$card" <<'PY'
import sys
from PIL import Image
card = Image.open(sys.argv[1]).convert("L")
card.thumbnail((95, 95))
data = bytes([card.width - 1, card.height - 1]) + card.tobytes()
open(f"corpus/slate/{card.width}x{card.height}.bin", "wb").write(data)
PY
    done
    rm -rf "$work"
fi

cp ../presets/*/*.toml corpus/toml/
printf 'event = "RustConf"\ncredit = "Ada"\nexport = "web"\nnames = "names.csv"\nclock_offset = "+00:01:30"\nmax_gap = "5m"\n' >corpus/toml/shoot.toml
printf 'extends = "headshot-4x5"\nanchor = "face"\n[face]\neye_line = 0.4\n' >corpus/toml/extends.toml
printf '[[derivative]]\nname = "web"\nformat = "webp"\nlong_edge = 1600\nmax_bytes = 200000\ntemplate = "{name}/{stem}.{ext}"\n' >corpus/toml/derivative.toml

printf 'file,name,company\nIMG_1.jpg,Ada Lovelace,Acme\nday2\\IMG_2.jpg,"O'"'"'Brien, Seán",\n' >corpus/sheets/file.csv
printf 'first_file\tname\nIMG_0001.JPG\tAda\nIMG_0010.JPG\tGrace\n' >corpus/sheets/first.tsv
printf 'time;name\n2024-05-01 09:00:00;Ada\n2024-05-01T09:05:30.25+02:00;Grace\n' >corpus/sheets/time.csv
printf '\xef\xbb\xbfid,name,email\nA-17,Ada Lovelace,ada@example.org\n# comment\nB-2,李小龍,\n' >corpus/sheets/roster.csv
printf '\xff\xfei\x00d\x00,\x00n\x00a\x00m\x00e\x00\n\x001\x00,\x00A\x00\n\x00' >corpus/sheets/utf16.csv

printf 'TITLE "identity"\nLUT_3D_SIZE 2\nDOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 1 1\n0 0 0\n1 0 0\n0 1 0\n1 1 0\n0 0 1\n1 0 1\n0 1 1\n1 1 1\n' >corpus/cube/identity.cube
printf '# 1D then 3D\nLUT_1D_SIZE 2\nLUT_3D_SIZE 2\n0 0 0\n1 1 1\n' >corpus/cube/mixed.cube

for payload in 'A-17' 'Ada Lovelace' 'https://example.org/x' 'WIFI:S:x;;' 'BEGIN:VCARD'; do
    printf '%s' "$payload" >"corpus/slate/payload-$(echo "$payload" | tr -c 'a-zA-Z0-9' '_').txt"
done
for target in corpus/*; do echo "$target: $(ls "$target" | wc -l) seeds"; done
