"""Shared data and timing helpers for the speed reports (pytest-benchmark).

Run: ``python -m pytest benchmarks --benchmark-json=benchmarks/results/cpu.json`` and turn the
JSON into the table of docs/performance.md with
``python benchmarks/report.py benchmarks/results/cpu.json``.
Ratios only mean something between entries of one run (this is a shared, noisy machine).
"""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest

from fastvr._backend import cuda_device_count


def pytest_collection_modifyitems(items):
    """Run the faiss entries last. Once faiss (with its own OpenBLAS and OpenMP) is loaded,
    scikit-learn's brute k-NN, if it has not run yet, runs 1.9x slower (measured: 143 ms ->
    272 ms at the course's float64 shape), which would flatter fastvr's ratio."""
    items.sort(key=lambda item: "faiss" in item.name)


# The course's k-NN shape: 500 test rows, 5000 training rows, 32 x 32 x 3 pixels.
COURSE = {"num_test": 500, "num_train": 5000, "dim": 3072}


@functools.cache
def course_data(dtype: str):
    """CIFAR-shaped data: integer pixel values 0..255 stored as floats, and 10 labels."""
    rng = np.random.default_rng(2310)
    X_train = rng.integers(0, 256, (COURSE["num_train"], COURSE["dim"])).astype(dtype)
    X_test = rng.integers(0, 256, (COURSE["num_test"], COURSE["dim"])).astype(dtype)
    y_train = rng.integers(0, 10, COURSE["num_train"])
    return X_train, y_train, X_test


@pytest.fixture(params=["float64", "float32"])
def dtype(request):
    return request.param


@pytest.fixture(params=["numpy", "cupy"])
def device_lib(request):
    """The array library the inputs live in: numpy (CPU) or CuPy (GPU, skipped without one)."""
    if request.param == "cupy":
        if cuda_device_count() == 0:
            pytest.skip("no CUDA device")
        import cupy

        return cupy
    return np


def synchronised(xp, fn):
    """Wrap ``fn`` so GPU work is finished inside the timed call."""
    if xp is np:
        return fn

    def run():
        out = fn()
        xp.cuda.Device().synchronize()
        return out

    return run


def run_benchmark(benchmark, fn, *, rounds=5, **extra):
    """Time ``fn`` with one warm-up (JIT, caches) and ``rounds`` single-call rounds.

    A short pause first lets the previous entry's thread pools (OpenMP, OpenBLAS, Numba)
    go idle, so one entry's spinning threads do not slow the next.
    """
    time.sleep(0.2)
    benchmark.extra_info.update(extra)
    return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)
