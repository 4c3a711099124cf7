"""Dask arrays as row chunks: checked metadata, one delayed array per chunk, its offset."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._backend import placement_for, to_numpy
from .._search import check_knn_samples
from .._validation import (
    check_label_count,
    check_label_kind,
    check_ndim,
    check_not_empty,
    check_same_features,
    check_sample_kind,
)
from ..ops.distances import centring_shift
from .core import compute_here, is_dask, require_dask


@dataclass(frozen=True)
class Chunks:
    """Rows split into chunks: one delayed array per chunk and where each chunk starts."""

    parts: list  # delayed (rows, d) arrays
    labels: list | None  # delayed (rows,) label arrays (or in-memory slices), or None
    starts: list[int]
    n_rows: int
    n_features: int
    dtype: Any  # the floating dtype the rows are computed in
    source: Any  # the array itself (Dask or in memory), for fetching single rows

    @property
    def stops(self) -> list[int]:
        return [*self.starts[1:], self.n_rows]


def check_dask_samples(X: Any, name: str) -> Any:
    """A Dask array's metadata checked as :func:`fastvr._validation.check_samples` checks an
    array (the values are checked chunk by chunk where they are computed), in one column
    chunk."""
    check_sample_kind(X, name)
    check_ndim(X, name)
    if any(math.isnan(s) for s in X.shape):
        X = X.compute_chunk_sizes()
    check_not_empty(X, name)
    return X.rechunk({1: -1}) if len(X.chunks[1]) > 1 else X


def check_dask_labels(y: Any, name: str, n_rows: int) -> Any:
    """A Dask label array's metadata checked as ``check_labels`` checks an array."""
    check_label_kind(y, name)
    if math.isnan(y.shape[0]):
        y = y.compute_chunk_sizes()
    check_label_count(y, name, n_rows)
    return y


def float_dtype(dtype: Any) -> Any:
    """The dtype rows of ``dtype`` are computed in (integers as float64, as one process)."""
    return np.dtype(np.float64) if np.issubdtype(dtype, np.integer) else np.dtype(dtype)


def row_chunks(X: Any, name: str, labels: Any = None) -> Chunks:
    """``X`` (a Dask array, or an in-memory one as a single chunk) as row chunks, with its
    ``labels`` (Dask or in memory) split the same way."""
    dask = require_dask(f"{name} as a Dask array")
    if is_dask(X):
        X = check_dask_samples(X, name)
        parts, sizes = X.to_delayed()[:, 0].tolist(), list(X.chunks[0])
    else:
        parts, sizes = [dask.delayed(X, pure=True)], [X.shape[0]]
    starts = [0, *itertools.accumulate(sizes)]
    label_parts = None
    if labels is not None:
        if is_dask(labels):
            label_parts = labels.rechunk((tuple(sizes),)).to_delayed().tolist()
        else:
            label_parts = [labels[a:b] for a, b in itertools.pairwise(starts)]
    return Chunks(parts, label_parts, starts[:-1], starts[-1], X.shape[1], float_dtype(X.dtype), X)


def query_blocks(X: Any, *, check: bool = True, metric: str = "l2") -> list[tuple[Any, int]]:
    """Queries as (delayed block, rows) pairs: all of an in-memory array as one block
    (checked by the caller), or a Dask array's row blocks, each checked once, in its own
    task, as one process checks ``X`` (``check=False``: the task's model checks it)."""
    dask = require_dask("Dask arrays")
    if not is_dask(X):
        return [(dask.delayed(X, pure=True), X.shape[0])]
    blocks = X.to_delayed()[:, 0].tolist()
    starts = [0, *itertools.accumulate(X.chunks[0])]
    if check:
        blocks = [
            dask.delayed(_checked)(block, chunk_name("X", i, a, b), metric)
            for i, (block, a, b) in enumerate(zip(blocks, starts, starts[1:], strict=False))
        ]
    return list(zip(blocks, X.chunks[0], strict=True))


def _checked(X: Any, name: str, metric: str) -> Any:
    return check_knn_samples(X, name, placement_for(X, where_given=True), metric)


def chunk_name(name: str, j: int, start: int, stop: int) -> str:
    """How errors name one chunk: ``Y (chunk 3, rows 300:400)``."""
    return f"{name} (chunk {j}, rows {start}:{stop})"


def unique_labels(y: Any) -> np.ndarray:
    """The distinct labels of a Dask (or in-memory) label array, sorted, on the host."""
    if is_dask(y):
        import dask.array as da

        return np.asarray(compute_here(da.unique(y)))
    return np.unique(to_numpy(y))


def column_sums(Y: Chunks) -> np.ndarray:
    """Float64 column sums of all rows, chunk by chunk (one pass over the chunks; a chunk
    holding another number of columns than the array declares is named)."""
    dask = require_dask("a Dask training set")
    declared = np.empty((0, Y.n_features))
    sums = [
        dask.delayed(_column_sums)(part, declared, chunk_name("Y", j, a, b))
        for j, (part, a, b) in enumerate(zip(Y.parts, Y.starts, Y.stops, strict=True))
    ]
    return np.sum(np.stack([compute_here(*sums)] if len(sums) == 1 else compute_here(*sums)), 0)


def _column_sums(Y: Any, declared: np.ndarray, name: str) -> np.ndarray:
    check_same_features(declared, Y, "X", name)  # X: the queries, checked against `declared`
    return to_numpy(Y).sum(axis=0, dtype=np.float64)


def column_shift(Y: Chunks) -> np.ndarray:
    """The whole training set's centring shift (as one process computes it for all rows)."""
    return centring_shift(column_sums(Y)[None, :], Y.n_rows)


def rows_at(source: Any, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (an index array of any shape) of a Dask or in-memory array, on the host:
    each distinct row fetched once, and of a Dask array only the chunks holding them."""
    known, where = np.unique(rows.reshape(-1), return_inverse=True)
    picked = source[known]
    picked = to_numpy(compute_here(picked) if is_dask(picked) else picked)
    return picked[where].reshape(rows.shape + picked.shape[1:])


def rows_sum(source: Any, a: int, b: int) -> np.ndarray:
    """Float64 column sums of rows ``a:b`` of a Dask or in-memory array."""
    rows = source[a:b]
    if is_dask(rows):
        return np.asarray(compute_here(rows.sum(axis=0, dtype=np.float64)))
    return to_numpy(rows).sum(axis=0, dtype=np.float64)
