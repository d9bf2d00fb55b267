#!/usr/bin/env bash
# Regenerates the README's pictures from a real run on sample-images/:
#   docs/review.png          the review page (index.html), shot by headless Chromium
#   docs/framed-example.jpg  one face-framed `thumb` derivative (400 px), as written
#   docs/desk.png            the tagging desk (`headshot serve`) on the same shoot
# and prints the run's summary (pasted into the README by hand).
#
# Usage: docs/screenshot.sh            (builds the release binary with cargo first)
#        HEADSHOT=path/to/headshot docs/screenshot.sh
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

if [[ -z ${HEADSHOT:-} ]]; then
  cargo build --release --quiet
  HEADSHOT=${CARGO_TARGET_DIR:-$repo/target}/release/headshot
fi
command -v chromium >/dev/null || { echo "needs chromium (Debian: apt-get install chromium)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Run from a copy named like the repo's folder, so the page shows the README's paths.
cp -r sample-images "$work/sample-images"
(cd "$work" && "$HEADSHOT" run sample-images --out gallery)

# The first named photo framed on a face (no review flag): its thumb derivative.
thumb=$(python3 - "$work/gallery/manifest.json" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
for photo in manifest["photos"]:
    if photo["role"] == "portrait" and photo["person"] and not photo["needs_review"]:
        print(next(o["path"] for o in photo["outputs"] if o["derivative"] == "thumb"))
        break
PY
)
cp "$work/gallery/$thumb" docs/framed-example.jpg

# A throwaway profile and no background traffic: the page loads only its own files.
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
  --user-data-dir="$profile" --window-size=1200,900 \
  --screenshot="$repo/docs/review.png" "file://$work/gallery/index.html" 2>/dev/null
rm -rf "$profile"

# The tagging desk on the same gallery: serve on a free loopback port, let the page poll once
# (virtual time runs its timers), shoot it, then Ctrl-C the desk.
(cd "$work" && exec "$HEADSHOT" serve sample-images --out gallery --listen 127.0.0.1:0 --quiet \
  >"$work/serve.log" 2>&1) &
serve_pid=$!
for _ in $(seq 100); do grep -q '^Serving' "$work/serve.log" 2>/dev/null && break; sleep 0.2; done
url=$(grep -o 'http://[^ ]*' "$work/serve.log" | head -1)
for _ in $(seq 100); do
  curl -s "$url"api/state 2>/dev/null | grep -q '"busy":false' && break; sleep 0.3
done
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
  --user-data-dir="$profile" --window-size=1200,900 --virtual-time-budget=5000 \
  --screenshot="$repo/docs/desk.png" "$url" 2>/dev/null
rm -rf "$profile"
kill -INT "$serve_pid"; wait "$serve_pid" || true
echo "wrote docs/review.png, docs/desk.png and docs/framed-example.jpg (from $thumb)"
