#!/usr/bin/env bash
# Ingest throughput of POST /feedback: acknowledged (durably stored) events per second, on each store:
#   1. single events, 64 concurrent connections;
#   2. batches of 1,000 events.
# Builds release; for each store (embedded SQLite, then a throwaway PostgreSQL cluster on the same machine) starts
# a fresh server, drives it with wrk (Debian package) and a Lua script that makes every event unique, then counts
# the stored events through the API to check the figures.
# Usage: bench/ingest.sh [seconds per run, default 20] [stores, default "sqlite postgres"]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
stores=${2:-sqlite postgres}
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
command -v wrk >/dev/null || $SUDO apt-get install -y -qq wrk >/dev/null
cargo build --release --quiet
dir=$(mktemp -d)
chmod 755 "$dir"
pid=
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; stop_bench_postgres; rm -rf "$dir"' EXIT
. bench/server.sh
. bench/pg.sh
echo "machine: $(nproc) cores; server, wrk (and PostgreSQL) share them"
for store in $stores; do
  db=
  if [ "$store" = postgres ]; then start_bench_postgres "$dir/pg"; db=$pg_url; fi
  start_bench_server "$dir/$store/data" "$db"
  echo "== $store: single events, 64 connections, ${secs}s"
  AFFINITY_KEY=$key RUN=single BATCH=0 wrk -t2 -c64 -d"${secs}s" -s bench/feedback.lua "$url" | grep -E "RESULT|Non-2xx|Socket"
  echo "== $store: batches of 1,000 events, 16 connections, ${secs}s"
  AFFINITY_KEY=$key RUN=batch BATCH=1000 wrk -t2 -c16 -d"${secs}s" -s bench/feedback.lua "$url" | grep -E "RESULT|Non-2xx|Socket"
  stored=$(curl -sf "$url/v1/projects/bench/stats" -H "x-api-key: $admin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
  echo "$store: stored events (GET /stats): $stored"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  stop_bench_postgres
done
echo "peer: Gorse publishes 1,000 events in 24 ms on ClickHouse (about 42,000 events/s); it is not run here."
