"""Linear classifiers: naive vs vectorized loss+gradient, and LinearSVM.train.

Groups compare, in one run:
- ``loss N=...``: the vectorized SVM and softmax losses against their own two matrix products
  (``X @ W`` and ``X.T @ G``, the ceiling), the Numba naive loops, and (at N=500) the same
  loops interpreted by Python (``.py_func``, timed on a slice and scaled) and the course's
  naive loop with numpy inside.
- ``train``: ``LinearSVM.train`` (1500 iterations, batch 200, 49000 x 3073) against the
  course's loop written in plain numpy, both from the same seed.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from fastvr.classifiers import LinearSVM
from fastvr.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from fastvr.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
from fastvr.kernels import cpu

from .conftest import run_benchmark, synchronised

DIM, CLASSES = 3073, 10  # CIFAR-10 pixels plus the bias column
SLICE = 10  # rows the interpreted loops are timed on


@functools.cache
def linear_data(n: int, dtype: str):
    rng = np.random.default_rng(3073)
    X = rng.standard_normal((n, DIM), dtype=np.float64).astype(dtype, copy=False)
    X[:, -1] = 1.0
    W = (rng.standard_normal((DIM, CLASSES)) * 1e-3).astype(dtype)
    y = rng.integers(0, CLASSES, n)
    return W, X, y


@pytest.fixture(params=[500, 49000])
def n(request):
    return request.param


def _group(benchmark, n, dtype, xp):
    benchmark.group = f"loss N={n} {dtype} {xp.__name__}"


def test_two_matmuls(benchmark, device_lib, dtype, n):
    xp = device_lib
    W, X, _ = (xp.asarray(a) for a in linear_data(n, dtype))
    G = xp.asarray(np.ones((n, CLASSES), dtype=dtype))
    _group(benchmark, n, dtype, xp)
    run_benchmark(benchmark, synchronised(xp, lambda: (X @ W, X.T @ G)))


@pytest.mark.parametrize("kind", ["svm", "softmax"])
@pytest.mark.parametrize("method", ["vectorized", "naive"])
def test_loss(benchmark, device_lib, dtype, n, kind, method):
    xp = device_lib
    fn = {
        ("svm", "vectorized"): svm_loss_vectorized,
        ("svm", "naive"): svm_loss_naive,
        ("softmax", "vectorized"): softmax_loss_vectorized,
        ("softmax", "naive"): softmax_loss_naive,
    }[kind, method]
    if method == "naive" and xp is not np and n > 500:
        pytest.skip("the CUDA naive kernel's atomics make N=49000 minutes long")
    W, X, y = (xp.asarray(a) for a in linear_data(n, dtype))
    _group(benchmark, n, dtype, xp)
    run_benchmark(
        benchmark,
        synchronised(xp, lambda: fn(W, X, y, 2.5e4)),
        rounds=5 if method == "vectorized" else 2,
    )


@pytest.mark.parametrize("kind", ["svm", "softmax"])
def test_same_loops_interpreted(benchmark, dtype, kind):
    """The Numba kernel's own Python source, run by the interpreter, on SLICE rows."""
    W, X, y = linear_data(500, dtype)
    python_loop = cpu.naive_linear_loss.py_func
    benchmark.group = f"loss N=500 {dtype} numpy"
    run_benchmark(
        benchmark,
        lambda: cpu._naive_linear_loss(
            W, X[:SLICE], y[:SLICE], 2.5e4, kind == "softmax", loop=python_loop
        ),
        rounds=1,
        scale=500 / SLICE,
    )


def test_course_naive_loop(benchmark, dtype):
    """The course's svm_loss_naive as students write it (numpy inside the loops)."""
    W, X, y = linear_data(500, dtype)

    def course(W, X, y, reg):
        dW = np.zeros(W.shape)
        loss = 0.0
        for i in range(X.shape[0]):
            scores = X[i].dot(W)
            correct_class_score = scores[y[i]]
            for j in range(W.shape[1]):
                if j == y[i]:
                    continue
                margin = scores[j] - correct_class_score + 1
                if margin > 0:
                    loss += margin
                    dW[:, j] += X[i]
                    dW[:, y[i]] -= X[i]
        return loss / X.shape[0] + reg * np.sum(W * W), dW / X.shape[0] + 2 * reg * W

    benchmark.group = f"loss N=500 {dtype} numpy"
    run_benchmark(benchmark, lambda: course(W, X, y, 2.5e4), rounds=2)


def _course_train(X, y, learning_rate, reg, num_iters, batch_size):
    """The course's LinearClassifier.train with the usual vectorized SVM loss, plain numpy."""
    num_train, dim = X.shape
    W = 0.001 * np.random.randn(dim, np.max(y) + 1)
    history = []
    for _ in range(num_iters):
        idx = np.random.choice(num_train, batch_size)
        X_batch, y_batch = X[idx], y[idx]
        n = X_batch.shape[0]
        scores = X_batch.dot(W)
        correct = scores[np.arange(n), y_batch][:, None]
        margins = np.maximum(0, scores - correct + 1)
        margins[np.arange(n), y_batch] = 0
        history.append(margins.sum() / n + reg * np.sum(W * W))
        binary = (margins > 0).astype(X.dtype)
        binary[np.arange(n), y_batch] = -binary.sum(axis=1)
        W -= learning_rate * (X_batch.T.dot(binary) / n + 2 * reg * W)
    return W, history


TRAIN = {"learning_rate": 1e-7, "reg": 2.5e4, "num_iters": 1500, "batch_size": 200}


def test_train_course_loop(benchmark, dtype):
    _, X, y = linear_data(49000, dtype)
    benchmark.group = f"train LinearSVM 1500x200 {dtype}"

    def run():
        np.random.seed(0)
        return _course_train(X, y, **TRAIN)

    run_benchmark(benchmark, run, rounds=3)


def test_train_fastvr(benchmark, device_lib, dtype):
    xp = device_lib
    _, X, y = linear_data(49000, dtype)
    Xd, yd = xp.asarray(X), xp.asarray(y)
    benchmark.group = f"train LinearSVM 1500x200 {dtype}"

    def run():
        np.random.seed(0)
        return LinearSVM().train(Xd, yd, **TRAIN)

    run_benchmark(benchmark, synchronised(xp, run), rounds=3, library=xp.__name__)
