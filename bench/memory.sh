#!/usr/bin/env bash
# Resident bytes per stored event (issue 16, §1): ROWS generated events of the audience benchmark's mix
# (bench/gen_events.py: views 60 %, carts 20 %, purchases 15 % with quantity and price, loan applications 5 % with
# two parameters; CUSTOMERS customers, ITEMS Zipf items) are imported into a fresh SQLite node with
# `affinity import`; the server's resident set (VmRSS of /proc/PID/status) is read before the import, after it,
# and again after a restart (the views rebuilt from the log), with the rebuild time. Bytes per event are
# (RSS − RSS of the empty server) / events stored. VmHWM is the peak.
# Usage: [EVENTS=FILE] bench/memory.sh ROWS [CUSTOMERS [ITEMS]]   (defaults: 10,000,000 events, 1,000,000 customers, 50,000 items)
# AFFINITY_BIN=path measures another build (an A/B); otherwise the release build of this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
customers=${2:-1000000}
items=${3:-50000}
work=$(mktemp -d "${TMPDIR:-/tmp}/affinity-memory.XXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
bin=${AFFINITY_BIN:-target/release/affinity}
[ -n "${AFFINITY_BIN:-}" ] || cargo build --release -q
# EVENTS=FILE reuses a file generated before (its rows, customers and items are then whatever it was made with).
events=${EVENTS:-$work/events.csv}
if [ ! -s "$events" ]; then
  echo "generating $rows events ($customers customers, $items items)..."
  python3 bench/gen_events.py "$rows" "$events" "$(date +%s)" "$customers" "$items"
fi

start() { # starts the release server on $work/data; sets pid, url and started_ms (the start-up time)
  local t0 t1
  t0=$(date +%s%N)
  AFFINITY_MASTER_KEY=bench-master RUST_LOG=warn "$bin" serve --addr 127.0.0.1:0 \
    --data-dir "$work/data" > "$work/server.log" 2>&1 &
  pid=$!
  until grep -q "listening on" "$work/server.log" 2>/dev/null; do sleep 0.05; done
  t1=$(date +%s%N)
  url=$(sed -n 's/^affinity listening on //p' "$work/server.log")
  started_ms=$(( (t1 - t0) / 1000000 ))
}
kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$pid/status"; }
stop() { kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

mkdir -p "$work/data"
start
empty=$(kib VmRSS)
created=$(curl -sf -X POST "$url/v1/projects" -H 'x-api-key: bench-master' -H 'content-type: application/json' \
  -d '{"id":"bench"}')
admin=$(echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"]["admin"])')
curl -sf -X POST "$url/v1/projects/bench/interactions" -H "x-api-key: $admin" -H 'content-type: application/json' \
  -d '{"id":"loan_application","name":"Loan application",
       "parameters":[{"id":"amount","type":"number"},{"id":"approved","type":"boolean"}]}' > /dev/null
# Training would add the model's memory: this measures the events' (and keeps the server's cores to the import).
curl -sf -X PUT "$url/v1/projects/bench/settings" -H "x-api-key: $admin" -H 'content-type: application/json' \
  -d '{"retrain":{"after_events":null,"every_minutes":null}}' > /dev/null
t0=$(date +%s%N)
"$bin" import --url "$url" --key "$admin" --project bench "$events" > "$work/report.json"
t1=$(date +%s%N)
stored=$(python3 -c "import json; print(json.load(open('$work/report.json'))['succeeded'])")
imported=$(kib VmRSS)
peak=$(kib VmHWM)
stop
start
rebuild_ms=$started_ms
restarted=$(kib VmRSS)
restarted_peak=$(kib VmHWM)
stop
db=$(du -sk "$work/data" | cut -f1)
python3 - "$rows" "$stored" "$empty" "$imported" "$peak" "$restarted" "$restarted_peak" "$rebuild_ms" "$db" \
  "$(( (t1 - t0) / 1000000 ))" <<'PY'
import sys
rows, stored, empty, imported, peak, restarted, restarted_peak, rebuild_ms, db, import_ms = map(int, sys.argv[1:])
per = lambda kib: (kib - empty) * 1024 / stored
print(f"{stored:,} events stored of {rows:,} ({import_ms / 1000:.1f} s import, {stored / import_ms * 1000:,.0f} rows/s)")
print(f"empty server: {empty / 1024:,.0f} MiB")
print(f"after the import: {imported / 1024:,.0f} MiB RSS ({per(imported):.1f} B/event), peak {peak / 1024:,.0f} MiB")
print(f"after a restart: {restarted / 1024:,.0f} MiB RSS ({per(restarted):.1f} B/event), peak "
      f"{restarted_peak / 1024:,.0f} MiB, views rebuilt in {rebuild_ms / 1000:.1f} s")
print(f"store on disk: {db / 1024:,.0f} MiB ({db * 1024 / stored:.0f} B/event)")
PY
