"""TwoLayerNet: forward+backward and train against plain numpy and PyTorch (CPU).

Groups compare, in one run and the same dtype:
- ``fwdbwd N=... H=...``: ``TwoLayerNet.loss(X, y, reg)`` (loss and all gradients), the
  course's loss in plain numpy, and PyTorch autograd on the CPU for the same math.
- ``train``: ``TwoLayerNet.train`` (1000 iterations, batch 200, 49000 x 3072, H = 50) against
  the course's loop in plain numpy, from the same seed.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from fastvr.classifiers import TwoLayerNet

from .conftest import run_benchmark, synchronised

DIM, CLASSES, REG = 3072, 10, 0.25


@functools.cache
def net_data(n: int, dtype: str):
    rng = np.random.default_rng(3072)
    X = rng.standard_normal((n, DIM), dtype=np.float64).astype(dtype, copy=False)
    return X, rng.integers(0, CLASSES, n)


def _params(hidden: int, dtype: str) -> dict:
    np.random.seed(0)
    return {k: v.astype(dtype) for k, v in TwoLayerNet(DIM, hidden, CLASSES, 1e-4).params.items()}


def numpy_loss(p, X, y, reg):
    """The course's TwoLayerNet.loss as students write it."""
    n = X.shape[0]
    h = np.maximum(0, X.dot(p["W1"]) + p["b1"])
    scores = h.dot(p["W2"]) + p["b2"]
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(n), y]).sum() / n
    loss += reg * (np.sum(p["W1"] * p["W1"]) + np.sum(p["W2"] * p["W2"]))
    dscores = probs
    dscores[np.arange(n), y] -= 1
    dscores /= n
    grads = {"W2": h.T.dot(dscores) + 2 * reg * p["W2"], "b2": dscores.sum(axis=0)}
    dh = dscores.dot(p["W2"].T)
    dh[h <= 0] = 0
    grads["W1"] = X.T.dot(dh) + 2 * reg * p["W1"]
    grads["b1"] = dh.sum(axis=0)
    return loss, grads


@pytest.fixture(
    params=[(200, 50), (49000, 50), (200, 500), (49000, 500)], ids=lambda p: f"N{p[0]}-H{p[1]}"
)
def shape(request):
    return request.param


def _group(benchmark, shape, dtype):
    benchmark.group = f"fwdbwd N={shape[0]} H={shape[1]} {dtype}"


def test_fastvr_loss(benchmark, device_lib, dtype, shape):
    xp = device_lib
    X, y = (xp.asarray(a) for a in net_data(shape[0], dtype))
    net = TwoLayerNet(DIM, shape[1], CLASSES)
    net.params = {k: xp.asarray(v) for k, v in _params(shape[1], dtype).items()}
    _group(benchmark, shape, dtype)
    run_benchmark(
        benchmark,
        synchronised(xp, lambda: net.loss(X, y, reg=REG)),
        rounds=3 if shape[0] > 1000 else 20,
        library=xp.__name__,
    )


def test_numpy_reference_loss(benchmark, dtype, shape):
    X, y = net_data(shape[0], dtype)
    p = _params(shape[1], dtype)
    _group(benchmark, shape, dtype)
    run_benchmark(benchmark, lambda: numpy_loss(p, X, y, REG), rounds=3 if shape[0] > 1000 else 20)


def test_pytorch_cpu_loss(benchmark, dtype, shape):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    X, y = net_data(shape[0], dtype)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    p = {k: torch.from_numpy(v).requires_grad_() for k, v in _params(shape[1], dtype).items()}

    def step():
        for v in p.values():
            v.grad = None
        scores = torch.relu(Xt @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
        loss = F.cross_entropy(scores, yt) + REG * ((p["W1"] ** 2).sum() + (p["W2"] ** 2).sum())
        loss.backward()
        return loss.item(), {k: v.grad for k, v in p.items()}

    _group(benchmark, shape, dtype)
    run_benchmark(
        benchmark, step, rounds=3 if shape[0] > 1000 else 20, threads=torch.get_num_threads()
    )


TRAIN = {
    "learning_rate": 1e-4,
    "learning_rate_decay": 0.95,
    "reg": REG,
    "num_iters": 1000,
    "batch_size": 200,
}


def _course_train(
    params, X, y, X_val, y_val, learning_rate, learning_rate_decay, reg, num_iters, batch_size
):
    """The course's TwoLayerNet.train loop in plain numpy."""
    p = {k: v.copy() for k, v in params.items()}
    num_train = X.shape[0]
    iterations_per_epoch = max(num_train / batch_size, 1)
    history = []
    for it in range(num_iters):
        idx = np.random.choice(num_train, batch_size)
        X_batch, y_batch = X[idx], y[idx]
        loss, grads = numpy_loss(p, X_batch, y_batch, reg)
        history.append(loss)
        for k in p:
            p[k] -= learning_rate * grads[k]
        if it % iterations_per_epoch == 0:
            for Xs, ys in ((X_batch, y_batch), (X_val, y_val)):
                h = np.maximum(0, Xs.dot(p["W1"]) + p["b1"])
                np.mean(np.argmax(h.dot(p["W2"]) + p["b2"], axis=1) == ys)
            learning_rate *= learning_rate_decay
    return p, history


def test_train_course_loop(benchmark, dtype):
    X, y = net_data(49000, dtype)
    X_val, y_val = net_data(1000, dtype)
    benchmark.group = f"train TwoLayerNet 1000x200 H=50 {dtype}"

    def run():
        np.random.seed(0)
        return _course_train(_params(50, dtype), X, y, X_val, y_val, **TRAIN)

    run_benchmark(benchmark, run, rounds=3)


def test_train_fastvr(benchmark, device_lib, dtype):
    xp = device_lib
    X, y = (xp.asarray(a) for a in net_data(49000, dtype))
    X_val, y_val = (xp.asarray(a) for a in net_data(1000, dtype))
    benchmark.group = f"train TwoLayerNet 1000x200 H=50 {dtype}"

    def run():
        net = TwoLayerNet(DIM, 50, CLASSES)
        net.params = _params(50, dtype)
        np.random.seed(0)
        return net.train(X, y, X_val, y_val, **TRAIN)

    run_benchmark(benchmark, synchronised(xp, run), rounds=3, library=xp.__name__)
