#!/usr/bin/env bash
# Serving latency of personalized recommendations: top-10 for MovieLens-1M customers (EASE over 3,700 items, each
# history read live from the views), 32 concurrent connections, wrk on the same 2 cores as the server.
# Usage: bench/serve.sh [seconds, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
command -v wrk >/dev/null || { sudo -n true 2>/dev/null && SUDO=sudo || SUDO=; $SUDO apt-get install -y wrk >/dev/null; }
cargo build --release --quiet
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
. bench/ml1m.sh
fetch_ml1m "$work"
. bench/server.sh
start_bench_server "$work/data"
target/release/affinity import --url "$url" --key "$admin" --project bench --interaction purchase "$work/train.csv" >/dev/null
curl -sf -X POST "$url/v1/projects/bench/models/train?wait=true" -H "x-api-key: $admin" >/dev/null
echo "== personalized top-10, 32 connections, ${secs}s"
AFFINITY_KEY=$key wrk -t2 -c32 -d"${secs}s" --latency -s bench/recommend.lua "$url" | grep -E "RESULT|Non-2xx|Socket"
