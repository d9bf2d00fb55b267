#!/usr/bin/env bash
# How long a photo takes to show on the tagging desk: starts `headshot serve --slates` on an
# empty shoot, copies sample portraits in one at a time, and times each from the copy until
# /api/state lists it (the desk waits about 0.9 s for a file to be whole). Several binaries are
# run in turn, interleaved over rounds, so they share the machine's noise.
#   bench/desk-latency.sh [-r ROUNDS] BINARY...
set -euo pipefail
rounds=2
if [[ ${1:-} == -r ]]; then rounds=$2; shift 2; fi
(($#)) || { echo "usage: bench/desk-latency.sh [-r ROUNDS] BINARY..." >&2; exit 2; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
photos=(IMG_0102.jpg IMG_0103.jpg IMG_0104.jpg IMG_0105.jpg)

tiles_shown() {
  curl -s "http://$1/api/state" | python3 -c 'import json, sys
state = json.load(sys.stdin)
print(-1 if state["busy"] else sum(len(group["tiles"]) for group in state["groups"]))'
}

one_desk() {
  local binary=$1 work address pid count start
  work=$(mktemp -d)
  mkdir -p "$work/shoot"
  "$binary" serve "$work/shoot" --out "$work/gallery" --slates --quiet --listen 127.0.0.1:0 \
    >"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -qs '^Serving' "$work/serve.log" && break; sleep 0.1; done
  address=$(grep -o 'http://[^/ ]*' "$work/serve.log" | head -1 | sed 's|http://||')
  until [[ $(tiles_shown "$address") == 0 ]]; do sleep 0.1; done
  count=0
  for photo in "${photos[@]}"; do
    count=$((count + 1))
    start=$(date +%s.%N)
    cp "$repo/sample-images/$photo" "$work/shoot/"
    until [[ $(tiles_shown "$address") == "$count" ]]; do sleep 0.05; done
    printf '%s\tphoto %d\t%.2f s\n' "$binary" "$count" "$(echo "$(date +%s.%N) - $start" | bc)"
  done
  kill -INT "$pid"
  wait "$pid" || true
  rm -rf "$work"
}

for ((round = 1; round <= rounds; round++)); do
  for binary in "$@"; do one_desk "$binary"; done
done
