#!/usr/bin/env bash
# Training on a large catalog: 200,000 catalog items and 5,000,000 purchases (Zipf-distributed items, 500,000
# customers), past EASE's limit, so the personalized model is item-kNN. Prints the training's wall time per model
# and the server's peak RSS (VmHWM). Usage: bench/train_large.sh [items] [rows]
set -euo pipefail
cd "$(dirname "$0")/.."
items=${1:-200000}
rows=${2:-5000000}
cargo build --release --quiet
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
python3 bench/gen_purchases.py "$rows" "$work/purchases.csv" "$items" 500000
. bench/server.sh
start_bench_server "$work/data"
# The catalog, 10,000 items a request.
python3 - "$items" "$work" <<'PY'
import json, sys
items, work = int(sys.argv[1]), sys.argv[2]
for start in range(0, items, 10_000):
    batch = [{"id": f"sku-{k}", "title": f"Item {k}", "categories": [f"c{k % 50}"], "price": 1 + k % 100,
              "available": k % 20 != 0} for k in range(start, min(items, start + 10_000))]
    with open(f"{work}/items-{start // 10_000:03}.json", "w") as f:
        json.dump(batch, f)
PY
for f in "$work"/items-*.json; do
  curl -sf -X PUT "$url/v1/projects/bench/items" -H "x-api-key: $admin" -H 'content-type: application/json' \
    --data-binary @"$f" > /dev/null
done
target/release/affinity import --url "$url" --key "$admin" --project bench --interaction purchase "$work/purchases.csv" >/dev/null
t0=$(date +%s.%N)
trained=$(curl -sf -X POST "$url/v1/projects/bench/models/train?wait=true" -H "x-api-key: $admin")
t1=$(date +%s.%N)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo "$trained" | python3 -c '
import json, sys
m = json.load(sys.stdin)["models"]
p = m["personalized"]
print("%d items with events, %d customers, %d interactions; personalized model: %s" % (p["items"], p["customers"], p["interactions"], p["model"]))
print("fit per model (ms):", {k: m[k]["fit_ms"] for k in ("popular", "similar", "bought_together", "personalized")}, "total", m["total_fit_ms"])
'
echo "train request: $(python3 -c "print(round($t1 - $t0, 1))") s; server peak RSS: $((hwm / 1024)) MiB"
curl -sf "$url/v1/projects/bench/recommendations/users/u-1?n=3" -H "x-api-key: $key"; echo
