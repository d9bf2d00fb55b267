#!/usr/bin/env bash
# How long a photo takes to show on the tagging desk: starts `headshot serve --slates` on an
# empty shoot, copies four sample images in one at a time (a slate card, then three
# portraits), and times each from the copy until /api/state lists it (the desk waits about
# 0.9 s for a file to be whole). Several binaries run in turn, interleaved over rounds, so they
# share the machine's noise. Any wait over 60 s stops the script.
#   bench/desk-latency.sh [-r ROUNDS] BINARY...
set -euo pipefail
rounds=2
if [[ ${1:-} == -r ]]; then
  [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "-r wants a whole number" >&2; exit 2; }
  rounds=$2
  shift 2
fi
(($#)) || { echo "usage: bench/desk-latency.sh [-r ROUNDS] BINARY..." >&2; exit 2; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
photos=(IMG_0102.jpg IMG_0103.jpg IMG_0104.jpg IMG_0105.jpg)

tiles_shown() {
  curl -s "http://$1/api/state" | python3 -c 'import json, sys
state = json.load(sys.stdin)
print(-1 if state["busy"] else sum(len(group["tiles"]) for group in state["groups"]))'
}

# Waits until the desk at $1 shows $2 tiles, at most 60 s.
wait_for_tiles() {
  local deadline=$((SECONDS + 60))
  until [[ $(tiles_shown "$1" 2>/dev/null) == "$2" ]]; do
    ((SECONDS < deadline)) || { echo "the desk never showed $2 tiles" >&2; exit 1; }
    sleep 0.05
  done
}

one_desk() {
  local binary=$1 address count start
  work=$(mktemp -d)
  mkdir -p "$work/shoot"
  "$binary" serve "$work/shoot" --out "$work/gallery" --slates --quiet --listen 127.0.0.1:0 \
    >"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -qs '^Serving' "$work/serve.log" && break; sleep 0.1; done
  address=$(grep -o 'http://[^/ ]*' "$work/serve.log" | head -1 | sed 's|http://||' || true)
  [[ -n $address ]] || { echo "$binary serve printed no address" >&2; exit 1; }
  wait_for_tiles "$address" 0
  count=0
  for photo in "${photos[@]}"; do
    count=$((count + 1))
    start=$(date +%s.%N)
    cp "$repo/sample-images/$photo" "$work/shoot/"
    wait_for_tiles "$address" "$count"
    printf '%s\tphoto %d\t%.2f s\n' "$binary" "$count" "$(echo "$(date +%s.%N) - $start" | bc)"
  done
  kill -INT "$pid"
  wait "$pid" || true
  pid=""
  rm -rf "$work"
}

pid="" work=""
# A desk left running by a failed wait is stopped, and its folder removed.
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; [[ -n $work ]] && rm -rf "$work"' EXIT

for ((round = 1; round <= rounds; round++)); do
  for binary in "$@"; do one_desk "$binary"; done
done
