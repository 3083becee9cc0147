#!/usr/bin/env python3
"""MovieLens .inter (tab-separated: user_id, item_id, rating, timestamp) -> train/test purchase CSVs.

Every rating becomes a purchase at its timestamp; interactions are split 80/20 at random with seed 0.
Usage: ml_split.py DATA.inter TRAIN.csv TEST.csv
"""
import csv
import random
import sys

src, train, test = sys.argv[1:4]
rows = []
with open(src, encoding="utf-8") as f:
    header = f.readline().rstrip("\r\n").split("\t")
    u, i, t = (next(k for k, h in enumerate(header) if h.startswith(name)) for name in ("user_id", "item_id", "timestamp"))
    for line in f:
        parts = line.rstrip("\r\n").split("\t")
        if len(parts) > t:
            rows.append((parts[u], parts[i], int(float(parts[t]))))
rng = random.Random(0)
rng.shuffle(rows)
cut = int(len(rows) * 0.8)
for path, part in ((train, rows[:cut]), (test, rows[cut:])):
    with open(path, "w", newline="") as f:
        out = csv.writer(f)  # MovieLens-1M's item ids are titles, some with commas: quote as needed
        out.writerow(["user_id", "item_id", "timestamp"])
        out.writerows((f"u{a}", f"m{b}", c) for a, b, c in part)
print(f"{len(rows)} interactions: {cut} train, {len(rows) - cut} test", file=sys.stderr)
