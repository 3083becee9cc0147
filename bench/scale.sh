#!/usr/bin/env bash
# One node at scale (issue 16, §4): ROWS generated events (default 100,000,000) of the audience benchmark's mix
# (bench/gen_events.py) over CUSTOMERS customers (10,000,000) and ITEMS Zipf items (1,000,000, all in the
# catalog with a brand and a category) imported into one SQLite node. Measured, in order:
# 1. the import with `affinity import`: rows/s, and the server's peak RSS (VmHWM);
# 2. the time to compute each audience size of the audience benchmark's five rules (bench/audience_rules.sh);
# 3. a restart: the time until the server listens (the views rebuilt from the log), and its RSS after it;
# 4. one training (`personalized_model` auto: iALS past EASE's catalog limit): its time and the peak RSS;
# 5. personalized recommendations for random customers: capacity (closed loop, 32 connections) with the server's
#    threads moved to core 0 (`taskset -a -p`) and oha on core 1, then latency at 50 % of it (open loop,
#    `oha -q --latency-correction`) beside GET /health at the same rate.
# Needs about 5 GB of disk for the CSV and 10 GB for the store. EVENTS=FILE reuses a file generated before.
# Usage: [EVENTS=FILE] bench/scale.sh [ROWS [CUSTOMERS [ITEMS [SECS]]]]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-100000000}
customers=${2:-10000000}
items=${3:-1000000}
secs=${4:-10}
cargo build --release -q
. bench/oha.sh
. bench/audience_rules.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/affinity-scale.XXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"' EXIT
events=${EVENTS:-$work/events.csv}
if [ ! -s "$events" ]; then
  echo "generating $rows events ($customers customers, $items items)..."
  python3 bench/gen_events.py "$rows" "$events" "$(date +%s)" "$customers" "$items"
fi
kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$pid/status"; }
mib() { echo $(( $(kib "$1") / 1024 )); }
now() { date +%s.%N; }
secs_since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

. bench/server.sh
start_bench_server "$work/data"
H=(-H "x-api-key: $admin" -H 'content-type: application/json')
curl -sf -X POST "$url/v1/projects/bench/interactions" "${H[@]}" -d '{"id":"loan_application","name":"Loan application",
  "parameters":[{"id":"amount","type":"number"},{"id":"approved","type":"boolean"}]}' >/dev/null
# Trainings only when asked: the import and the audience times measure the events alone.
curl -sf -X PUT "$url/v1/projects/bench/settings" "${H[@]}" -d '{"retrain":{"after_events":null,"every_minutes":null}}' >/dev/null
echo "catalog of $items items..."
python3 - "$url" "$admin" "$items" <<'PY'
import json, sys, urllib.request
url, admin, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for start in range(0, n, 10_000):
    batch = [{"id": f"sku-{k}", "categories": ["shoes" if k % 5 == 0 else "other"], "price": 10 + k % 90,
              "properties": {"brand": ["Nike", "Acme", "Puma"][k % 3]}} for k in range(start, min(n, start + 10_000))]
    req = urllib.request.Request(f"{url}/v1/projects/bench/items", data=json.dumps(batch).encode(), method="PUT",
                                 headers={"x-api-key": admin, "content-type": "application/json"})
    urllib.request.urlopen(req).read()
PY

echo "== 1. import"
t0=$(now)
target/release/affinity import --url "$url" --key "$admin" --project bench "$events" > "$work/report.json"
took=$(secs_since "$t0")
stored=$(python3 -c "import json; print(json.load(open('$work/report.json'))['succeeded'])")
echo "$stored events stored in $took s: $(python3 -c "print(f'{$stored / $took:,.0f}')") rows/s; RSS $(mib VmRSS) MiB, peak $(mib VmHWM) MiB"

echo "== 2. audience sizes, computed from scratch"
for id in "${AUDIENCE_IDS[@]}"; do
  curl -sf -X POST "$url/v1/projects/bench/audiences" "${H[@]}" -d "{\"id\":\"$id\",\"name\":\"$id\",\"rule\":${RULE[$id]}}" >/dev/null
  t=$(curl -sf -o "$work/a.json" -w '%{time_total}' "$url/v1/projects/bench/audiences/$id" -H "x-api-key: $admin")
  printf '%-12s size %9s in %6.3f s\n' "$id" "$(python3 -c "import json; print(json.load(open('$work/a.json'))['size'])")" "$t"
done

echo "== 3. restart"
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
t0=$(now)
AFFINITY_MASTER_KEY=bench-master RUST_LOG=warn target/release/affinity serve --addr 127.0.0.1:0 \
  --data-dir "$work/data" > "$work/restart.log" 2>&1 &
pid=$!
until grep -q "listening on" "$work/restart.log" 2>/dev/null; do sleep 0.1; done
echo "listening after $(secs_since "$t0") s; RSS $(mib VmRSS) MiB, peak $(mib VmHWM) MiB; store $(du -sm "$work/data" | cut -f1) MiB on disk"
url=$(sed -n 's/^affinity listening on //p' "$work/restart.log")

echo "== 4. training"
t0=$(now)
curl -sf -X POST "$url/v1/projects/bench/models/train?wait=true" -H "x-api-key: $admin" > "$work/train.json"
echo "trained in $(secs_since "$t0") s: $(python3 -c "import json; m=json.load(open('$work/train.json'))['models']; p=m['personalized']; print(p['model'], f\"{p['customers']:,} customers, {p['interactions']:,} interactions, fit {m['total_fit_ms'] / 1000:.1f} s\")"); RSS $(mib VmRSS) MiB, peak $(mib VmHWM) MiB"

echo "== 5. personalized recommendations (server on core 0, oha on core 1)"
taskset -a -p -c 0 "$pid" >/dev/null
reco=(-H "x-api-key: $key" --rand-regex-url "$url/v1/projects/bench/recommendations/users/u-[1-9][0-9]{0,6}\\?n=10")
curl -sf "$url/v1/projects/bench/recommendations/users/u-42?n=10" -H "x-api-key: $key" | python3 -c '
import json, sys
a = json.load(sys.stdin)
assert a["fallback"] is None and len(a["items"]) == 10, a
print("answers by", a["model"])'
oha_summary -n 2000 -c 32 "${reco[@]}" >/dev/null   # warm the pages of the model and the views
read -r rps p50 p99 p999 < <(oha_summary -z "${secs}s" -c 32 "${reco[@]}")
echo "capacity: $rps req/s (closed loop, 32 connections: p50 $p50, p99 $p99, p99.9 $p999 ms)"
rate=$(( rps / 2 ))
read -r _ p50 p99 p999 < <(oha_summary -z "${secs}s" -c 32 -q "$rate" --latency-correction "${reco[@]}")
read -r _ h50 h99 h999 < <(oha_summary -z "${secs}s" -c 32 -q "$rate" --latency-correction "$url/health")
echo "at $rate req/s: p50 $p50  p99 $p99  p99.9 $p999 ms | /health: p50 $h50  p99 $h99  p99.9 $h999 ms"
