"""What fastvr's tuning functions do, as the course's notebook cells do it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from tests.oracles import course_cross_validation

from .classifiers import KNearestNeighbor, LinearSVM, Softmax


def cross_validate_k(X_train, y_train, k_choices, num_folds=5):
    """The knn notebook's cross-validation cell: folds by array_split, one predict per k."""
    return course_cross_validation(KNearestNeighbor, X_train, y_train, k_choices, num_folds)


def train_linear_grid(model, X, y, X_val, y_val, learning_rates, regularization_strengths,
                      num_iters=1500, batch_size=200):  # fmt: skip
    """The svm/softmax notebooks' tuning cell: one model per (learning rate, strength)."""
    cls = {"svm": LinearSVM, "softmax": Softmax}[model]
    results, best_val, best_model = {}, -1, None
    for lr in learning_rates:
        for reg in regularization_strengths:
            candidate = cls()
            candidate.train(X, y, learning_rate=lr, reg=reg, num_iters=num_iters,
                            batch_size=batch_size)  # fmt: skip
            train_acc = np.mean(candidate.predict(X) == y)
            val_acc = np.mean(candidate.predict(X_val) == y_val)
            results[(lr, reg)] = (train_acc, val_acc)
            if val_acc > best_val:
                best_val, best_model = val_acc, candidate
    return SimpleNamespace(results=results, best_val=best_val, best_model=best_model)
