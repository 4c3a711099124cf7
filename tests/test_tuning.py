"""cross_validate_k and train_linear_grid equal the course's one-at-a-time loops."""

from __future__ import annotations

import numpy as np
import pytest

import fastvr
from fastvr.classifiers import KNearestNeighbor, LinearSVM, Softmax, TwoLayerNet
from fastvr.tuning import cross_validate_k, train_linear_grid, train_two_layer_grid

from .conftest import to_xp
from .oracles import course_cross_validation


@pytest.mark.parametrize("num_folds", [3, 5])
def test_equals_the_course_loop_with_ties(xp, num_folds, rng):
    X = rng.integers(0, 3, size=(103, 4)).astype(float)  # many exact distance and vote ties
    y = rng.integers(0, 4, 103)
    k_choices = [1, 2, 5, 8, 20, 60]
    got = cross_validate_k(to_xp(xp, X), to_xp(xp, y), k_choices, num_folds=num_folds)
    assert got == course_cross_validation(KNearestNeighbor, X, y, k_choices, num_folds)
    assert all(isinstance(v, float) for vals in got.values() for v in vals)


def test_small_budget_and_l1(rng):
    X, y = rng.normal(size=(60, 5)), rng.integers(0, 3, 60)
    whole = cross_validate_k(X, y, [1, 4, 9], metric="l1")
    assert cross_validate_k(X, y, [1, 4, 9], metric="l1", working_memory=0.001) == whole


def test_bad_input(rng):
    X, y = rng.normal(size=(20, 2)), rng.integers(0, 2, 20)
    with pytest.raises(ValueError, match=r"k_choices\[\.\.\.\] must be between 1 and 16"):
        cross_validate_k(X, y, [1, 17], num_folds=5)
    with pytest.raises(ValueError, match="k_choices must hold at least one k"):
        cross_validate_k(X, y, [])
    with pytest.raises(ValueError, match="num_folds must be between 2 and 20"):
        cross_validate_k(X, y, [1], num_folds=1)


def _linear_data(rng, n=240, d=16, c=4):
    centres = rng.normal(size=(c, d)) * 2
    y = rng.integers(0, c, n)
    X = np.hstack([centres[y] + rng.normal(size=(n, d)), np.ones((n, 1))])
    return X[:200], y[:200], X[200:], y[200:]


@pytest.mark.parametrize(("kind", "cls"), [("svm", LinearSVM), ("softmax", Softmax)])
def test_grid_equals_training_one_by_one(xp, kind, cls, rng):
    X, y, X_val, y_val = _linear_data(rng)
    rates, regs = [1e-3, 1e-2, 5e-2], [0.0, 1e-2, 1.0]
    np.random.seed(17)
    grid = train_linear_grid(
        kind,
        to_xp(xp, X),
        to_xp(xp, y),
        to_xp(xp, X_val),
        to_xp(xp, y_val),
        rates,
        regs,
        num_iters=120,
        batch_size=32,
    )
    for lr in rates:
        for reg in regs:
            np.random.seed(17)
            model = cls()
            history = model.train(X, y, learning_rate=lr, reg=reg, num_iters=120, batch_size=32)
            np.testing.assert_allclose(grid.histories[(lr, reg)], history, rtol=1e-10)
            np.testing.assert_allclose(
                fastvr.to_numpy(grid.models[(lr, reg)].W),
                fastvr.to_numpy(model.W),
                rtol=1e-10,
                atol=1e-16,
            )
            train_acc = float(np.mean(model.predict(X) == y))
            val_acc = float(np.mean(model.predict(X_val) == y_val))
            assert grid.results[(lr, reg)] == (train_acc, val_acc)
    best = max(grid.results, key=lambda c: grid.results[c][1])
    assert grid.best_val == grid.results[best][1]
    assert not grid.diverged


def test_a_diverging_combination_does_not_spoil_the_others(rng):
    X, y, X_val, y_val = _linear_data(rng)
    np.random.seed(3)
    grid = train_linear_grid(
        "svm", X * 1e3, y, X_val, y_val, [1e-6, 1e40], [1e5], num_iters=50, batch_size=16
    )
    assert grid.diverged == {(1e40, 1e5)}
    assert np.all(np.isfinite(grid.histories[(1e-6, 1e5)]))
    assert grid.best_params == (1e-6, 1e5)


def test_grid_bad_input(rng):
    X, y, X_val, y_val = _linear_data(rng)
    with pytest.raises(ValueError, match="model must be 'svm', 'softmax'"):
        train_linear_grid("knn", X, y, X_val, y_val, [1e-3], [0.0])
    with pytest.raises(ValueError, match="must not be empty"):
        train_linear_grid("svm", X, y, X_val, y_val, [], [0.0])
    with pytest.raises(ValueError, match=r"regularization_strengths\[\.\.\.\] must be at least 0"):
        train_linear_grid("svm", X, y, X_val, y_val, [1e-3], [-1.0])
    with pytest.raises(ValueError, match="X_val has 3 features but X has 17"):
        train_linear_grid("svm", X, y, X_val[:, :3], y_val, [1e-3], [0.0])


@pytest.mark.parametrize("batch_size", [40, 64])  # 200/40 = 5 steps an epoch; 200/64 = 3.125
def test_two_layer_grid_equals_training_one_by_one(xp, batch_size, rng):
    X, y, X_val, y_val = _linear_data(rng)
    rates, regs = [1e-2, 1e-1], [1e-4, 1e-1]
    options = {"num_iters": 60, "batch_size": batch_size, "learning_rate_decay": 0.9}
    np.random.seed(9)
    grid = train_two_layer_grid(
        to_xp(xp, X),
        to_xp(xp, y),
        to_xp(xp, X_val),
        to_xp(xp, y_val),
        12,
        rates,
        regs,
        std=1e-1,
        **options,
    )
    for lr in rates:
        for reg in regs:
            np.random.seed(9)
            net = TwoLayerNet(X.shape[1], 12, 4, std=1e-1)
            stats = net.train(X, y, X_val, y_val, learning_rate=lr, reg=reg, **options)
            got = grid.stats[(lr, reg)]
            np.testing.assert_allclose(got["loss_history"], stats["loss_history"], rtol=1e-10)
            assert got["train_acc_history"] == stats["train_acc_history"]
            assert got["val_acc_history"] == stats["val_acc_history"]
            for name, value in grid.models[(lr, reg)].params.items():
                np.testing.assert_allclose(
                    fastvr.to_numpy(value), net.to_numpy()[name], rtol=1e-9, atol=1e-13
                )
            assert grid.results[(lr, reg)][1] == float(np.mean(net.predict(X_val) == y_val))
    assert grid.best_params in grid.results
