"""Top-k selection, majority vote and streaming k-nearest-neighbour search on ``xp``.

Tie rules (the course's): neighbours at equal distance are ordered by training index, lower
first; a vote tie goes to the smallest label.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np
from array_api_compat import device

# The kernels (Numba, Numba-CUDA) are imported inside the functions that run them, so that
# `import fastvr` loads no compiler (fastvr._warmup compiles them in the background).
from .._backend import argpartition, clamp_min_, itemsize, scatter_rows, take_rows
from .distances import Reference, blocks, l1_block, rows_per_block, sq_l2_block

_SCAN_MAX_K = 64  # above this the insertion scans lose to partial selection
# Below this many entries numpy's partition is as quick as a fraction of the scan's compile
# time on a fresh machine; the two give the same answer.
_SCAN_MIN_ENTRIES = 1 << 20


def smallest_k(D: Any, k: int, *, xp: ModuleType) -> tuple[Any, Any]:
    """The ``k`` smallest entries of each row of ``D`` and their column indices.

    Ordered by ``(value, column)``, so equal values keep the lower column first, and when
    equal values straddle the cut the lower columns are the ones kept. For ``k`` up to 64
    one pass over each row keeps the best ``k`` (a Numba loop on numpy, from a million
    entries; a Numba-CUDA kernel on CuPy, whose argpartition sorts whole rows); otherwise a
    partial selection and a sort of the ``k`` winners. Never a sort of every row.

    Examples
    --------
    >>> import numpy as np, array_api_compat.numpy as xp
    >>> smallest_k(np.array([[3.0, 1.0, 1.0, 0.5]]), 2, xp=xp)
    (array([[0.5, 1. ]]), array([[3, 1]]))
    """
    if k <= _SCAN_MAX_K and array_api_compat.is_numpy_namespace(xp):
        if D.shape[0] * D.shape[1] >= _SCAN_MIN_ENTRIES:
            return _smallest_k_scan(D, k)
        return smallest_k_by_partition(D, k, xp=xp)
    if k <= _SCAN_MAX_K and array_api_compat.is_cupy_namespace(xp):
        return _smallest_k_cuda(D, k, xp=xp)
    return smallest_k_by_partition(D, k, xp=xp)


def smallest_k_by_partition(D: Any, k: int, *, xp: ModuleType) -> tuple[Any, Any]:
    """:func:`smallest_k` by argpartition, a tie fix and a sort of the ``k`` winners."""
    n, m = D.shape
    if k < m:
        idx = argpartition(D, k - 1, xp=xp)[:, :k]
        kth = xp.max(xp.take_along_axis(D, idx, axis=1), axis=1)
        # More than k entries at or below the k-th value: a tie crosses the cut, and the
        # partition may have kept a higher column. Those rows (rare) get a stable sort.
        tied = xp.nonzero(xp.sum(xp.astype(kth[:, None] >= D, xp.int32), axis=1) > k)[0]
        if tied.shape[0] > 0:
            stable = xp.argsort(take_rows(D, tied, xp=xp), axis=1, stable=True)[:, :k]
            scatter_rows(idx, tied, stable, xp=xp)
        idx = xp.sort(idx, axis=1)
    else:
        idx = xp.broadcast_to(xp.arange(m, device=device(D))[None, :], (n, m))
    values = xp.take_along_axis(D, idx, axis=1)
    order = xp.argsort(values, axis=1, stable=True)
    return xp.take_along_axis(values, order, axis=1), xp.take_along_axis(idx, order, axis=1)


def _smallest_k_scan(D: Any, k: int) -> tuple[Any, Any]:
    """numpy fast path: one Numba pass over each row instead of partition and sorts."""
    from ..kernels import cpu

    values = np.empty((D.shape[0], k), dtype=D.dtype)
    indices = np.empty((D.shape[0], k), dtype=np.int64)
    cpu.smallest_k(np.ascontiguousarray(D), values, indices)
    return values, indices


def _smallest_k_cuda(D: Any, k: int, *, xp: ModuleType) -> tuple[Any, Any]:
    """CuPy fast path: one block per row keeps the best ``k`` (no sort of the row)."""
    from ..kernels import cuda

    values = xp.empty((D.shape[0], k), dtype=D.dtype, device=device(D))
    indices = xp.empty((D.shape[0], k), dtype=xp.int64, device=device(D))
    cuda.smallest_k(D, values, indices)
    return values, indices


def class_counts(neighbor_labels: Any, n_classes: int, *, xp: ModuleType) -> Any:
    """How many of each row's neighbours carry each code in ``[0, n_classes)``: (N, C).

    Examples
    --------
    >>> import numpy as np, array_api_compat.numpy as xp
    >>> class_counts(np.array([[2, 1, 2]]), 3, xp=xp)
    array([[0, 1, 2]])
    """
    classes = xp.arange(n_classes, dtype=neighbor_labels.dtype, device=device(neighbor_labels))
    return xp.sum(
        xp.astype(neighbor_labels[:, :, None] == classes[None, None, :], xp.int32), axis=1
    )


def vote(neighbor_labels: Any, n_classes: int, *, xp: ModuleType) -> Any:
    """Majority label of each row of ``neighbor_labels`` (codes in ``[0, n_classes)``).

    Ties go to the smallest code (``argmax`` returns the first maximum).

    Examples
    --------
    >>> import numpy as np, array_api_compat.numpy as xp
    >>> vote(np.array([[2, 1, 2, 1], [0, 0, 1, 2]]), 3, xp=xp)
    array([1, 0])
    """
    return xp.argmax(class_counts(neighbor_labels, n_classes, xp=xp), axis=1)


def kneighbors(
    X: Any, ref: Reference, k: int, *, metric: str, xp: ModuleType, budget_bytes: int
) -> tuple[Any, Any]:
    """The ``k`` nearest reference rows of every row of ``X``, streamed in row blocks.

    Only a block of the distance matrix exists at a time, sized so its temporaries stay
    within ``budget_bytes``; each block keeps its ``k`` best per row. Returns distances
    (squared for L2) and indices, both ``(n, k)``, ordered by ``(distance, index)``.
    """
    n, m = X.shape[0], ref.Y.shape[0]
    rows = rows_per_block(m, X.shape[1], itemsize(X.dtype, xp=xp), budget_bytes)
    dists, indices = [], []
    for part in blocks(n, rows):
        Xb = X[part, ...]
        if metric == "l1":
            block = l1_block(Xb, ref.Y, xp=xp)
        else:
            block = sq_l2_block(Xb, ref, xp=xp, budget_bytes=budget_bytes, clamp=False)
        d, i = smallest_k(block, k, xp=xp)
        d = clamp_min_(d, 0, xp=xp)
        del block  # free before the next block is allocated
        dists.append(d)
        indices.append(i)
    if len(dists) == 1:
        return dists[0], indices[0]
    return xp.concat(dists, axis=0), xp.concat(indices, axis=0)
