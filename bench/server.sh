# Sourced by the bench scripts: starts a fresh release server on a free port with its data in "$1" (and its store at
# the PostgreSQL URL "$2" when given), creates the project `bench`, and sets pid, url, key (its ingest key) and
# admin (its admin key). The caller's EXIT trap stops it.
start_bench_server() {
  local data=$1 db=()
  [ -n "${2:-}" ] && db=(--database-url "$2")
  mkdir -p "$data"
  AFFINITY_MASTER_KEY=bench-master RUST_LOG=warn "${AFFINITY_BIN:-target/release/affinity}" serve --addr 127.0.0.1:0 --data-dir "$data" \
    "${db[@]}" > "$data/../server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$data/../server.log" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/^affinity listening on //p' "$data/../server.log")
  local created
  created=$(curl -sf -X POST "$url/v1/projects" -H 'x-api-key: bench-master' -H 'content-type: application/json' \
    -d '{"id":"bench"}')
  key=$(echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"]["ingest"])')
  admin=$(echo "$created" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"]["admin"])')
}
