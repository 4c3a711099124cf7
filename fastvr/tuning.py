"""Model selection beyond the course's loops: cross-validation over k from one distance pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import neighbors as _nb
from ._backend import placement_for, to_numpy
from ._validation import check_int, check_labels, check_samples
from .ops.neighbors import vote


def cross_validate_k(
    X: Any,
    y: Any,
    k_choices: Sequence[int],
    num_folds: int = 5,
    *,
    metric: str = "l2",
    working_memory: float | None = None,
) -> dict[int, list[float]]:
    """The course's ``k_to_accuracies``: accuracy of k-NN on every fold for every k.

    Folds are ``np.array_split`` of the rows in order, as in the course. Each fold's
    distances are computed once, its ``max(k_choices)`` nearest neighbours kept (streamed in
    bounded memory), and every k is scored from that one selection: the k nearest are the
    first k of the ``max(k)`` nearest under the course's tie rules (lower training index
    first; vote ties to the smaller label), so the result equals running
    ``KNearestNeighbor.train`` and ``predict(k=k)`` per fold and per k.

    Parameters
    ----------
    X : array (N, D)
    y : array (N,) of integer labels
    k_choices : sequence of int
    num_folds : int
    metric : {"l2", "l1"}
    working_memory : float, optional
        MiB for the temporary distance block.

    Returns
    -------
    dict
        ``k -> list of num_folds accuracies`` (Python floats).

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.tuning import cross_validate_k
    >>> X = np.repeat(np.arange(10.0), 3)[:, None]
    >>> y = (X[:, 0] > 4).astype(int)
    >>> acc = cross_validate_k(X, y, [1, 3], num_folds=3)
    >>> sorted(acc), len(acc[1])
    ([1, 3], 3)
    """
    metric = _nb.check_metric(metric)
    place = placement_for(X, y)
    X = check_samples(X, "X", place)
    y = check_labels(y, "y", X.shape[0], place)
    num_folds = check_int(num_folds, "num_folds", low=2, high=X.shape[0])
    if len(k_choices) == 0:
        raise ValueError("k_choices must hold at least one k")
    folds = np.array_split(np.arange(X.shape[0]), num_folds)
    smallest_train = X.shape[0] - max(len(f) for f in folds)
    ks = [check_int(k, "k_choices[...]", low=1, high=smallest_train) for k in k_choices]
    k_max = max(ks)
    xp = place.xp
    with place.active():
        classes, codes = xp.unique_inverse(y)
        accuracies: dict[int, list[float]] = {k: [] for k in ks}
        for fold in folds:
            train_rows = place.put(np.setdiff1d(np.arange(X.shape[0]), fold))
            test_rows = place.put(fold)
            index = _nb.build_index(xp.take(X, train_rows, axis=0), place, metric)
            _, nearest = _nb.query(
                xp.take(X, test_rows, axis=0),
                index,
                k_max,
                working_memory=working_memory,
                squared=True,
            )
            train_codes = xp.take(codes, train_rows)
            neighbor_codes = xp.reshape(
                xp.take(train_codes, xp.reshape(nearest, (-1,))), nearest.shape
            )
            truth = xp.take(codes, test_rows)
            for k in ks:
                predicted = vote(neighbor_codes[:, :k], classes.shape[0], xp=xp)
                accuracies[k].append(xp.mean(xp.astype(predicted == truth, xp.float64)))
        return {k: [float(v) for v in to_numpy(xp.stack(vals))] for k, vals in accuracies.items()}
