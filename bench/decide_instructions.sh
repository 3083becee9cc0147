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
cd "$(dirname "$0")/.."
. bench/callgrind.sh
prepare() { # dir: a project with 2,000 views and 100 experiences; its ingest key in dir/key
  python3 - "$url" "$1" <<'PY'
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
}
requests() { # dir n
  python3 - "$url" "$2" "$(cat "$1/key")" <<'PY'
import http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); c = http.client.HTTPConnection(u.hostname, u.port)
body = json.dumps({"customer": "c7", "context": {"page": "product"}, "n": 3})
headers = {"x-api-key": sys.argv[3], "content-type": "application/json"}
for _ in range(int(sys.argv[2])):
    c.request("POST", "/v1/projects/bench/experiences/decide", body, headers); r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
}
for bin in "$@"; do per_request "$(realpath "$bin")" decide; done
