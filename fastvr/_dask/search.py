"""One chunk's search, the tree that merges the chunks' winners, and the settling of each
query row's k nearest from what the tree kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from .. import _config, _search
from .._backend import placement_for, take_rows, to_numpy
from .._validation import check_same_features
from ..ops.screen import resolution, select_nearest
from .chunks import Chunks, chunk_name, column_shift, query_blocks, rows_at
from .core import is_dask, require_dask

SPLIT_EVERY = 8  # merge fan-in: partial lists are small, so a wide tree is a shallow one


@dataclass(frozen=True)
class Search:
    """What every chunk's search needs to know, fixed on the caller's side (a worker has
    its own settings)."""

    k: int
    metric: str
    screened: bool  # L2 through the certified screen: direct sums, settled at the end
    shift: Any  # the whole training set's centring shift (L2 GEMM paths), or None
    working_memory: float  # MiB
    name: str  # the training side's name in errors
    method: str = "vectorized"  # or the course's "one_loop" / "two_loops"


@dataclass
class Partial:
    """Candidates of some chunks for every query row, flat and sorted by (row, distance,
    global training row): squared L2 (or L1) distances, training rows, their labels."""

    rows: np.ndarray
    dist: np.ndarray
    cols: np.ndarray
    labels: np.ndarray | None
    integral: bool = True  # every chunk's rows are small integers (the screen's flag)


def plan(
    Y: Chunks,
    k: int,
    metric: str,
    dtype: Any,
    working_memory: float | None,
    name: str,
    *,
    method: str = "vectorized",
    shift: Callable[[], np.ndarray] | None = None,
) -> Search:
    """The search every chunk runs, with this caller's settings: screened where one process
    would screen (the chunks' library decides "auto"), else (L2 GEMM) centred by the whole
    training set's shift, from ``shift()`` (default: one pass over ``Y``)."""
    meta = getattr(Y.source, "_meta", Y.source)
    library = "cupy" if array_api_compat.is_cupy_array(meta) else "numpy"
    screened = method == "vectorized" and _search.screen_rule(
        library, metric, np.dtype(dtype).name, Y.n_rows * Y.n_features
    )
    centre = None
    if metric == "l2" and method == "vectorized" and not screened:
        centre = shift() if shift is not None else column_shift(Y)
    mib = _config.get_working_memory() if working_memory is None else working_memory
    return Search(k, metric, screened, centre, mib, name, method)


def search_chunk(
    X: Any, Y: Any, y: Any, j: int, start: int, search: Search, exclude: tuple[int, int] | None
) -> Partial:
    """One chunk's candidates for the rows of ``X``: its ``k`` best (screened: ``k + 1`` and
    any within reach of its ``k``-th), with global row numbers; rows of the chunk inside the
    global range ``exclude`` are left out (a cross-validation fold)."""
    name = chunk_name(search.name, j, start, start + Y.shape[0])
    place = placement_for(Y, where_given=True)  # computed where the chunk lives
    Y = _search.check_knn_samples(Y, name, place, search.metric)
    X = place.put(X)
    check_same_features(X, Y, "X", name)
    xp = place.xp
    # the caller's decision, whatever this worker's own setting: screen exactly when planned
    with place.active(), _config.screening(search.screened):
        X, Y = _search.common_dtype(X, Y, xp)
        keep = np.arange(Y.shape[0])
        if exclude is not None:
            keep = keep[(keep + start < exclude[0]) | (keep + start >= exclude[1])]
            Y = take_rows(Y, place.put(keep), xp=xp)
        if Y.shape[0] == 0:
            return _empty(y is not None)
        index = _search.build_index(Y, place, search.metric, shift=search.shift)
        rows, dist, cols, integral = _search.candidates(
            X, index, search.k, method=search.method, working_memory=search.working_memory
        )
        if search.screened:
            rows, dist, cols = trim(rows, dist, cols, X.shape[0], search.k, X.shape[1])
    labels = None if y is None else to_numpy(y)[keep][cols]
    return Partial(rows, dist, keep[cols] + start, labels, integral)


def _empty(with_labels: bool) -> Partial:
    none = np.zeros(0, dtype=np.int64)
    return Partial(none, np.zeros(0), none, none if with_labels else None)


def trim(rows, dist, cols, n, k, d, labels=None):
    """Of candidates sorted by (row, distance, column), each row's first ``k + 1`` and any
    later ones within the float64 error bound of its ``k``-th: every candidate that
    :func:`fastvr.ops.screen.select_nearest` may need for ``k`` winners."""
    if rows.shape[0] == 0:  # chunks wholly inside a held-out fold
        return (rows, dist, cols) if labels is None else (rows, dist, cols, labels)
    rel, tiny = resolution(d)
    starts = np.searchsorted(rows, np.arange(n + 1))
    rank = np.arange(rows.shape[0]) - starts[rows]
    kth = dist[np.minimum(starts[:-1] + k - 1, np.maximum(starts[1:] - 1, 0))]
    reach = kth * (1 + rel) + tiny
    keep = (rank <= k) | (dist * (1 - rel) <= reach[rows])
    picked = (rows[keep], dist[keep], cols[keep])
    return picked if labels is None else (*picked, labels[keep])


def merge(*partials: Partial, n: int, k: int, d: int, screened: bool) -> Partial:
    """Partials of consecutive chunks merged: sorted by (row, distance, global row) and
    trimmed as each chunk trims its own (screened) or to ``k`` per row."""
    rows = np.concatenate([p.rows for p in partials])
    dist = np.concatenate([p.dist for p in partials])
    cols = np.concatenate([p.cols for p in partials])
    order = np.lexsort((cols, dist, rows))
    rows, dist, cols = rows[order], dist[order], cols[order]
    labels = None
    if partials[0].labels is not None:
        labels = np.concatenate([p.labels for p in partials])[order]
    if screened:
        rows, dist, cols, *rest = trim(rows, dist, cols, n, k, d, labels)
        labels = rest[0] if rest else None
    else:
        keep = np.arange(rows.shape[0]) - np.searchsorted(rows, np.arange(n))[rows] < k
        rows, dist, cols = rows[keep], dist[keep], cols[keep]
        labels = None if labels is None else labels[keep]
    return Partial(rows, dist, cols, labels, all(p.integral for p in partials))


def search_graph(
    X: Any, n: int, Y: Chunks, search: Search, exclude: tuple[int, int] | None = None
) -> Any:
    """The delayed merged candidates of the ``n`` queries ``X`` (delayed) against every
    chunk: one task per chunk, then merges of ``SPLIT_EVERY`` neighbouring results at a
    time. Each chunk feeds one task, so a chunk read from disk is freed once searched."""
    dask = require_dask("a Dask training set")
    labels = Y.labels or [None] * len(Y.parts)
    level = [
        dask.delayed(search_chunk)(X, part, y, j, start, search, exclude)
        for j, (part, y, start) in enumerate(zip(Y.parts, labels, Y.starts, strict=True))
    ]
    how = {"n": n, "k": search.k, "d": Y.n_features, "screened": search.screened}
    while len(level) > 1:
        level = [
            dask.delayed(merge)(*level[i : i + SPLIT_EVERY], **how)
            for i in range(0, len(level), SPLIT_EVERY)
        ]
    return level[0]


def settle(
    partial: Partial, X: np.ndarray, k: int, search: Search, source: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Each query row's ``k`` nearest from the merged candidates: squared distances, global
    training rows and their labels, ``(n, k)`` host arrays. Screened near-ties are settled
    exactly, from the few rows of the training set ``source`` they need."""
    n = X.shape[0]
    if search.screened:
        d2, idx, _ = select_nearest(
            partial.rows,
            partial.dist,
            partial.cols,
            n=n,
            k=k,
            d=X.shape[1],
            query_rows=lambda rows: np.asarray(X[rows], dtype=np.float64),
            reference_rows=lambda rows: np.asarray(rows_at(source, rows), dtype=np.float64),
            integral=partial.integral,
        )
    else:
        d2, idx = partial.dist.reshape(n, k), partial.cols.reshape(n, k)
    labels = None
    if partial.labels is not None:
        known, first = np.unique(partial.cols, return_index=True)
        labels = partial.labels[first[np.searchsorted(known, idx)]]
    return d2, idx, labels


def finished(
    X: Any,
    Y: Chunks,
    search: Search,
    finish: Callable[..., Any],
    *,
    exclude: tuple[int, int] | None = None,
    extras: list | None = None,
) -> list[tuple[Any, int]]:
    """For each block of the queries ``X`` (Dask row blocks, or all of an in-memory array):
    ``finish(settled, block[, extra])`` as a delayed task, where ``settled`` is the block's
    ``(squared distances, global rows, labels)``; with the block's row count. Nothing is
    computed yet."""
    dask = require_dask("a Dask training set")
    # The rows near-ties need: an in-memory training set rides along as one shared input; a
    # Dask one in the task's function, which Dask does not compute as an input (its graph
    # reads just the chunks holding the rows asked for).
    lazy = is_dask(Y.source)
    source = None if lazy else dask.delayed(Y.source, pure=True)
    run = _settled(finish, search, Y.source if lazy else None)
    out = []
    for i, (block, rows) in enumerate(query_blocks(X, metric=search.metric)):
        merged = search_graph(block, rows, Y, search, exclude)
        extra = () if extras is None else (extras[i],)
        out.append((dask.delayed(run)(merged, block, source, *extra), rows))
    return out


def _settled(finish: Callable, search: Search, lazy_source: Any) -> Callable:
    def run(merged: Partial, block: Any, source: Any, *extra: Any) -> Any:
        block = to_numpy(block)
        rows = lazy_source if source is None else source
        return finish(settle(merged, block, search.k, search, rows), block, *extra)

    return run
