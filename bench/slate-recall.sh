#!/usr/bin/env bash
# Slate recall: makes 60 frames holding a QR code of growing length (versions 1 to about 10,
# so the alignment-pattern search runs), pasted into a noisy scene at 260-700 px, seen in
# perspective, rotated up to 25 degrees and blurred, then runs each given headshot binary with
# --slates and counts the frames read as slates and whether each read the right text.
# For changes to the QR reader (vendor/rqrr): the same frames, before and after.
#   bench/slate-recall.sh BINARY [BINARY...]      (needs python3 with Pillow and qrcode, ImageMagick)
set -euo pipefail
(($#)) || { echo "usage: bench/slate-recall.sh BINARY [BINARY...]" >&2; exit 2; }
work=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/work/slate-recall
rm -rf "$work" && mkdir -p "$work/frames"
python3 - "$work" <<'PY'
import random, subprocess, sys
import qrcode
from PIL import Image
work = sys.argv[1]
random.seed(5)
alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
n = 0
for length in [10, 20, 30, 45, 60, 80, 100, 130, 160, 200]:
    for _ in range(6):
        payload = "Attendee " + "".join(random.choice(alphabet) for _ in range(length))
        qr = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
        qr.add_data(payload)
        qr.make(fit=True)
        side = random.choice([260, 360, 500, 700])
        card = qr.make_image().convert("RGB").resize((side, side), Image.NEAREST)
        scene = Image.effect_noise((2400, 1600), 60).convert("RGB")
        scene.paste(card, (random.randint(100, 2300 - side), random.randint(100, 1500 - side)))
        png = f"{work}/q{n:03d}.png"
        scene.save(png)
        dx, dy = random.randint(0, 220), random.randint(0, 160)
        angle = random.uniform(-25, 25)
        subprocess.run(["convert", png, "-virtual-pixel", "gray", "-distort", "Perspective",
                        f"0,0 {dx},{dy}  2400,0 2400,0  2400,1600 2400,1600  0,1600 {dx // 2},{1600 - dy}",
                        "-rotate", f"{angle:.1f}", "-blur", "0x1", "-quality", "92",
                        f"{work}/frames/q{n:03d}.jpg"], check=True)
        open(f"{work}/q{n:03d}.txt", "w").write(payload)
        subprocess.run(["rm", png], check=True)
        n += 1
PY
for binary in "$@"; do
  out=$work/out-$(basename "$binary")
  "$binary" run "$work/frames" --out "$out" --slates --no-biometrics --quiet >/dev/null || true
  python3 - "$work" "$out/manifest.json" "$binary" <<'PY'
import json, os, sys
work, manifest, binary = sys.argv[1:]
read = right = 0
unread = []
for photo in json.load(open(manifest))["photos"]:
    name = os.path.basename(photo["source"])[:-4]
    if photo.get("role") != "slate":
        unread.append(name)
        continue
    read += 1
    right += photo["person"]["name"] == open(f"{work}/{name}.txt").read()
print(f"{binary}: {read} of 60 read as slates, {right} with the right text; unread: {' '.join(unread)}")
PY
done
