"""Pieces shared by the course's training loops: minibatch draws, loss history, divergence."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import Any

import array_api_compat
import numpy as np


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
    from ._config import budget_bytes

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
    from ._backend import to_numpy

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
