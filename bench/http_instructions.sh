#!/usr/bin/env bash
# Instructions per request of the HTTP layer alone, exactly: each given binary serves GET /health under
# valgrind --tool=callgrind with one request thread, for N1 then N2 keep-alive requests from one client
# (see bench/callgrind.sh).
# Usage: bench/http_instructions.sh BINARY... (e.g. target/release/affinity /path/to/old/target/release/affinity)
set -euo pipefail
cd "$(dirname "$0")/.."
n1=${N1:-500}
n2=${N2:-2500}
. bench/callgrind.sh
requests() { # dir n
  python3 - "$url" "$2" <<'PY'
import http.client, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); c = http.client.HTTPConnection(u.hostname, u.port)
for _ in range(int(sys.argv[2])):
    c.request("GET", "/health"); r = c.getresponse(); r.read(); assert r.status == 200
PY
}
for bin in "$@"; do per_request "$(realpath "$bin")" "GET /health"; done
