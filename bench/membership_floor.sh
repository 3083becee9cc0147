#!/usr/bin/env bash
# The latency floor under the membership benchmark: a release server pinned to core 0 with one request thread
# (AFFINITY_WORKERS=1), wrk pinned to core 1 at 32 connections. Measures GET /health on the fresh server, then
# imports ROWS generated events (bench/gen_events.py), trains, saves the loan rule of bench/audiences.sh and
# measures GET …/members/{customer} and GET /health again, with the server's page faults and per-thread CPU.
# Usage: bench/membership_floor.sh [rows, default 1000000] [seconds per wrk run, default 8]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
secs=${2:-8}
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
command -v wrk >/dev/null || $SUDO apt-get install -y -qq wrk >/dev/null
cargo build --release --quiet
work=$(mktemp -d)
pid=
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/health.lua" <<'LUA'
function done(summary, latency, requests)
  io.write(string.format("RESULT requests/s %.0f p50 %.3f ms p99 %.3f ms\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
python3 bench/gen_events.py "$rows" "$work/events.csv" "$(date +%s)"
mkdir -p "$work/data"
AFFINITY_MASTER_KEY=bench-master AFFINITY_WORKERS=1 RUST_LOG=warn taskset -c 0 target/release/affinity serve \
  --addr 127.0.0.1:0 --data-dir "$work/data" > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/server.log" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^affinity listening on //p' "$work/server.log")
echo "fresh server, GET /health: $(taskset -c 1 wrk -t1 -c32 -d"${secs}s" -s "$work/health.lua" "$url/health" | grep RESULT)"
created=$(curl -sf -X POST "$url/v1/projects" -H 'x-api-key: bench-master' -H 'content-type: application/json' -d '{"id":"bench"}')
key=$(echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"]["ingest"])')
admin=$(echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"]["admin"])')
H=(-H "x-api-key: $admin" -H 'content-type: application/json')
curl -sf -X POST "$url/v1/projects/bench/interactions" "${H[@]}" -d '{"id":"loan_application","name":"Loan application",
  "parameters":[{"id":"amount","type":"number"},{"id":"approved","type":"boolean"}]}' >/dev/null
target/release/affinity import --url "$url" --key "$admin" --project bench "$work/events.csv" > /dev/null
curl -sf -X POST "$url/v1/projects/bench/models/train?wait=true" "${H[@]}" >/dev/null
curl -sf -X POST "$url/v1/projects/bench/audiences" "${H[@]}" -d '{"id":"loan_2m","name":"Loan, 2 months","rule":
  {"interaction":"loan_application","window":{"last":{"n":2,"unit":"month"}},
   "where":[{"param":"amount","op":"gte","value":5000},{"param":"approved","op":"is_true"}]}}' >/dev/null
threads() { for t in /proc/$pid/task/*; do echo "$(cat "$t/comm")/$(basename "$t") $(awk '{print $14 + $15}' "$t/stat")"; done; }
threads > "$work/t0"
f0=$(awk '{print $10}' "/proc/$pid/stat")
echo "$rows events, GET …/members/{customer}: $(AFFINITY_KEY=$key AUDIENCE=loan_2m taskset -c 1 wrk -t1 -c32 -d"${secs}s" -s bench/membership.lua "$url" | grep RESULT)"
f1=$(awk '{print $10}' "/proc/$pid/stat")
threads > "$work/t1"
echo "$rows events, GET /health: $(taskset -c 1 wrk -t1 -c32 -d"${secs}s" -s "$work/health.lua" "$url/health" | grep RESULT)"
echo "server page faults during the membership run: $((f1 - f0)); server threads busy in it (CPU ticks):"
paste "$work/t0" "$work/t1" | awk '$4 - $2 > 0 {print "  " $1, $4 - $2}'
echo "server RSS: $(awk '/VmRSS/ {print $2 / 1024}' "/proc/$pid/status") MiB"
