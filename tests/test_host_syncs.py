"""Training loops never wait on the device per step.

On a GPU every conversion of a device value to a Python scalar (``float``, ``bool``, ``int``)
or to numpy is a synchronisation that stalls the launch queue. With arrays on the off-host
stand-in those conversions are counted: they must not grow with the number of steps.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

from fastvr.classifiers import LinearSVM, Softmax, TwoLayerNet
from fastvr.classifiers.fc_net import FullyConnectedNet
from fastvr.solver import Solver
from fastvr.tuning import train_linear_grid, train_two_layer_grid

from .conftest import StrictOffHost

_TO_HOST = ("__bool__", "__float__", "__int__", "__index__", "__dlpack__", "item", "tolist")


@pytest.fixture
def host_trips(monkeypatch):
    """A counter of the stand-in arrays' conversions to host values, by method."""
    array_type = type(StrictOffHost().asarray([0.0]))
    counts = collections.Counter()
    for name in _TO_HOST:
        original = getattr(array_type, name, None)
        if original is None:
            continue

        def counted(self, *args, _original=original, _name=name, **kwargs):
            counts[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(array_type, name, counted)
    return counts


TRAININGS = {
    "LinearSVM": lambda X, y, n: LinearSVM().train(X, y, num_iters=n, batch_size=16),
    "Softmax": lambda X, y, n: Softmax().train(X, y, num_iters=n, batch_size=16),
    "TwoLayerNet": lambda X, y, n: TwoLayerNet(20, 8, 4).train(
        X, y, X, y, num_iters=n, batch_size=16
    ),
    "linear grid": lambda X, y, n: train_linear_grid(
        "svm", X, y, X, y, [1e-3, 1e-2], [0.0, 1.0], num_iters=n, batch_size=16
    ),
    "two-layer grid": lambda X, y, n: train_two_layer_grid(
        X, y, X, y, 8, [1e-3, 1e-2], [0.0, 1.0], num_iters=n, batch_size=16
    ),
    # a Solver syncs once per epoch (the best-accuracy test), so: one epoch, more steps
    "Solver": lambda X, y, n: Solver(
        FullyConnectedNet([8, 8], input_dim=20, num_classes=4, normalization="batchnorm"),
        {"X_train": X, "y_train": y, "X_val": X[:50, ...], "y_val": y[:50]},
        update_rule="adam",
        batch_size=300 // n,
        num_epochs=1,
        verbose=False,
    ).train(),
}


@pytest.mark.parametrize("name", list(TRAININGS))
def test_host_round_trips_do_not_grow_with_the_steps(name, host_trips, rng):
    stand_in = StrictOffHost()
    X = stand_in.asarray(rng.normal(size=(300, 20)))
    y = stand_in.asarray(rng.integers(0, 4, 300))
    trips = []
    for num_iters in (5, 60):  # 60 steps at 300 / 16 per epoch: 3 epochs for the net
        host_trips.clear()
        np.random.seed(0)
        TRAININGS[name](X, y, num_iters)
        trips.append(dict(host_trips))
    assert trips[0] == trips[1]
    assert sum(trips[0].values()) > 0  # the counter sees the final gathering of the losses
