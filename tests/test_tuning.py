"""cross_validate_k equals the course's cross-validation loop."""

from __future__ import annotations

import numpy as np
import pytest

from fastvr.classifiers import KNearestNeighbor
from fastvr.tuning import cross_validate_k

from .conftest import to_xp


def course_cross_validation(X, y, k_choices, num_folds):
    """The course's knn.ipynb loop: one train and predict per fold and per k."""
    X_folds, y_folds = np.array_split(X, num_folds), np.array_split(y, num_folds)
    k_to_accuracies = {}
    for k in k_choices:
        k_to_accuracies[k] = []
        for i in range(num_folds):
            knn = KNearestNeighbor()
            knn.train(np.concatenate(X_folds[:i] + X_folds[i + 1:]),
                      np.concatenate(y_folds[:i] + y_folds[i + 1:]))
            y_pred = knn.predict(X_folds[i], k=k)
            k_to_accuracies[k].append(float(np.sum(y_pred == y_folds[i]) / len(y_folds[i])))
    return k_to_accuracies


@pytest.mark.parametrize("num_folds", [3, 5])
def test_equals_the_course_loop_with_ties(xp, num_folds, rng):
    X = rng.integers(0, 3, size=(103, 4)).astype(float)  # many exact distance and vote ties
    y = rng.integers(0, 4, 103)
    k_choices = [1, 2, 5, 8, 20, 60]
    got = cross_validate_k(to_xp(xp, X), to_xp(xp, y), k_choices, num_folds=num_folds)
    assert got == course_cross_validation(X, y, k_choices, num_folds)
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
