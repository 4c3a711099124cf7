"""Hyper-parameter grids split across Dask workers: each share of the combinations is one
task, trained as one batched run on its worker."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import _config
from .._backend import backend, current_backend, to_numpy
from .._training import grid_inputs, minibatch_indices
from .core import compute_here, is_dask, require_dask


def split(items: Sequence[Any], parts: int) -> list[list[Any]]:
    """``items`` in ``parts`` consecutive, nearly equal shares (none empty)."""
    shares = np.array_split(np.arange(len(items)), parts)
    return [[items[i] for i in share] for share in shares if len(share)]


def in_memory(*arrays: Any) -> tuple:
    """The arrays with every Dask one computed (together, in one pass), the rest as given."""
    lazy = [i for i, a in enumerate(arrays) if is_dask(a)]
    if not lazy:
        return arrays
    done = compute_here(*(arrays[i] for i in lazy))
    done = (done,) if len(lazy) == 1 else done
    out = list(arrays)
    for i, value in zip(lazy, done, strict=True):
        out[i] = value
    return tuple(out)


def worker_count() -> int:
    """Workers of the current ``distributed`` client, else this machine's cores."""
    try:
        from distributed import default_client

        return max(1, len(default_client().scheduler_info()["workers"]))
    except (ImportError, ValueError):
        return max(1, os.cpu_count() or 1)


def batches_on(place: Any, batch_rows: np.ndarray) -> Iterator[Any]:
    """Minibatch row indices drawn on the caller's side, on ``place``'s device: in one copy
    when they fit the working-memory budget, else one batch at a time."""
    if batch_rows.nbytes > _config.budget_bytes():
        return (place.put(rows) for rows in batch_rows)
    on_device = place.put(batch_rows)
    return (on_device[i, ...] for i in range(batch_rows.shape[0]))


def train_shares(share: Callable, run: Any, parts: int, start: Any, extra: tuple) -> Any:
    """A grid run's combinations in ``parts`` consecutive shares, each trained by
    ``share(run_of_the_share, start, batch_rows, *extra)`` as one Dask task (one batched
    run on its worker); the shares' outputs joined along the combinations.

    The initial parameters ``start`` and every minibatch are drawn here, from numpy's global
    random state, exactly as one run draws them, so each share trains its combinations as
    the whole grid would, and the caller's random state ends where one run leaves it. A
    share's outputs put the combinations first."""
    dask = require_dask("a grid split across Dask workers")
    batch_rows = minibatch_indices(run.X.shape[0], run.batch_size, run.num_iters)
    data = tuple(dask.delayed(to_numpy(a), pure=True) for a in (run.X, run.y, run.X_val, run.y_val))
    backend_name = current_backend().name  # each worker computes where the caller does
    tasks = [
        dask.delayed(_train_share)(
            share,
            data,
            combos,
            run.num_iters,
            run.batch_size,
            start,
            batch_rows,
            extra,
            backend_name,
        )
        for combos in split(run.combos, parts)
    ]
    outputs = compute_here(*tasks)
    return _join([outputs] if len(tasks) == 1 else list(outputs))


def _train_share(share, data, combos, num_iters, batch_size, start, batch_rows, extra, name):
    with backend(name):
        run = grid_inputs(*data, combos, num_iters, batch_size)
        return share(run, start, batch_rows, *extra)


def _join(outputs: list) -> Any:
    """Outputs of the shares (nested tuples, lists and dicts of arrays) concatenated along
    their first axis, leaf by leaf."""
    first = outputs[0]
    if isinstance(first, dict):
        return {key: _join([o[key] for o in outputs]) for key in first}
    if isinstance(first, (tuple, list)):
        return type(first)(_join([o[i] for o in outputs]) for i in range(len(first)))
    return np.concatenate(outputs, axis=0)
