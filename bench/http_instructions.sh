#!/usr/bin/env bash
# Instructions per request of the HTTP layer alone, exactly (callgrind counts repeat whatever the machine does):
# each given binary serves GET /health under valgrind --tool=callgrind with one request thread, first for N1 then
# for N2 keep-alive requests from one client; (total(N2) - total(N1)) / (N2 - N1) is the cost of one request
# (start-up and shutdown cancel out).
# Usage: bench/http_instructions.sh BINARY... (e.g. target/release/affinity /path/to/old/target/release/affinity)
set -euo pipefail
n1=${N1:-500}
n2=${N2:-2500}
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
command -v valgrind >/dev/null || $SUDO apt-get install -y -qq valgrind >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
total() { # binary requests -> instructions
  local bin=$1 n=$2 dir pid url
  dir=$(mktemp -d "$work/run.XXXX")
  AFFINITY_MASTER_KEY=bench-master AFFINITY_WORKERS=1 RUST_LOG=warn valgrind --tool=callgrind \
    --callgrind-out-file="$dir/out" "$bin" serve --addr 127.0.0.1:0 --data-dir "$dir/data" > "$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q "listening on" "$dir/log" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/^affinity listening on //p' "$dir/log")
  python3 - "$url" "$n" <<'PY'
import http.client, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); c = http.client.HTTPConnection(u.hostname, u.port)
for _ in range(int(sys.argv[2])):
    c.request("GET", "/health"); r = c.getresponse(); r.read(); assert r.status == 200
PY
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  sed -n 's/^summary: //p; s/^totals: //p' "$dir/out" | head -1
}
for bin in "$@"; do
  a=$(total "$bin" "$n1"); b=$(total "$bin" "$n2")
  echo "$bin: $(( (b - a) / (n2 - n1) )) instructions per GET /health (totals $a for $n1, $b for $n2 requests)"
done
