"""k-NN distances on the course's shape: the three paths against the bare GEMM and peers.

Groups (one per dtype and library) compare, in the same run:
``gemm`` (the ceiling ``X @ Y.T``), ``no_loops`` (trained index), ``pairwise_oneshot``
(centring the training set included), ``one_loop`` and ``two_loops`` (Numba / Numba-CUDA),
``python_two_loops`` (the course's pure-Python loop on 2 test rows, scaled to 500),
and scikit-learn's ``euclidean_distances``.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastvr
from fastvr.classifiers import KNearestNeighbor

from .conftest import COURSE, course_data, run_benchmark, synchronised

PYTHON_ROWS = 2  # the pure-Python loop is timed on this many test rows and scaled


def _inputs(xp, dtype):
    X_train, y_train, X_test = course_data(dtype)
    return xp.asarray(X_train), xp.asarray(y_train), xp.asarray(X_test)


def _group(benchmark, xp, dtype):
    benchmark.group = f"distances {dtype} {xp.__name__}"


def test_gemm(benchmark, device_lib, dtype):
    xp = device_lib
    X_train, _, X_test = _inputs(xp, dtype)
    _group(benchmark, xp, dtype)
    run_benchmark(benchmark, synchronised(xp, lambda: X_test @ X_train.T))


@pytest.mark.parametrize("num_loops", [0, 1, 2])
def test_knn_compute_distances(benchmark, device_lib, dtype, num_loops):
    xp = device_lib
    X_train, y_train, X_test = _inputs(xp, dtype)
    knn = KNearestNeighbor()
    knn.train(X_train, y_train)
    method = {
        0: knn.compute_distances_no_loops,
        1: knn.compute_distances_one_loop,
        2: knn.compute_distances_two_loops,
    }[num_loops]
    _group(benchmark, xp, dtype)
    run_benchmark(
        benchmark, synchronised(xp, lambda: method(X_test)), rounds=5 if num_loops == 0 else 2
    )


def test_pairwise_oneshot(benchmark, device_lib, dtype):
    xp = device_lib
    X_train, _, X_test = _inputs(xp, dtype)
    _group(benchmark, xp, dtype)
    run_benchmark(benchmark, synchronised(xp, lambda: fastvr.pairwise_distances(X_test, X_train)))


def test_python_two_loops(benchmark, dtype):
    """The course's two-loop body, verbatim, on PYTHON_ROWS test rows."""
    X_train, _, X_test = course_data(dtype)
    X = X_test[:PYTHON_ROWS]

    def course_loop():
        dists = np.zeros((X.shape[0], X_train.shape[0]))
        for i in range(X.shape[0]):
            for j in range(X_train.shape[0]):
                dists[i, j] = np.sqrt(np.sum(np.square(X_train[j, :] - X[i, :])))
        return dists

    benchmark.group = f"distances {dtype} numpy"
    run_benchmark(benchmark, course_loop, rounds=2, scale=COURSE["num_test"] / PYTHON_ROWS)


def test_sklearn_euclidean_distances(benchmark, dtype):
    from sklearn.metrics.pairwise import euclidean_distances

    X_train, _, X_test = course_data(dtype)
    benchmark.group = f"distances {dtype} numpy"
    run_benchmark(benchmark, lambda: euclidean_distances(X_test, X_train))
