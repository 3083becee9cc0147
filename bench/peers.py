#!/usr/bin/env python3
"""The peers of bench/quality.sh on the same train/test files: numpy EASE (lambda 500), implicit ALS (64 factors,
15 iterations) and implicit BM25 item-kNN. Same protocol as `affinity evaluate`: full ranking with the customer's
training items excluded, Recall@20 normalised by min(20, |test items|), NDCG@20, customers with training history.
Usage: peers.py TRAIN.csv TEST.csv
"""
import csv
import sys
import time

import numpy as np
import scipy.sparse as sp
from implicit.als import AlternatingLeastSquares
from implicit.nearest_neighbours import BM25Recommender

K = 20
train_path, test_path = sys.argv[1:3]
users, items = {}, {}
def read(path, grow):
    pairs = []
    with open(path) as f:
        for row in csv.DictReader(f):
            u, i = row["user_id"], row["item_id"]
            if grow:
                users.setdefault(u, len(users)); items.setdefault(i, len(items))
            pairs.append((u, i))
    return pairs
train = read(train_path, True)
test = read(test_path, False)
X = sp.csr_matrix((np.ones(len(train), dtype=np.float32), ([users[u] for u, _ in train], [items[i] for _, i in train])),
                  shape=(len(users), len(items)))
X.data[:] = 1.0
held = {}
unknown = {}
for u, i in test:
    if u not in users:
        continue
    col = items.get(i)
    if col is None:
        col = unknown.setdefault(i, -1 - len(unknown))
    held.setdefault(users[u], set()).add(col)
test_users = sorted(held)

def metrics(scores_for):
    recall = ndcg = 0.0
    for start in range(0, len(test_users), 1024):
        batch = test_users[start:start + 1024]
        S = scores_for(batch)
        S[X[batch].nonzero()] = -np.inf
        top = np.argpartition(-S, K, axis=1)[:, :K]
        order = np.take_along_axis(S, top, 1).argsort(axis=1)[:, ::-1]
        top = np.take_along_axis(top, order, 1)
        for row, u in enumerate(batch):
            rel = held[u]
            hits = [1.0 if j in rel else 0.0 for j in top[row]]
            n = min(K, len(rel))
            recall += sum(hits) / n
            idcg = sum(1 / np.log2(r + 2) for r in range(n))
            ndcg += sum(h / np.log2(r + 2) for r, h in enumerate(hits)) / idcg
    return recall / len(test_users), ndcg / len(test_users)

def report(name, fit, scores_for):
    r, n = metrics(scores_for)
    print(f"{name:<24} Recall@20 {r:.4f}  NDCG@20 {n:.4f}  fit {fit:.2f} s")

t = time.perf_counter()
G = (X.T @ X).toarray().astype(np.float64)
G[np.diag_indices_from(G)] += 500.0
P = np.linalg.inv(G)
B = P / (-np.diag(P))
B[np.diag_indices_from(B)] = 0
fit = time.perf_counter() - t
report("numpy EASE (l=500)", fit, lambda b: np.asarray(X[b] @ B))

als = AlternatingLeastSquares(factors=64, iterations=15, random_state=0)
t = time.perf_counter(); als.fit(X, show_progress=False); fit = time.perf_counter() - t
uf, itf = (als.user_factors, als.item_factors)
uf = uf.to_numpy() if hasattr(uf, "to_numpy") else uf
itf = itf.to_numpy() if hasattr(itf, "to_numpy") else itf
report("implicit ALS (64, 15)", fit, lambda b: uf[b] @ itf.T)

bm25 = BM25Recommender(K=100)
t = time.perf_counter(); bm25.fit(X, show_progress=False); fit = time.perf_counter() - t
W = bm25.similarity.tocsr()
report("implicit BM25 item-kNN", fit, lambda b: np.asarray((X[b] @ W).todense()))
print(f"{len(test_users)} test customers, {len(items)} items", file=sys.stderr)
