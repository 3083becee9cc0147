# Sourced by the bench scripts: start_bench_postgres DIR starts a throwaway PostgreSQL cluster (initdb into DIR,
# a free port on 127.0.0.1, default durability settings: fsync on, synchronous_commit on) and sets pg_port and
# pg_url (a fresh database `bench`); stop_bench_postgres stops it. As root, the server runs as the postgres user.
pg_bin() {
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}
start_bench_postgres() {
  local dir=$1 bin as=()
  bin=$(pg_bin)
  [ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; return 1; }
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; as=(runuser -u postgres --); fi
  "${as[@]}" "$bin/initdb" -U affinity --auth=trust --no-locale -E UTF8 -D "$dir/data" >/dev/null
  pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-p $pg_port -k $dir -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB" start >/dev/null
  pg_stop=("${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop)
  "$bin/createdb" -h 127.0.0.1 -p "$pg_port" -U affinity bench
  pg_url="postgres://affinity@127.0.0.1:$pg_port/bench"
}
stop_bench_postgres() {
  [ -n "${pg_stop[*]:-}" ] && "${pg_stop[@]}" >/dev/null 2>&1 || true
}
