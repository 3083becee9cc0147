#!/usr/bin/env bash
# Instructions per personalized recommendation on MovieLens-1M, exactly (callgrind counts repeat whatever the
# machine does): for each given binary, a project holding ML-1M's 80 % training split (bench/ml1m.sh) is imported
# and trained, then the server is restarted under valgrind --tool=callgrind with one request thread and answers N1,
# then N2 requests `GET …/recommendations/users/{customer}?n=10` for customers taken in turn from one keep-alive
# client; (total(N2) - total(N1)) / (N2 - N1) is the cost of one request, HTTP included. With ANNOTATE=1 the
# functions taking most instructions per request (the two runs' profiles subtracted) are printed too.
# INCLUSIVE=1 counts what each function calls too.
# Usage: bench/reco_instructions.sh BINARY...
set -euo pipefail
n1=${N1:-200}
n2=${N2:-1000}
cd "$(dirname "$0")/.."
. bench/callgrind.sh
. bench/ml1m.sh
fetch_ml1m "$work"
prepare() { # dir: the project `ml`, trained; its ingest key in dir/key
  local created admin
  created=$(curl -sf -X POST "$url/v1/projects" -H 'x-api-key: m' -H 'content-type: application/json' -d '{"id":"ml"}')
  admin=$(echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"]["admin"])')
  echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"]["ingest"])' > "$1/key"
  "$bin" import --url "$url" --key "$admin" --project ml --interaction purchase "$work/train.csv" >/dev/null
  curl -sf -X POST "$url/v1/projects/ml/models/train?wait=true" -H "x-api-key: $admin" >/dev/null
}
requests() { # dir n
  python3 - "$url" "$2" "$(cat "$1/key")" <<'PY'
import http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); c = http.client.HTTPConnection(u.hostname, u.port)
headers = {"x-api-key": sys.argv[3]}
for k in range(int(sys.argv[2])):
    c.request("GET", f"/v1/projects/ml/recommendations/users/u1m_{1 + k * 7 % 6040}?n=10", headers=headers)
    r = c.getresponse(); a = json.loads(r.read())
    assert r.status == 200 and len(a["items"]) == 10, a
PY
}
for bin in "$@"; do
  bin=$(realpath "$bin")
  per_request "$bin" "personalized recommendation"
  if [ "${ANNOTATE:-}" = 1 ]; then # the functions' own instructions per request: the two runs' profiles subtracted
    outs=$(ls -tr "$work"/run.*/out | tail -2)
    python3 - $(( n2 - n1 )) $outs ${INCLUSIVE:+inclusive} <<'PY'
import collections, re, subprocess, sys
def own(path):
    text = subprocess.run(["callgrind_annotate", "--inclusive=" + ("yes" if len(sys.argv) > 4 else "no"), "--auto=no", "--tree=none", "--threshold=100", path],
                          capture_output=True, text=True).stdout
    costs = collections.Counter()
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(.*)", line)
        if m and "PROGRAM TOTALS" not in m.group(2) and "=>" not in line:
            costs[re.sub(r" \[.*\]$", "", m.group(2))] += int(m.group(1).replace(",", ""))
    return costs
n, a, b = int(sys.argv[1]), own(sys.argv[2]), own(sys.argv[3])
diff = sorted(((b[f] - a[f]) / n, f) for f in b)
for per, f in reversed(diff[-int(__import__("os").environ.get("TOP", "40")):]):
    print(f"{per:12,.0f}  {f[-150:]}")
PY
  fi
done
