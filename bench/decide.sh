#!/usr/bin/env bash
# Targeting speed (issue 8): the audience benchmark's data (ROWS generated events, default 10,000,000, over
# 1,000,000 customers and 50,000 catalog items), five saved audiences, and 100 active experiences with mixed rules
# (context, time, session, interaction windows with parameter and item conditions, audience membership). Measures
# the p99 of POST …/experiences/decide (n = 3) at 32 connections with wrk, first with wrk and the server sharing
# both cores, then with the server restarted pinned to core 0 with one request thread and wrk pinned to core 1.
# Usage: bench/decide.sh [rows] [seconds of wrk per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
secs=${2:-10}
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
command -v wrk >/dev/null || $SUDO apt-get install -y -qq wrk >/dev/null
cargo build --release --quiet
work=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
. bench/audience_data.sh
load_audience_data "$work" "$rows"
H=(-H "x-api-key: $admin" -H 'content-type: application/json')
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
audiences = [
    {"id": "loan_2m", "rule": {"interaction": "loan_application", "window": {"last": {"n": 2, "unit": "month"}},
                               "where": [{"param": "amount", "op": "gte", "value": 5000}]}},
    {"id": "nike_fans", "rule": {"interaction": "view", "item": [{"attr": "brand", "op": "eq", "value": "Nike"}],
                                 "window": {"last": {"n": 30, "unit": "day"}}, "cmp": {"op": "gte", "value": 2}}},
    {"id": "big_spenders", "rule": {"interaction": "purchase", "window": {"last": {"n": 90, "unit": "day"}},
                                    "measure": {"agg": "sum", "param": "value"}, "cmp": {"op": "gte", "value": 500}}},
    {"id": "cart_abandoners", "rule": {"all": [{"interaction": "cart", "window": {"last": {"n": 1, "unit": "week"}}},
        {"interaction": "purchase", "window": {"last": {"n": 1, "unit": "week"}}, "cmp": {"op": "eq", "value": 0}}]}},
    {"id": "shoe_browsers", "rule": {"interaction": "cart", "item": [{"attr": "category", "op": "in", "value": ["shoes"]}],
                                     "measure": {"agg": "distinct_items"}, "cmp": {"op": "gte", "value": 2}}},
]
json.dump(audiences, open(f"{work}/audiences.json", "w"))
leaves = [
    {"context": "device", "op": "eq", "value": "mobile"},
    {"context": "page", "op": "in", "value": ["product", "cart"]},
    {"context": "cart_total", "op": "gte", "value": 100},
    {"time": "day_of_week", "op": "in", "value": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
    {"time": "time_of_day", "op": "between", "value": ["00:00", "23:59"]},
    {"session": {"interaction": "view", "cmp": {"op": "gte", "value": 2}}},
    {"interaction": "purchase", "window": {"last": {"n": 30, "unit": "day"}}},
    {"interaction": "view", "item": [{"attr": "brand", "op": "eq", "value": "Puma"}], "window": {"last": {"n": 7, "unit": "day"}}},
    {"audience": "loan_2m"}, {"audience": "nike_fans"}, {"audience": "big_spenders"},
    {"audience": "cart_abandoners"}, {"audience": "shoe_browsers"},
]
experiences = []
for k in range(100):
    a, b = leaves[k % len(leaves)], leaves[(k * 7 + 3) % len(leaves)]
    rule = {"all": [a, b]} if k % 3 else {"any": [a, {"not": b}]}
    experiences.append({"id": f"exp_{k}", "name": f"Experience {k}", "priority": k % 10, "rule": rule,
                        "variants": [{"id": "a", "weight": 50, "payload": {"banner": k}},
                                     {"id": "b", "weight": 50, "payload": {"banner": -k}}]})
json.dump(experiences, open(f"{work}/experiences.json", "w"))
PY
python3 - "$work" "$url" "$admin" <<'PY'
import json, sys, urllib.request
work, url, admin = sys.argv[1:4]
def post(path, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"x-api-key": admin, "content-type": "application/json"})
    urllib.request.urlopen(req).read()
for a in json.load(open(f"{work}/audiences.json")):
    post("/v1/projects/bench/audiences", {"id": a["id"], "name": a["id"], "rule": a["rule"]})
for e in json.load(open(f"{work}/experiences.json")):
    post("/v1/projects/bench/experiences", e)
PY
echo "$rows events, 5 audiences, 100 active experiences"
echo "shared cores:        $(AFFINITY_KEY=$key taskset -c 0,1 wrk -t2 -c32 -d"${secs}s" -s bench/decide.lua "$url" | grep RESULT)"
kill "$pid"; wait "$pid" 2>/dev/null || true
AFFINITY_MASTER_KEY=bench-master AFFINITY_WORKERS=1 RUST_LOG=warn taskset -c 0 target/release/affinity serve \
  --addr 127.0.0.1:0 --data-dir "$work/data" > "$work/server2.log" 2>&1 &
pid=$!
for _ in $(seq 3000); do grep -q "listening on" "$work/server2.log" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^affinity listening on //p' "$work/server2.log")
echo "server core 0, wrk core 1: $(AFFINITY_KEY=$key taskset -c 1 wrk -t1 -c32 -d"${secs}s" -s bench/decide.lua "$url" | grep RESULT)"
echo "server RSS: $(awk '/VmRSS/ {print $2 / 1024}' /proc/$pid/status) MiB"
