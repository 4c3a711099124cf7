"""The 2021–2026 course framework: Solver training and FullyConnectedNet forward+backward.

Groups compare, in one run:
- ``Solver``: one epoch of ``TwoLayerNet(3072, 100, 10)`` on 49000 CIFAR-shaped rows at batch
  200 (245 steps, plus the course's accuracy checks), fastvr's ``Solver`` against the course's
  Solver loop over plain-numpy layers (``tests/course_2025.py``), from the same seed. In
  float32 the course's model keeps its float64 weights (numpy then computes in float64);
  fastvr's model is given float32 weights, as a user wanting float32 would.
- ``FullyConnectedNet fwd+bwd``: ``[100] * 5`` hidden layers, batch 200, 3072 inputs, with and
  without batch norm: fastvr's loss and all gradients (on the CPU and, in the GPU check, on
  CuPy). The comparison with PyTorch CPU autograd is ``benchmarks/fc_vs_pytorch.py``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from fastvr._backend import cuda_device_count
from fastvr.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from fastvr.solver import Solver
from tests.course_2025 import PlainNet, course_solver, sgd

from .conftest import run_benchmark, synchronised

DIM, CLASSES = 3072, 10
SETTINGS = {"batch_size": 200, "num_epochs": 1, "lr_decay": 0.95}


@functools.cache
def cifar_like(dtype: str):
    rng = np.random.default_rng(49000)
    X = rng.standard_normal((49000, DIM), dtype=np.float32).astype(dtype)
    X_val = rng.standard_normal((1000, DIM), dtype=np.float32).astype(dtype)
    return {
        "X_train": X,
        "y_train": rng.integers(0, CLASSES, 49000),
        "X_val": X_val,
        "y_val": rng.integers(0, CLASSES, 1000),
    }


@pytest.mark.parametrize("who", ["fastvr", "course"])
def test_solver_two_layer_net_epoch(benchmark, dtype, who):
    data = cifar_like(dtype)
    benchmark.group = f"Solver: TwoLayerNet(3072, 100, 10), 1 epoch of 49000 at 200, {dtype}"

    def run():
        np.random.seed(0)
        if who == "course":
            model = PlainNet([DIM, 100, CLASSES], weight_scale=1e-3)
            return course_solver(model, data, sgd, {"learning_rate": 1e-4}, **SETTINGS)
        model = TwoLayerNet(DIM, 100, CLASSES)
        model.params = {k: v.astype(dtype) for k, v in model.params.items()}
        solver = Solver(
            model, data, optim_config={"learning_rate": 1e-4}, verbose=False, **SETTINGS
        )
        solver.train()
        return solver.loss_history

    run_benchmark(benchmark, run, rounds=3, reference=who == "fastvr")


@pytest.mark.parametrize("normalization", [None, "batchnorm"])
def test_fully_connected_fwd_bwd(benchmark, dtype, normalization):
    """fastvr alone; ``benchmarks/fc_vs_pytorch.py`` compares with PyTorch, each side in its
    own process (in one process PyTorch's spinning OpenMP threads slow numpy's entries)."""
    data = cifar_like(dtype)
    X, y = data["X_train"][:200], data["y_train"][:200]
    np.random.seed(0)
    model = FullyConnectedNet(
        [100] * 5, normalization=normalization, reg=1e-3, weight_scale=5e-2, dtype=dtype
    )
    benchmark.group = f"FullyConnectedNet([100] * 5) fwd+bwd, batch 200, {normalization}, {dtype}"
    run_benchmark(benchmark, lambda: model.loss(X, y), rounds=20, reference=True)


def test_solver_two_layer_net_epoch_gpu(benchmark, dtype):
    """The same epoch with the data on the GPU (CuPy): the whole loop stays there."""
    if cuda_device_count() == 0:
        pytest.skip("no CUDA device")
    import cupy

    data = {k: cupy.asarray(v) for k, v in cifar_like(dtype).items()}
    benchmark.group = f"Solver: TwoLayerNet(3072, 100, 10), 1 epoch of 49000 at 200, {dtype}"

    def run():
        np.random.seed(0)
        model = TwoLayerNet(DIM, 100, CLASSES)
        model.params = {k: v.astype(dtype) for k, v in model.params.items()}
        solver = Solver(
            model, data, optim_config={"learning_rate": 1e-4}, verbose=False, **SETTINGS
        )
        solver.train()
        history = solver.loss_history  # one transfer, which also waits for the device
        return history

    run_benchmark(benchmark, run, rounds=3, library="cupy")


@pytest.mark.parametrize("normalization", [None, "batchnorm"])
def test_fully_connected_fwd_bwd_gpu(benchmark, dtype, normalization):
    if cuda_device_count() == 0:
        pytest.skip("no CUDA device")
    import cupy

    data = cifar_like(dtype)
    X, y = cupy.asarray(data["X_train"][:200]), cupy.asarray(data["y_train"][:200])
    np.random.seed(0)
    model = FullyConnectedNet(
        [100] * 5, normalization=normalization, reg=1e-3, weight_scale=5e-2, dtype=dtype
    )
    model.params = {k: cupy.asarray(v) for k, v in model.params.items()}
    benchmark.group = f"FullyConnectedNet([100] * 5) fwd+bwd, batch 200, {normalization}, {dtype}"
    run_benchmark(
        benchmark, synchronised(cupy, lambda: model.loss(X, y)), rounds=20, library="cupy"
    )
