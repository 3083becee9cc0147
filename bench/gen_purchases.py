#!/usr/bin/env python3
"""Writes a deterministic purchases CSV: user_id,item_id,timestamp,quantity,price.

Items follow a Zipf law (s = 1.1) over ITEMS items (default 100,000); CUSTOMERS customers (default 1,000,000);
timestamps spread over 2025 in ascending order (epoch seconds). Usage: gen_purchases.py ROWS OUT.csv [ITEMS [CUSTOMERS]]
"""
import itertools
import random
import sys

rows, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(0)
ITEMS = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
CUSTOMERS = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000
cum = list(itertools.accumulate(1.0 / (k ** 1.1) for k in range(1, ITEMS + 1)))
items = [f"sku-{k}" for k in range(ITEMS)]
start, span = 1_735_689_600, 365 * 86_400
chunk = 200_000
with open(out, "w", buffering=1 << 22) as f:
    f.write("user_id,item_id,timestamp,quantity,price\n")
    done = 0
    while done < rows:
        n = min(chunk, rows - done)
        picked = rng.choices(items, cum_weights=cum, k=n)
        lines = []
        for i, item in enumerate(picked):
            r = done + i
            lines.append(f"u-{rng.randrange(CUSTOMERS)},{item},{start + r * span // rows},{1 + (r % 3)},{(r % 500) / 10 + 0.99:.2f}\n")
        f.write("".join(lines))
        done += n
