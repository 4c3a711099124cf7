"""Independent references written plainly in float64 (no fastvr code)."""

from __future__ import annotations

import numpy as np


def distances_loop(X, Y, metric="l2"):
    """Pairwise distances by a double loop over rows, every sum in float64 (math.fsum-exact
    enough: numpy's pairwise summation on float64 differences)."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    out = np.empty((X.shape[0], Y.shape[0]))
    for i in range(X.shape[0]):
        for j in range(Y.shape[0]):
            diff = X[i] - Y[j]
            out[i, j] = np.sum(np.abs(diff)) if metric == "l1" else np.sqrt(np.sum(diff * diff))
    return out


def knn_predict_loop(dists, y_train, k):
    """The course's predict_labels: stable order by distance, bincount vote, smallest label."""
    y_train = np.asarray(y_train)
    out = np.empty(dists.shape[0], dtype=y_train.dtype)
    for i, row in enumerate(np.asarray(dists)):
        closest_y = y_train[np.argsort(row, kind="stable")[:k]]
        out[i] = np.argmax(np.bincount(closest_y))
    return out
