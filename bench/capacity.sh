#!/usr/bin/env bash
# Serving capacity per core and latency against the floor (issue 16, §3). One release server holds two projects:
# `bench`, the audience benchmark's data (ROWS generated events, bench/audience_data.sh, plus the audience
# `loan_2m` and 100 experiences), and `ml`, MovieLens-1M's 80 % training split (trained). The server is then
# restarted pinned to core 0 with one request thread (AFFINITY_WORKERS=1), and oha, pinned to core 1, measures:
# 1. closed loop, 32 connections, SECS seconds each: requests/s of GET /health (the floor), personalized top-10
#    on ML-1M (a random customer per request), GET …/audiences/loan_2m/members/{customer} (random customers) and
#    POST …/experiences/decide;
# 2. open loop at 50 % of each endpoint's capacity (oha -q RATE --latency-correction): p50, p99 and p99.9 of the
#    endpoint, and of GET /health at the same rate, in the same run.
# oha is installed with `cargo install oha` when missing. SERVE_BINS="A B" serves the pinned part with each binary in
# turn (the data is made by target/release/affinity). Usage: bench/capacity.sh [ROWS, default 1000000] [SECS, 10]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
secs=${2:-10}
. bench/oha.sh
cargo build --release --quiet
work=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

. bench/audience_data.sh
load_audience_data "$work" "$rows"
H=(-H "x-api-key: $admin" -H 'content-type: application/json')
curl -sf -X POST "$url/v1/projects/bench/audiences" "${H[@]}" -d '{"id":"loan_2m","name":"Loans","rule":
  {"interaction":"loan_application","window":{"last":{"n":2,"unit":"month"}},
   "where":[{"param":"amount","op":"gte","value":5000},{"param":"approved","op":"is_true"}]}}' > /dev/null
for k in $(seq 0 99); do
  curl -sf -X POST "$url/v1/projects/bench/experiences" "${H[@]}" -d "{\"id\":\"e$k\",\"name\":\"e\",\"priority\":$((k % 10)),
    \"rule\":{\"all\":[{\"context\":\"page\",\"op\":\"eq\",\"value\":\"product\"},
    {\"interaction\":\"view\",\"cmp\":{\"op\":\"gte\",\"value\":1}}]},
    \"variants\":[{\"id\":\"a\",\"weight\":1,\"payload\":{\"banner\":$k}}]}" > /dev/null
done
bench_key=$key

echo "MovieLens-1M..."
. bench/ml1m.sh
fetch_ml1m "$work"
ml=$(curl -sf -X POST "$url/v1/projects" -H 'x-api-key: bench-master' -H 'content-type: application/json' -d '{"id":"ml"}')
ml_admin=$(echo "$ml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"]["admin"])')
ml_key=$(echo "$ml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"]["ingest"])')
target/release/affinity import --url "$url" --key "$ml_admin" --project ml --interaction purchase "$work/train.csv" >/dev/null
curl -sf -X POST "$url/v1/projects/ml/models/train?wait=true" -H "x-api-key: $ml_admin" >/dev/null

# The same data, served by one pinned request thread, by each binary in turn (an A/B in one run).
for serve_bin in ${SERVE_BINS:-target/release/affinity}; do
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
echo "=== served by $serve_bin"
AFFINITY_MASTER_KEY=bench-master AFFINITY_WORKERS=1 RUST_LOG=warn taskset -c 0 "$serve_bin" serve \
  --addr 127.0.0.1:0 --data-dir "$work/data" > "$work/pinned.log" 2>&1 &
pid=$!
until grep -q "listening on" "$work/pinned.log" 2>/dev/null; do sleep 0.1; done
url=$(sed -n 's/^affinity listening on //p' "$work/pinned.log")

health="$url/health"
reco=(-H "x-api-key: $ml_key" --rand-regex-url "$url/v1/projects/ml/recommendations/users/u1m_([1-5][0-9]{3}|[1-9][0-9]{0,2})\\?n=10")
members=(-H "x-api-key: $bench_key" --rand-regex-url "$url/v1/projects/bench/audiences/loan_2m/members/u-[1-9][0-9]{0,5}")
decide=(-H "x-api-key: $bench_key" -H 'content-type: application/json' -m POST
  -d '{"customer":"u-7","context":{"page":"product"},"n":3}' "$url/v1/projects/bench/experiences/decide")
# A real history's answer, not the popular fallback an unknown customer gets.
curl -sf "$url/v1/projects/ml/recommendations/users/u1m_42?n=10" -H "x-api-key: $ml_key" | python3 -c '
import json, sys
a = json.load(sys.stdin)
assert a["fallback"] is None and len(a["items"]) == 10, a
print("personalized answers by", a["model"])'
taskset -c 1 oha --no-tui -n 2000 -c 32 "${reco[@]}" > /dev/null 2>&1   # warm the model's pages

echo "== closed loop, 32 connections, ${secs}s each: requests/s per core (p50 / p99 / p99.9 ms)"
declare -A cap
for name in health reco members decide; do
  case $name in
    health) args=("$health") ;; reco) args=("${reco[@]}") ;; members) args=("${members[@]}") ;; decide) args=("${decide[@]}") ;;
  esac
  read -r rps p50 p99 p999 < <(oha_summary -z "${secs}s" -c 32 "${args[@]}")
  cap[$name]=$rps
  printf '%-8s %8s req/s   %s / %s / %s\n' "$name" "$rps" "$p50" "$p99" "$p999"
done

echo "== open loop at 50 % of each endpoint's capacity, ${secs}s each, beside GET /health at the same rate"
for name in reco members decide; do
  rate=$(( ${cap[$name]} / 2 ))
  case $name in
    reco) args=("${reco[@]}") ;; members) args=("${members[@]}") ;; decide) args=("${decide[@]}") ;;
  esac
  read -r _ p50 p99 p999 < <(oha_summary -z "${secs}s" -c 32 -q "$rate" --latency-correction "${args[@]}")
  read -r _ h50 h99 h999 < <(oha_summary -z "${secs}s" -c 32 -q "$rate" --latency-correction "$health")
  printf '%-8s at %6s req/s: p50 %s  p99 %s  p99.9 %s ms   | /health: p50 %s  p99 %s  p99.9 %s ms   (p99 ratio %s)\n' \
    "$name" "$rate" "$p50" "$p99" "$p999" "$h50" "$h99" "$h999" "$(python3 -c "print(round($p99 / max($h99, 1e-9), 2))")"
done
done
