#!/usr/bin/env bash
# Ingest throughput of POST /feedback: acknowledged (durably stored) events per second.
#   1. single events, 64 concurrent connections;
#   2. batches of 1,000 events.
# Builds release, starts a fresh server on a temporary data directory, drives it with wrk (Debian package) and a
# Lua script that makes every event unique, then counts the stored events through the API to check the figures.
# Usage: bench/ingest.sh [seconds per run, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
command -v wrk >/dev/null || { sudo -n true 2>/dev/null && SUDO=sudo || SUDO=; $SUDO apt-get install -y wrk >/dev/null; }
cargo build --release --quiet
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
. bench/server.sh
start_bench_server "$dir/data"
echo "machine: $(nproc) cores; server and wrk share them"
echo "== single events, 64 connections, ${secs}s"
AFFINITY_KEY=$key RUN=single BATCH=0 wrk -t2 -c64 -d"${secs}s" -s bench/feedback.lua "$url" | grep -E "RESULT|Non-2xx|Socket"
echo "== batches of 1,000 events, 16 connections, ${secs}s"
AFFINITY_KEY=$key RUN=batch BATCH=1000 wrk -t2 -c16 -d"${secs}s" -s bench/feedback.lua "$url" | grep -E "RESULT|Non-2xx|Socket"
stored=$(curl -sf "$url/v1/projects/bench/stats" -H "x-api-key: $admin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"])')
echo "stored events (GET /stats): $stored"
echo "database size: $(du -sh "$dir" | cut -f1)"
echo "peer: Gorse publishes 1,000 events in 24 ms on ClickHouse (about 42,000 events/s); it is not run here."
