#!/usr/bin/env bash
# A/B of a change against an earlier commit, interleaved so that both sides see the same machine noise:
# bench/ingest.sh (SQLite), bench/serve.sh and bench/decide.sh, each run ROUNDS times alternately from a
# worktree of BASE (built there, with its own target/) and from this checkout.
# Usage: bench/ab.sh BASE [rounds, default 2] [seconds per wrk run, default 10] [decide rows, default 1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: bench/ab.sh BASE [rounds] [seconds] [decide rows]}
rounds=${2:-2}
secs=${3:-10}
rows=${4:-1000000}
# AB_BEFORE_DIR: an existing checkout of BASE to reuse with its build (release builds take minutes on 2 cores).
before=${AB_BEFORE_DIR:-}
if [ -z "$before" ]; then
  before=$(mktemp -d)/before
  git worktree add -q --detach "$before" "$base"
  trap 'git worktree remove --force "$before" 2>/dev/null || true' EXIT
fi
[ "$(git -C "$before" rev-parse HEAD)" = "$(git rev-parse "$base")" ] || { echo "$before is not at $base" >&2; exit 1; }
(cd "$before" && cargo build --release --quiet --locked)
cargo build --release --quiet --locked
echo "A = $(git -C "$before" log -1 --format='%h %s' | cut -c1-80)"
echo "B = $(git log -1 --format='%h %s' | cut -c1-80)"
for round in $(seq "$rounds"); do
  for side in A B; do
    dir=.; [ "$side" = A ] && dir=$before
    echo "== round $round, $side: ingest (SQLite)"
    (cd "$dir" && bench/ingest.sh "$secs" sqlite) | grep -E "RESULT" | sed "s/^/$side /"
    echo "== round $round, $side: serve"
    (cd "$dir" && bench/serve.sh "$secs") | grep -E "RESULT" | sed "s/^/$side /"
    echo "== round $round, $side: decide ($rows events)"
    (cd "$dir" && bench/decide.sh "$rows" "$secs") | grep -E "RESULT" | sed "s/^/$side /"
  done
done
