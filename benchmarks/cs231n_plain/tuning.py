"""What fastvr's tuning functions do, as the course's notebook cells do it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .classifiers import KNearestNeighbor, LinearSVM, Softmax


def cross_validate_k(X_train, y_train, k_choices, num_folds=5):
    """The knn notebook's cross-validation cell: folds by array_split, one predict per k."""
    X_folds, y_folds = np.array_split(X_train, num_folds), np.array_split(y_train, num_folds)
    k_to_accuracies = {}
    for k in k_choices:
        k_to_accuracies[k] = []
        for i in range(num_folds):
            classifier = KNearestNeighbor()
            classifier.train(np.concatenate(X_folds[:i] + X_folds[i + 1 :]),
                             np.concatenate(y_folds[:i] + y_folds[i + 1 :]))  # fmt: skip
            y_pred = classifier.predict(X_folds[i], k=k)
            k_to_accuracies[k].append(np.mean(y_pred == y_folds[i]))
    return k_to_accuracies


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
