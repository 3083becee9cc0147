#!/usr/bin/env bash
# Instructions per POST …/experiences/decide, exactly (callgrind counts repeat whatever the machine does): for each
# given binary, a project with 2,000 views and 100 experiences (context and interaction rules, ten priorities) is
# made, then the server is restarted under valgrind --tool=callgrind with one request thread and answers N1, then
# N2 decide requests from one keep-alive client; (total(N2) - total(N1)) / (N2 - N1) is the cost of one request,
# HTTP included.
# Usage: bench/decide_instructions.sh BINARY...
set -euo pipefail
n1=${N1:-300}
n2=${N2:-1300}
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
command -v valgrind >/dev/null || $SUDO apt-get install -y -qq valgrind >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start() { # binary data-dir [wrapper…]: sets pid and url
  local bin=$1 data=$2; shift 2
  env AFFINITY_MASTER_KEY=m AFFINITY_WORKERS=1 RUST_LOG=warn "$@" "$bin" serve --addr 127.0.0.1:0 \
    --data-dir "$data" > "$data.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q "listening on" "$data.log" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/^affinity listening on //p' "$data.log")
}
total() { # binary requests -> instructions
  local bin=$1 n=$2 dir
  dir=$(mktemp -d "$work/run.XXXX")
  start "$bin" "$dir/data"
  python3 - "$url" "$dir" <<'PY'
import json, sys, urllib.request
url, d = sys.argv[1:3]
def call(path, body, key="m"):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"x-api-key": key, "content-type": "application/json"})
    return json.loads(urllib.request.urlopen(req).read() or b"null")
keys = call("/v1/projects", {"id": "bench"})["keys"]
open(d + "/key", "w").write(keys["ingest"])
views = [{"event": "view", "customer": f"c{i}", "item": f"i{i % 50}", "date": "2026-11-30"} for i in range(2000)]
call("/feedback", {"project": "bench", "data": views}, keys["ingest"])
for k in range(100):
    rule = {"all": [{"context": "page", "op": "eq", "value": "product"},
                    {"interaction": "view", "cmp": {"op": "gte", "value": 1}}]}
    call("/v1/projects/bench/experiences", {"id": f"e{k}", "name": "e", "priority": k % 10, "rule": rule,
         "variants": [{"id": "a", "weight": 1, "payload": {"banner": k}}]}, keys["admin"])
PY
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  start "$bin" "$dir/data" valgrind --tool=callgrind --callgrind-out-file="$dir/out"
  python3 - "$url" "$n" "$(cat "$dir/key")" <<'PY'
import http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); c = http.client.HTTPConnection(u.hostname, u.port)
body = json.dumps({"customer": "c7", "context": {"page": "product"}, "n": 3})
headers = {"x-api-key": sys.argv[3], "content-type": "application/json"}
for _ in range(int(sys.argv[2])):
    c.request("POST", "/v1/projects/bench/experiences/decide", body, headers); r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  sed -n 's/^summary: //p; s/^totals: //p' "$dir/out" | head -1
}
for bin in "$@"; do
  a=$(total "$bin" "$n1"); b=$(total "$bin" "$n2")
  echo "$bin: $(( (b - a) / (n2 - n1) )) instructions per decide (totals $a for $n1, $b for $n2 requests)"
done
