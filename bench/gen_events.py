#!/usr/bin/env python3
"""Writes a deterministic mixed-interaction CSV for the audiences benchmark:
event,user_id,item_id,timestamp,quantity,price,amount,approved

ROWS events over CUSTOMERS customers and ITEMS items (Zipf s = 1.1), dated over the last 120 days before NOW
(epoch seconds): views 60 %, carts 20 %, purchases 15 % (quantity, price), loan applications 5 % (amount,
approved). Usage: gen_events.py ROWS OUT.csv NOW [CUSTOMERS [ITEMS]]
"""
import itertools
import random
import sys

rows, out, now = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
CUSTOMERS = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000
ITEMS = int(sys.argv[5]) if len(sys.argv) > 5 else 50_000
rng = random.Random(0)
cum = list(itertools.accumulate(1.0 / (k ** 1.1) for k in range(1, ITEMS + 1)))
items = [f"sku-{k}" for k in range(ITEMS)]
span = 120 * 86_400
with open(out, "w", buffering=1 << 22) as f:
    f.write("event,user_id,item_id,timestamp,quantity,price,amount,approved\n")
    done = 0
    while done < rows:
        n = min(200_000, rows - done)
        picked = rng.choices(items, cum_weights=cum, k=n)
        lines = []
        for item in picked:
            u = f"u-{rng.randrange(CUSTOMERS)}"
            ts = now - rng.randrange(span)
            r = rng.random()
            if r < 0.60:
                lines.append(f"view,{u},{item},{ts},,,,\n")
            elif r < 0.80:
                lines.append(f"cart,{u},{item},{ts},,,,\n")
            elif r < 0.95:
                lines.append(f"purchase,{u},{item},{ts},{1 + rng.randrange(3)},{rng.randrange(1, 300)}.99,,\n")
            else:
                approved = "true" if rng.random() < 0.6 else "false"
                lines.append(f"loan_application,{u},,{ts},,,{rng.randrange(500, 20000)},{approved}\n")
        f.write("".join(lines))
        done += n
