# Sourced by bench/http_instructions.sh and bench/decide_instructions.sh: exact instruction counts with
# valgrind --tool=callgrind (they repeat whatever the machine does). Sets up valgrind and a temporary $work.
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
command -v valgrind >/dev/null || $SUDO apt-get install -y -qq valgrind >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# start_server BINARY DATA-DIR [WRAPPER…]: starts `BINARY serve` with one request thread (under WRAPPER, e.g.
# valgrind) on a free port; sets pid and url.
start_server() {
  local bin=$1 data=$2; shift 2
  env AFFINITY_MASTER_KEY=m AFFINITY_WORKERS=1 RUST_LOG=warn "$@" "$bin" serve --addr 127.0.0.1:0 \
    --data-dir "$data" > "$data.log" 2>&1 &
  pid=$!
  for _ in $(seq 3000); do grep -q "listening on" "$data.log" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/^affinity listening on //p' "$data.log")
}

# per_request BINARY WHAT: for N1, then N2 requests made by the caller's `requests DIR N` (the server already up
# under callgrind), prints (total(N2) - total(N1)) / (N2 - N1): start-up and shutdown cancel out. The caller's
# optional `prepare DIR` runs first against a plain server on the same data directory.
per_request() {
  local bin=$1 what=$2 a b
  a=$(callgrind_total "$bin" "$n1"); b=$(callgrind_total "$bin" "$n2")
  echo "$bin: $(( (b - a) / (n2 - n1) )) instructions per $what (totals $a for $n1, $b for $n2 requests)"
}

callgrind_total() { # binary requests -> instructions
  local bin=$1 n=$2 dir
  dir=$(mktemp -d "$work/run.XXXX")
  if declare -F prepare >/dev/null; then
    start_server "$bin" "$dir/data"
    prepare "$dir"
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  fi
  start_server "$bin" "$dir/data" valgrind --tool=callgrind --callgrind-out-file="$dir/out"
  requests "$dir" "$n"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  sed -n 's/^summary: //p; s/^totals: //p' "$dir/out" | head -1
}
