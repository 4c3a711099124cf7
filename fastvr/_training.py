"""Pieces shared by the training loops: minibatch draws, loss history, divergence, and the
checked inputs of a hyper-parameter grid run (one process, or a Dask worker's share)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np
from array_api_compat import device

from ._backend import Placement, placement_for, rows_for_gathers, to_numpy
from ._config import budget_bytes
from ._validation import (
    check_batch,
    check_class_count,
    check_int,
    check_labels,
    check_same_features,
    check_samples,
)


class DivergenceWarning(RuntimeWarning):
    """Training produced a non-finite loss (the learning rate is usually too large)."""


def minibatch_indices(num_train: int, batch_size: int, num_iters: int) -> np.ndarray:
    """The course's draws, ``np.random.choice(num_train, batch_size)`` once per iteration, as
    one ``(num_iters, batch_size)`` array.

    Drawn all at once from numpy's global random state: the legacy generator yields the same
    numbers whether asked for ``num_iters`` batches in one call or one batch per call, so the
    sequence is the course's. Only valid when nothing else draws from ``np.random`` during
    the loop.
    """
    return np.random.choice(num_train, (num_iters, batch_size))


def minibatches(
    place: Any, num_train: int, batch_size: int, num_iters: int, *, draw_all: bool = True
) -> Iterator[Any]:
    """Minibatch indices in the course's order, already on ``place``'s device.

    ``draw_all`` draws every batch up front (see :func:`minibatch_indices`) and moves them to
    the device in one copy; otherwise one ``np.random.choice`` per step, for loops where other
    code may draw from ``np.random`` between steps (a subclass's own ``loss``).
    """
    if not draw_all or num_iters * batch_size * 8 > budget_bytes():  # the same numbers, per step
        return (place.put(np.random.choice(num_train, batch_size)) for _ in range(num_iters))
    if num_iters == 0:
        return iter(())
    rows = place.put(minibatch_indices(num_train, batch_size, num_iters))
    return (rows[i, ...] for i in range(num_iters))


def gather_floats(values: list[Any], xp: Any) -> list[float]:
    """Scalars kept on the device (losses, accuracies) as Python floats, with one host
    synchronisation for the whole list."""
    if not values:
        return []
    if array_api_compat.is_numpy_namespace(xp):
        return [float(v) for v in values]
    return [float(v) for v in to_numpy(xp.stack([xp.reshape(xp.asarray(v), ()) for v in values]))]


def warn_if_diverged(history: list[float], learning_rate: float, *, stacklevel: int = 3) -> None:
    """One :class:`DivergenceWarning` naming the first iteration whose loss is not finite."""
    for it, loss in enumerate(history):
        if not math.isfinite(loss):
            warnings.warn(
                f"training diverged at iteration {it}: the loss became {loss} with "
                f"learning_rate={learning_rate:g}; the weights now hold non-finite values. "
                "Lower the learning rate and start again from fresh weights.",
                DivergenceWarning,
                stacklevel=stacklevel,
            )
            return


@dataclass(frozen=True)
class GridRun:
    """Validated, placed inputs of a grid run and its (lr, reg) combinations."""

    place: Placement
    X: Any
    y: Any
    X_val: Any
    y_val: Any
    combos: list[tuple[float, float]]
    num_iters: int
    batch_size: int
    num_classes: int
    rates: Any  # (G,) learning rates, on the device in X's dtype
    regs: Any  # (G,) regularisation strengths, likewise


def grid_inputs(
    X: Any,
    y: Any,
    X_val: Any,
    y_val: Any,
    combos: list[tuple[float, float]],
    num_iters: int,
    batch_size: int,
) -> GridRun:
    """Check and place the inputs of a grid run (:mod:`fastvr.tuning`, and each Dask
    worker's share of it) before any work."""
    place = placement_for(X, y, X_val, y_val)
    X = check_samples(X, "X", place, products=False)  # minibatches are gathered
    y = check_labels(y, "y", X.shape[0], place)
    X_val = check_samples(X_val, "X_val", place)
    y_val = check_labels(y_val, "y_val", X_val.shape[0], place)
    check_same_features(X_val, X, "X_val", "X")
    num_iters = check_int(num_iters, "num_iters", low=0)
    batch_size = check_batch(batch_size, X.shape[1], 8)  # the minibatch itself
    xp = place.xp
    top = max(int(xp.max(y)), int(xp.max(y_val)))
    num_classes = check_class_count(top, X.shape[1] * len(combos), 8, name="y or y_val")
    X = rows_for_gathers(X, num_iters * batch_size, xp=xp)
    rates, regs = (
        xp.asarray([combo[i] for combo in combos], dtype=X.dtype, device=device(X)) for i in (0, 1)
    )
    return GridRun(
        place, X, y, X_val, y_val, combos, num_iters, batch_size, num_classes, rates, regs
    )
