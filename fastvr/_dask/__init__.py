"""Past one machine: k-NN, cross-validation, distances and grids over Dask arrays.

The training side is a Dask array split into row chunks. Each chunk is searched where it
lives by the single-device engine, :mod:`fastvr._search` (its own backend, memory budget and
top-k; CuPy chunks on
their worker's GPU), and the per-chunk winners are merged in a tree by (distance, global
row), which keeps the tie rules: lower training row first, then the vote's smaller label.

Why the answers equal the single-process ones:

- Float64 L2 under the screen (``fastvr.set_screening``, on by default on numpy): every
  distance is a direct float64 sum ``Σ (x − y)²`` of one pair of rows, which no chunking
  changes. Each chunk lists, per query row, its ``k + 1`` best by those sums and any more
  within their error bound of its ``k``-th; the merges keep the same, so the final list
  holds every row the single-process search would compare exactly, and near-ties are
  settled by the same exact arithmetic (:func:`fastvr.ops.screen.select_nearest`) on the
  few reference rows fetched for them. Exactly equal.
- L1 and the course's loop paths: direct sums of each pair. Exactly equal.
- The GEMM paths (float32, float64 with the screen off): every chunk is centred by the
  shift of the whole training set (:func:`fastvr.ops.distances.centring_shift`), so each
  entry is the same dot product as in one process, summed by BLAS in an order that may
  depend on the shape of the product: equal to that rounding.

Grids split their combinations into shares, one Dask task each, from initial parameters
and minibatches drawn on the caller's side as one run draws them.

Dask is optional (``pip install 'fastvr[dask]'``); nothing here imports it until a Dask
array or a split grid asks for it.
"""

import importlib
from typing import Any

from .core import INSTALL_HINT, any_dask, compute_here, is_dask, require_dask

# Everything else loads when first used (a Dask array or a split grid): the modules below
# are fastvr's own, but ~10 ms of ``import fastvr`` that a notebook without Dask never uses.
_LAZY = {
    "check_dask_samples": "chunks",
    **dict.fromkeys(("batches_on", "in_memory", "train_shares", "worker_count"), "grids"),
    **dict.fromkeys(
        (
            "TrainedChunks",
            "cross_validate_k",
            "kneighbors",
            "pairwise_distances",
            "per_block",
            "predict_labels",
            "queries",
        ),
        "knn",
    ),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # looked up here once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "INSTALL_HINT",
    "TrainedChunks",
    "any_dask",
    "batches_on",
    "check_dask_samples",
    "compute_here",
    "cross_validate_k",
    "in_memory",
    "is_dask",
    "kneighbors",
    "pairwise_distances",
    "per_block",
    "predict_labels",
    "queries",
    "require_dask",
    "train_shares",
    "worker_count",
]
