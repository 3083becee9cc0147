#!/usr/bin/env bash
# Reads over the views, A/B in one run (issue 16, §1: "everything that reads histories keeps today's speed"). The
# audience benchmark's data (ROWS generated events, default 10,000,000, bench/audience_data.sh) and its five rules
# are made once by target/release/affinity; then each binary of SERVE_BINS serves the same data dir in turn, ROUNDS
# times in alternation (A B A B …), pinned to core 0 with one request thread, the load generator (wrk) on core 1.
# Per serving: the restart (views rebuilt from the log, seconds to "listening"), each rule's size from scratch
# (GET …/audiences/{id}, best of 3), membership requests/s over 5 s per rule, personalized top-10 requests/s for
# generated customers (their live histories, the trained model), and one training (POST …/models/train?wait=true).
# Usage: SERVE_BINS="A B" bench/views_ab.sh [ROWS] [ROUNDS, default 2]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
rounds=${2:-2}
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
command -v wrk >/dev/null || $SUDO apt-get install -y -qq wrk >/dev/null
cargo build --release --quiet
work=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
. bench/audience_data.sh
load_audience_data "$work" "$rows"
. bench/audience_rules.sh
H=(-H "x-api-key: $admin" -H 'content-type: application/json')
for id in "${AUDIENCE_IDS[@]}"; do
  curl -sf -X POST "$url/v1/projects/bench/audiences" "${H[@]}" -d "{\"id\":\"$id\",\"name\":\"$id\",\"rule\":${RULE[$id]}}" >/dev/null
done

serve() { # serve BIN: restarts the pinned server on the data dir and prints one result line per measure
  local bin=$1 t0 t1
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  t0=$(date +%s.%N)
  AFFINITY_MASTER_KEY=bench-master AFFINITY_WORKERS=1 RUST_LOG=warn taskset -c 0 "$bin" serve \
    --addr 127.0.0.1:0 --data-dir "$work/data" > "$work/pinned.log" 2>&1 &
  pid=$!
  until grep -q "listening on" "$work/pinned.log" 2>/dev/null; do sleep 0.05; done
  t1=$(date +%s.%N)
  url=$(sed -n 's/^affinity listening on //p' "$work/pinned.log")
  echo "$bin restart_s $(python3 -c "print(round($t1 - $t0, 2))")"
  for id in "${AUDIENCE_IDS[@]}"; do
    local best=999 size t
    for _ in 1 2 3; do
      t=$(curl -sf -o "$work/a.json" -w '%{time_total}' "$url/v1/projects/bench/audiences/$id" -H "x-api-key: $admin")
      best=$(python3 -c "print(min($best, $t))")
    done
    size=$(python3 -c "import json; print(json.load(open('$work/a.json'))['size'])")
    echo "$bin size_s:$id $best (size $size)"
  done
  for id in "${AUDIENCE_IDS[@]}"; do
    echo "$bin members_rps:$id $(AFFINITY_KEY=$key AUDIENCE=$id taskset -c 1 wrk -t1 -c32 -d5s -s bench/membership.lua "$url" \
      | awk '/RESULT/ {print $3}')"
  done
  echo "$bin reco_rps $(AFFINITY_KEY=$key PREFIX=u- CUSTOMERS=1000000 taskset -c 1 wrk -t1 -c32 -d5s -s bench/recommend.lua "$url" \
    | awk '/RESULT/ {print $3, "errors", $11}')"
  t0=$(date +%s.%N)
  curl -sf -X POST "$url/v1/projects/bench/models/train?wait=true" -H "x-api-key: $admin" >/dev/null
  t1=$(date +%s.%N)
  echo "$bin train_s $(python3 -c "print(round($t1 - $t0, 2))")"
}
for _ in $(seq "$rounds"); do
  for bin in ${SERVE_BINS:-target/release/affinity}; do
    serve "$bin" > "$work/one" # not in a pipe: serve sets pid
    cat "$work/one" >> "$work/results"
    cat "$work/one"
  done
done
echo "=== best per binary and measure (lowest time, highest requests/s)"
python3 - "$work/results" <<'PY'
import collections, sys
best = collections.OrderedDict()
for line in open(sys.argv[1]):
    bin, measure, value = line.split()[:3]
    value = float(value)
    key = (measure, bin)
    better = max if measure.endswith("rps") or "_rps:" in measure else min
    best[key] = better(best.get(key, value), value)
bins = list(dict.fromkeys(b for _, b in best))
print("measure".ljust(26) + "".join(b[-28:].rjust(30) for b in bins))
for measure in dict.fromkeys(m for m, _ in best):
    print(measure.ljust(26) + "".join(str(best[(measure, b)]).rjust(30) for b in bins))
PY
