"""Certified float32 screening of float64 k-NN against the bare float64 GEMM (issue 12).

One process, side by side, on CIFAR-like pixel data (integers 0..255 with the correlated,
low-rank structure of natural images; synthetic, so the script runs offline):

    python benchmarks/screen_vs_gemm.py            # course shape and 10000 x 50000
    python benchmarks/screen_vs_gemm.py --quick    # course shape only

Reports the median of interleaved repeats for the bare DGEMM ``X @ Y.T``, the bare SGEMM,
``KNearestNeighbor.predict(k=10)`` with the screen on and off (training excluded: it
prepares the index once), ``cross_validate_k`` on and off, and the candidates per row.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import fastvr
from fastvr.classifiers import KNearestNeighbor
from fastvr.neighbors import last_screen_stats
from fastvr.tuning import cross_validate_k


def cifar_like(n: int, d: int, rng: np.random.Generator, basis: np.ndarray) -> np.ndarray:
    codes = rng.normal(size=(n, basis.shape[0]))
    return np.clip(128 + codes @ basis * 8 + rng.normal(size=(n, d)) * 10, 0, 255).round()


def interleaved(calls: dict, repeat: int) -> dict:
    """Median seconds of each call, the calls taking turns in every repeat (this machine is
    shared: turns spread its noise over all of them alike)."""
    times: dict = {name: [] for name in calls}
    for _ in range(repeat):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def _predict(knn: KNearestNeighbor, X: np.ndarray, setting: bool):
    def call():
        with fastvr.screening(setting):
            knn.predict(X, k=10)

    return call


def _cross_validate(X: np.ndarray, y: np.ndarray, setting: bool):
    def call():
        with fastvr.screening(setting):
            cross_validate_k(X, y, [1, 3, 5, 8, 10, 12, 15, 20], 5)

    return call


def run(n_test: int, n_train: int, d: int, repeat: int, cv: bool) -> None:
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(32, d))
    X, Xte = cifar_like(n_train, d, rng, basis), cifar_like(n_test, d, rng, basis)
    y = rng.integers(0, 10, n_train)
    X32, Xte32 = X.astype(np.float32), Xte.astype(np.float32)
    knn = KNearestNeighbor()
    knn.train(X, y)  # prepares the index (and its screen copy) once, as train does
    knn.predict(Xte[:8], k=10)  # compiled kernels warm
    calls = {
        "bare float64 GEMM": lambda: Xte @ X.T,
        "bare float32 GEMM": lambda: Xte32 @ X32.T,
        "predict, screened": _predict(knn, Xte, True),
        "predict, float64 GEMM": _predict(knn, Xte, False),
    }
    if cv:
        calls["cross_validate_k, screened"] = _cross_validate(X, y, True)
        calls["cross_validate_k, float64 GEMM"] = _cross_validate(X, y, False)
    times = interleaved(calls, repeat)
    with fastvr.screening(True):
        knn.predict(Xte, k=10)
        stats = last_screen_stats()
    dgemm = times["bare float64 GEMM"]
    print(f"\n{n_test} x {n_train} x {d} float64, k = 10, median of {repeat} interleaved runs")
    for name, seconds in times.items():
        print(f"  {name:32s} {seconds * 1e3:10.1f} ms   {seconds / dgemm:5.2f}")
    print(
        f"  candidates per row: mean {stats.mean_candidates:.2f}, max {stats.max_candidates}; "
        f"fallback rows {stats.fallback_rows}; exact-arithmetic rows {stats.exact_rows}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the course shape only")
    args = parser.parse_args()
    run(500, 5000, 3072, repeat=9, cv=True)
    if not args.quick:
        run(10000, 50000, 3072, repeat=2, cv=False)


if __name__ == "__main__":
    main()
