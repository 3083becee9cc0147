#!/usr/bin/env python3
"""Generates grocery-like orders with known repurchase cycles and basket structure, for bench/next_basket.sh.

Items fall in taste groups and are staples (bought again every 5-10 days), periodic (every 14-45 days) or
one-offs (never bought twice, e.g. a television). Each customer shops every few days over 180 days ending an hour
ago; at each trip every item of their repertoire comes back with a probability that grows with the time since they
last bought it over its cycle, and they discover new items of their taste groups (popular ones more often), some
of which join the repertoire. Every line has an order id: the lines of one trip are one basket.

Writes three CSV files: all orders, every order but each customer's last (`train`), and the last orders (`test`),
with the columns user_id,item_id,timestamp,order_id (timestamps RFC 3339 UTC).

Usage: gen_baskets.py OUT_DIR [--customers N] [--items N] [--seed N]
"""
import argparse
import datetime as dt
import math
import os
import random

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--customers", type=int, default=5000)
p.add_argument("--items", type=int, default=3000)
p.add_argument("--groups", type=int, default=30)
p.add_argument("--days", type=int, default=180)
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()
rng = random.Random(a.seed)
DAY = 86400.0
end = dt.datetime.now(dt.timezone.utc).timestamp() - 3600
start = end - a.days * DAY

kinds, cycles, group_of = [], [], []
for i in range(a.items):
    r = rng.random()
    if r < 0.25:
        kinds.append("staple"); cycles.append(rng.uniform(5, 10))
    elif r < 0.55:
        kinds.append("periodic"); cycles.append(rng.uniform(14, 45))
    else:
        kinds.append("once"); cycles.append(math.inf)
    group_of.append(rng.randrange(a.groups))
# Popularity: Zipf within each group.
by_group = [[] for _ in range(a.groups)]
for i in range(a.items):
    by_group[group_of[i]].append(i)
weights = {}
for g in by_group:
    rng.shuffle(g)
    for rank, i in enumerate(g):
        weights[i] = 1.0 / (rank + 1) ** 0.9

def pick(groups, want=None):
    pool = [i for g in groups for i in by_group[g] if want is None or kinds[i] in want]
    return rng.choices(pool, weights=[weights[i] for i in pool])[0]

rows = []
for c in range(a.customers):
    groups = rng.sample(range(a.groups), rng.choice([1, 2, 2, 3]))
    repertoire = {}
    for _ in range(rng.randint(4, 14)):
        i = pick(groups, {"staple"})
        repertoire[i] = cycles[i] * rng.uniform(0.8, 1.25)
    for _ in range(rng.randint(4, 14)):
        i = pick(groups, {"periodic"})
        repertoire[i] = cycles[i] * rng.uniform(0.8, 1.25)
    last = {i: start - rng.uniform(0, repertoire[i]) * DAY for i in repertoire}
    gap = rng.uniform(3, 8)
    t = start + rng.uniform(0, gap) * DAY
    trips = []
    while t < end:
        trips.append(t)
        t += max(0.5, rng.gauss(gap, gap / 3)) * DAY
    if len(trips) < 3:
        continue
    # The last trip happens just before "now", so recommendations are asked at the time of the next order.
    trips[-1] = end - rng.uniform(0, 0.5) * DAY
    for n, t in enumerate(trips):
        basket = set()
        for i, cycle in repertoire.items():
            x = (t - last[i]) / DAY / cycle
            if rng.random() < min(0.6, 0.5 * x ** 3):
                basket.add(i)
        for _ in range(rng.choice([0, 1, 2, 3, 4, 6])):
            i = pick(groups)
            basket.add(i)
            if kinds[i] != "once" and i not in repertoire and rng.random() < 0.3:
                repertoire[i] = cycles[i] * rng.uniform(0.8, 1.25)
        if not basket:
            basket.add(pick(groups))
        for i in basket:
            last[i] = t
        stamp = dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        for i in sorted(basket):
            rows.append((f"c{c}", f"i{i}", stamp, f"o{c}-{n}", n == len(trips) - 1))

os.makedirs(a.out, exist_ok=True)
header = "user_id,item_id,timestamp,order_id\n"
with open(f"{a.out}/all.csv", "w") as f_all, open(f"{a.out}/train.csv", "w") as f_train, open(f"{a.out}/test.csv", "w") as f_test:
    for f in (f_all, f_train, f_test):
        f.write(header)
    for user, item, stamp, order, is_last in rows:
        line = f"{user},{item},{stamp},{order}\n"
        f_all.write(line)
        (f_test if is_last else f_train).write(line)
print(f"{len(rows)} lines, {a.customers} customers, {a.items} items")
