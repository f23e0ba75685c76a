"""The baseline's clustering: scikit-learn k-means on the DuckDB features, chosen as personas does.

The same inputs and transforms as conf/personas.conf (log1p of counts and money, caps), standard
scaling, every k in 3..12 fitted on a sample of 20,000 users and scored by silhouette, then the
chosen k fitted on everyone. Usage: python3 kmeans.py FEATURES_CSV
"""
import csv
import math
import sys
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

t0 = time.time()
rows = []
with open(sys.argv[1], newline="") as f:
    for r in csv.DictReader(f):
        num = lambda k, d=0.0: float(r[k]) if r[k] not in ("", "NULL") else d
        rows.append([
            math.log1p(max(num("frequency"), 0)),
            math.log1p(max(num("monetary"), 0)),
            math.log1p(num("sessions_30d")),
            math.log1p(num("sessions_90d")),
            num("days_since_last_session", 90.0),
            num("night_purchase_share"),
            min(num("tenure_days"), 30.0),
            1.0 if r["uninstalled"] == "true" else 0.0,
        ])
x = StandardScaler().fit_transform(np.array(rows))
t_read = time.time()
rng = np.random.default_rng(42)
sample = x[rng.choice(len(x), size=min(20000, len(x)), replace=False)]
scores = {}
for k in range(3, 13):
    labels = KMeans(n_clusters=k, n_init=1, random_state=42).fit_predict(sample)
    scores[k] = silhouette_score(sample, labels)
best = max(scores, key=scores.get)
model = KMeans(n_clusters=best, n_init=1, random_state=42).fit(x)
t_end = time.time()
print(f"users={len(x)} k={best} silhouette={scores[best]:.3f}")
print(f"sklearn_read_seconds={t_read - t0:.1f} sklearn_kmeans_seconds={t_end - t_read:.1f}")
