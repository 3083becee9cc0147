#!/usr/bin/env bash
# Next-basket quality on generated grocery orders (bench/gen_baskets.py: known cycles, baskets by order id), as a
# merchant would meet it: every order but each customer's last is imported as purchases (with order_id), the
# models are trained (tuning included), and each customer's default recommendations
# (`GET …/recommendations/users/{c}?n=10`, no exclude, no settings) are scored against their last order, beside
# G-TopFreq and P-TopFreq computed from the same training file in the same run. Then the server's own protocol,
# `affinity evaluate --protocol next-basket`, on the imported orders (it holds out their last orders in turn).
# Metrics as Li et al. (TOIS 2023): Recall@10 = hits / basket size, NDCG@10, PHR@10.
# Usage: bench/next_basket.sh [CUSTOMERS] [ITEMS] [SEED]   (default 5000 3000 1)
set -euo pipefail
cd "$(dirname "$0")/.."
customers=${1:-5000}
items=${2:-3000}
seed=${3:-1}
cargo build --release --quiet
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
python3 bench/gen_baskets.py "$work" --customers "$customers" --items "$items" --seed "$seed"
. bench/server.sh
start_bench_server "$work/data"
start=$(date +%s.%N)
target/release/affinity import --url "$url" --key "$admin" --project bench --interaction purchase "$work/train.csv" >/dev/null
imported=$(date +%s.%N)
curl -sf -X POST "$url/v1/projects/bench/models/train?wait=true" -H "x-api-key: $admin" > "$work/trained.json"
trained=$(date +%s.%N)
python3 - "$work" "$url" "$key" <<'PY'
import collections, json, math, sys, urllib.request, urllib.parse
work, url, key = sys.argv[1:4]
def read(name):
    rows = [l.rstrip("\n").split(",") for l in open(f"{work}/{name}")][1:]
    return rows
train, test = read("train.csv"), read("test.csv")
baskets = collections.defaultdict(set)
for c, i, _, _ in test:
    baskets[c].add(i)
orders_of = collections.defaultdict(lambda: collections.defaultdict(set))
for c, i, t, o in train:
    orders_of[c][i].add(o)
global_count = collections.Counter()
for c, items in orders_of.items():
    for i, orders in items.items():
        global_count[i] += len(orders)
g_top = [i for i, _ in global_count.most_common()]
last_time = {}
for c, i, t, o in train:
    last_time[(c, i)] = max(last_time.get((c, i), ""), t)
def p_top(c, k):
    # The customer's items in most orders (ties: bought most recently first), topped up with G-TopFreq.
    own = sorted(orders_of[c], key=lambda i: (-len(orders_of[c][i]), [-ord(ch) for ch in last_time[(c, i)]]))
    out = own[:k]
    for i in g_top:
        if len(out) >= k: break
        if i not in out: out.append(i)
    return out
def score(ranked, basket, k=10):
    hits = [r for r in ranked[:k] if r in basket]
    dcg = sum(1 / math.log2(n + 2) for n, r in enumerate(ranked[:k]) if r in basket)
    idcg = sum(1 / math.log2(n + 2) for n in range(min(k, len(basket))))
    return len(hits) / len(basket), dcg / idcg, 1.0 if hits else 0.0
opener = urllib.request.build_opener()
sums = collections.defaultdict(lambda: [0.0, 0.0, 0.0])
customers = sorted(baskets)
for c in customers:
    req = urllib.request.Request(f"{url}/v1/projects/bench/recommendations/users/{urllib.parse.quote(c)}?n=10", headers={"x-api-key": key})
    ours = [r["item"] for r in json.load(opener.open(req))["items"]]
    for name, ranked in (("affinity (default answer)", ours), ("P-TopFreq", p_top(c, 10)), ("G-TopFreq", g_top[:10])):
        for n, v in enumerate(score(ranked, baskets[c])):
            sums[name][n] += v
n = len(customers)
print(f"{n} customers, last order held out; {len(train)} training lines")
for name, (r, g, p) in sums.items():
    print(f"{name:<28} Recall@10 {r / n:.4f}  NDCG@10 {g / n:.4f}  PHR@10 {p / n:.4f}")
models = json.load(open(f"{work}/trained.json"))["models"]
print("tuning:", json.dumps(models.get("tuning")))
PY
echo "import $(echo "$imported - $start" | bc) s, training (tuning included) $(echo "$trained - $imported" | bc) s"
echo "--- affinity evaluate --protocol next-basket (on the imported orders) ---"
target/release/affinity evaluate --url "$url" --key "$admin" --project bench --protocol next-basket --k 10,20
