# Sourced by bench/audiences.sh and bench/decide.sh: the issue-5 benchmark project. load_audience_data DIR ROWS
# generates ROWS events (bench/gen_events.py: 1,000,000 customers, 50,000 Zipf items, the last 120 days), starts a
# fresh release server on DIR/data (bench/server.sh: sets pid, url, key, admin), creates the custom type
# `loan_application`, uploads a 50,000-item catalog (brand, size, category), imports the events and trains once, so
# that no policy-driven training runs on the server's cores while latencies are measured.
load_audience_data() {
  local work=$1 rows=$2
  echo "generating $rows events..."
  python3 bench/gen_events.py "$rows" "$work/events.csv" "$(date +%s)"
  . bench/server.sh
  start_bench_server "$work/data"
  local H=(-H "x-api-key: $admin" -H 'content-type: application/json')
  curl -sf -X POST "$url/v1/projects/bench/interactions" "${H[@]}" -d '{"id":"loan_application","name":"Loan application",
    "parameters":[{"id":"amount","type":"number"},{"id":"approved","type":"boolean"}]}' >/dev/null
  python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
for start in range(0, 50_000, 10_000):
    batch = [{"id": f"sku-{k}", "categories": ["shoes" if k % 5 == 0 else "other"], "price": 10 + k % 90,
              "properties": {"brand": ["Nike", "Acme", "Puma"][k % 3], "size": ["S", "M", "L"][k % 3]}}
             for k in range(start, start + 10_000)]
    json.dump(batch, open(f"{work}/items-{start // 10_000}.json", "w"))
PY
  for f in "$work"/items-*.json; do curl -sf -X PUT "$url/v1/projects/bench/items" "${H[@]}" --data-binary @"$f" >/dev/null; done
  target/release/affinity import --url "$url" --key "$admin" --project bench "$work/events.csv" > "$work/report.json"
  echo "imported: $(python3 -c "import json; r=json.load(open('$work/report.json')); print(r['succeeded'], 'stored,', r['failed'], 'failed')")"
  curl -sf -X POST "$url/v1/projects/bench/models/train?wait=true" -H "x-api-key: $admin" >/dev/null
}
