#!/usr/bin/env bash
# Import speed: a deterministic purchases CSV (default 10,000,000 rows) imported through `affinity import` into a
# fresh server, and the same file loaded by the sqlite3 shell (`.import --csv`) into a bare table, in the same run.
# Prints rows/s for both, the ratio, and the server's peak RSS (VmHWM). Then the same on PostgreSQL: a server on a
# throwaway cluster, against `psql \copy` of the same file into a bare table of the same cluster.
# Usage: bench/import.sh [rows] [stores, default "sqlite postgres"]; AFFINITY_BIN=path runs another build (an A/B).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-10000000}
stores=${2:-sqlite postgres}
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
command -v sqlite3 >/dev/null || $SUDO apt-get install -y -qq sqlite3 >/dev/null
cargo build --release --quiet
work=$(mktemp -d)
chmod 755 "$work"
pid=
. bench/pg.sh
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; stop_bench_postgres; rm -rf "$work"' EXIT
csv="$work/purchases.csv"
echo "generating $rows rows..."
python3 bench/gen_purchases.py "$rows" "$csv"
echo "file: $(du -h "$csv" | cut -f1)"

. bench/server.sh
if [[ " $stores " == *" sqlite "* ]]; then
start_bench_server "$work/data"

sync
t0=$(date +%s.%N)
"${AFFINITY_BIN:-target/release/affinity}" import --url "$url" --key "$admin" --project bench --interaction purchase "$csv" > "$work/report.json"
t1=$(date +%s.%N)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
stored=$(python3 -c "import json; r=json.load(open('$work/report.json')); print(r['succeeded'], r['skipped'], r['failed'])")

# The same file again, read row by row (force): every row is a duplicate, so the views do not grow and what the
# process gains is the import pipeline's own memory, whatever the file's size.
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
t4=$(date +%s.%N)
"${AFFINITY_BIN:-target/release/affinity}" import --url "$url" --key "$admin" --project bench --interaction purchase --force "$csv" > "$work/again.json"
t5=$(date +%s.%N)
rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
again=$(python3 -c "import json; r=json.load(open('$work/again.json')); print(r['succeeded'], r['skipped'], r['failed'])")

sync
t2=$(date +%s.%N)
sqlite3 "$work/bare.db" ".import --csv $csv purchases"
t3=$(date +%s.%N)

python3 - "$rows" "$t0" "$t1" "$t2" "$t3" "$hwm" "$stored" "$t4" "$t5" "$rss_before" "$rss_after" "$again" <<'PY'
import sys
rows, t0, t1, t2, t3, hwm = int(sys.argv[1]), *map(float, sys.argv[2:6]), int(sys.argv[6])
succeeded, skipped, failed = sys.argv[7].split()
t4, t5, rss_before, rss_after = float(sys.argv[8]), float(sys.argv[9]), int(sys.argv[10]), int(sys.argv[11])
again = sys.argv[12].split()
ours, bare = t1 - t0, t3 - t2
print(f"affinity import: {rows} rows in {ours:.2f} s = {rows / ours:,.0f} rows/s "
      f"(succeeded {succeeded}, skipped {skipped}, failed {failed})")
print(f"sqlite3 .import: {rows} rows in {bare:.2f} s = {rows / bare:,.0f} rows/s")
print(f"ratio affinity / sqlite3: {ours / bare:.2f}x")
print(f"server peak RSS (VmHWM) after the import: {hwm / 1024:.0f} MiB")
print(f"re-import of the same file (force, all rows duplicates: succeeded/skipped/failed {'/'.join(again)}): "
      f"{rows / (t5 - t4):,.0f} rows/s; RSS {rss_before / 1024:.0f} MiB before, {rss_after / 1024:.0f} MiB after")
PY
kill "$pid"; wait "$pid" 2>/dev/null || true
fi

if [[ " $stores " == *" postgres "* ]]; then
  start_bench_postgres "$work/pg"
  start_bench_server "$work/pgnode/data" "$pg_url"
  t0=$(date +%s.%N)
  "${AFFINITY_BIN:-target/release/affinity}" import --url "$url" --key "$admin" --project bench --interaction purchase "$csv" > "$work/report.json"
  t1=$(date +%s.%N)
  stored=$(python3 -c "import json; r=json.load(open('$work/report.json')); print(r['succeeded'], r['skipped'], r['failed'])")
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  psql -q -h 127.0.0.1 -p "$pg_port" -U affinity bench \
    -c "CREATE TABLE purchases (user_id text, item_id text, timestamp text, quantity text, price text)"
  t2=$(date +%s.%N)
  psql -q -h 127.0.0.1 -p "$pg_port" -U affinity bench -c "\\copy purchases FROM '$csv' CSV HEADER"
  t3=$(date +%s.%N)
  size=$(psql -tA -h 127.0.0.1 -p "$pg_port" -U affinity bench -c "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid")
  python3 - "$rows" "$t0" "$t1" "$t2" "$t3" "$hwm" "$stored" "$size" <<'PY'
import sys
rows, t0, t1, t2, t3, hwm = int(sys.argv[1]), *map(float, sys.argv[2:6]), int(sys.argv[6])
ours, bare = t1 - t0, t3 - t2
print(f"postgres: affinity import: {rows} rows in {ours:.2f} s = {rows / ours:,.0f} rows/s "
      f"(succeeded/skipped/failed {'/'.join(sys.argv[7].split())}); events table {sys.argv[8]}")
print(f"postgres: psql \\copy: {rows} rows in {bare:.2f} s = {rows / bare:,.0f} rows/s")
print(f"postgres: ratio affinity / psql \\copy: {ours / bare:.2f}x; server peak RSS {hwm / 1024:.0f} MiB")
PY
fi
