"""Model selection: cross-validation over k, and a 4 x 4 LinearSVM grid in one batched run.

Cross-validation over k: one distance pass per fold against the course's loop.

10 values of k x 5 folds on 5000 x 3072 CIFAR-shaped float64 data. Entries: fastvr's
``cross_validate_k``; the course's loop (train + predict per fold and per k) with the course's
vectorized numpy k-NN (full distance matrix, full argsort); the same loop with fastvr's
``KNearestNeighbor``.
"""

from __future__ import annotations

import numpy as np

from fastvr.classifiers import KNearestNeighbor, LinearSVM, TwoLayerNet
from fastvr.tuning import cross_validate_k, train_linear_grid, train_two_layer_grid
from tests.oracles import course_cross_validation

from .conftest import course_data, run_benchmark

K_CHOICES = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]
FOLDS = 5


class CourseKNN:
    """The course's KNearestNeighbor as students complete it (no-loop distances)."""

    def train(self, X, y):
        self.X_train, self.y_train = X, y

    def predict(self, X, k=1):
        dists = np.sqrt(
            np.maximum(
                np.sum(X**2, axis=1)[:, None]
                + np.sum(self.X_train**2, axis=1)
                - 2 * X.dot(self.X_train.T),
                0,
            )
        )
        y_pred = np.zeros(X.shape[0])
        for i in range(X.shape[0]):
            closest_y = self.y_train[np.argsort(dists[i])[:k]]
            y_pred[i] = np.argmax(np.bincount(closest_y))
        return y_pred


def course_loop(model_cls, X, y):
    return course_cross_validation(model_cls, X, y, K_CHOICES, FOLDS)


def _group(benchmark):
    benchmark.group = "cross-validation 10 k x 5 folds, 5000 x 3072 float64"


def test_cross_validate_k(benchmark):
    X, y, _ = course_data("float64")
    _group(benchmark)
    result = run_benchmark(benchmark, lambda: cross_validate_k(X, y, K_CHOICES, FOLDS), rounds=3)
    assert result == course_loop(KNearestNeighbor, X, y)  # same numbers as the course's loop


def test_course_loop_course_knn(benchmark):
    X, y, _ = course_data("float64")
    _group(benchmark)
    run_benchmark(benchmark, lambda: course_loop(CourseKNN, X, y), rounds=1)


def test_course_loop_fastvr_knn(benchmark):
    X, y, _ = course_data("float64")
    _group(benchmark)
    run_benchmark(benchmark, lambda: course_loop(KNearestNeighbor, X, y), rounds=1)


GRID = {
    "learning_rates": [1e-8, 3e-8, 1e-7, 3e-7],
    "regularization_strengths": [1e3, 5e3, 2.5e4, 5e4],
}


def _grid_group(benchmark, dtype):
    benchmark.group = f"grid 4x4 LinearSVM 1500x200, 49000 x 3073 {dtype}"


def test_grid_batched(benchmark, dtype):
    from .bench_linear import linear_data

    _, X, y = linear_data(49000, dtype)

    def run():
        np.random.seed(0)
        return train_linear_grid(
            "svm", X, y, X[:1000], y[:1000], num_iters=1500, batch_size=200, **GRID
        )

    _grid_group(benchmark, dtype)
    run_benchmark(benchmark, run, rounds=1)


def test_grid_one_by_one(benchmark, dtype):
    from .bench_linear import linear_data

    _, X, y = linear_data(49000, dtype)

    def run():
        results = {}
        for lr in GRID["learning_rates"]:
            for reg in GRID["regularization_strengths"]:
                np.random.seed(0)
                svm = LinearSVM()
                svm.train(X, y, learning_rate=lr, reg=reg, num_iters=1500, batch_size=200)
                results[(lr, reg)] = (
                    np.mean(svm.predict(X) == y),
                    np.mean(svm.predict(X[:1000]) == y[:1000]),
                )
        return results

    _grid_group(benchmark, dtype)
    run_benchmark(benchmark, run, rounds=1)


NET_GRID = {"learning_rates": [1e-4, 3e-4, 1e-3], "regularization_strengths": [0.25, 0.5]}
NET_OPTIONS = {"num_iters": 500, "batch_size": 200, "learning_rate_decay": 0.95}


def test_net_grid_batched(benchmark):
    from .bench_neural_net import net_data

    X, y = net_data(49000, "float32")

    def run():
        np.random.seed(0)
        return train_two_layer_grid(X, y, X[:1000], y[:1000], 50, **NET_GRID, **NET_OPTIONS)

    benchmark.group = "grid 3x2 TwoLayerNet H=50 500x200, 49000 x 3072 float32"
    run_benchmark(benchmark, run, rounds=1)


def test_net_grid_one_by_one(benchmark):
    from .bench_neural_net import net_data

    X, y = net_data(49000, "float32")

    def run():
        for lr in NET_GRID["learning_rates"]:
            for reg in NET_GRID["regularization_strengths"]:
                np.random.seed(0)
                net = TwoLayerNet(X.shape[1], 50, 10)
                net.train(X, y, X[:1000], y[:1000], learning_rate=lr, reg=reg, **NET_OPTIONS)
                np.mean(net.predict(X) == y)

    benchmark.group = "grid 3x2 TwoLayerNet H=50 500x200, 49000 x 3072 float32"
    run_benchmark(benchmark, run, rounds=1)
