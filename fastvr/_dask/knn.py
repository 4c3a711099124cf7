"""k-NN over Dask arrays, behind the public functions: ``kneighbors`` and
``pairwise_distances``, a ``KNearestNeighbor`` trained on a Dask array (:class:`TrainedChunks`),
and ``cross_validate_k``; each chunk runs the single-device engine of :mod:`fastvr._search`."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from .. import _search
from .._backend import placement_for, to_numpy
from .._validation import (
    check_distance_columns,
    check_feature_count,
    check_int,
    check_labels,
    check_same_features,
    check_samples,
)
from ..ops.distances import centring_shift
from ..ops.neighbors import smallest_k, vote
from .chunks import (
    Chunks,
    check_dask_labels,
    check_dask_samples,
    chunk_name,
    column_shift,
    column_sums,
    float_dtype,
    query_blocks,
    row_chunks,
    rows_at,
    rows_sum,
    unique_labels,
)
from .core import compute_here, is_dask, require_dask
from .search import Partial, Search, finished, merge, plan


def queries(X: Any, n_features: int, metric: str = "l2") -> Any:
    """Queries checked: a Dask array's metadata (its blocks' values where they are computed),
    or an in-memory array, on the host."""
    if is_dask(X):
        X = check_dask_samples(X, "X")
    else:
        host = placement_for(np.empty(0), where_given=True)
        X = to_numpy(_search.check_knn_samples(X, "X", host, metric))
    check_feature_count(X, "X", n_features, "the training data")
    return X


def collect(X: Any, tasks: list[tuple[Any, int]], width: int, dtypes: Sequence) -> Any:
    """The results of per-block tasks: computed now for in-memory queries, else lazy Dask
    arrays ``(n, width)`` (``width`` 0: ``(n,)``), one per dtype, blocks concatenated."""
    if not is_dask(X):
        return compute_here(tasks[0][0])
    import dask.array as da

    outs = []
    for i, dtype in enumerate(dtypes):
        parts = []
        for task, rows in tasks:
            result = task[i] if len(dtypes) > 1 else task
            parts.append(da.from_delayed(result, (rows, width) if width else (rows,), dtype=dtype))
        outs.append(da.concatenate(parts))
    return tuple(outs) if len(dtypes) > 1 else outs[0]


def per_block(X: Any, task: Callable[[np.ndarray], Any], width: int, dtypes: Sequence) -> Any:
    """``task(block)`` (an in-memory model's method) lazily on each row block of Dask
    queries."""
    dask = require_dask("Dask queries")

    def run(block: Any) -> Any:
        return task(to_numpy(block))

    blocks = query_blocks(X, check=False)
    return collect(X, [(dask.delayed(run)(b), n) for b, n in blocks], width, dtypes)


def _distances_out(metric: str, dtype: Any) -> Callable:
    def finish(settled: tuple, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d2, idx, _ = settled
        return (np.sqrt(d2) if metric == "l2" else d2).astype(dtype, copy=False), idx

    return finish


def kneighbors(
    X: Any, Y: Any, k: int, *, metric: str, working_memory: float | None
) -> tuple[Any, Any]:
    """:func:`fastvr.kneighbors` with either side a Dask array: Dask queries give lazy Dask
    results, in-memory queries numpy ones."""
    require_dask("fastvr.kneighbors on Dask arrays")
    chunks = row_chunks(Y, "Y")
    X = queries(X, chunks.n_features, metric)
    k = check_int(k, "k", low=1, high=chunks.n_rows)
    dtype = np.result_type(float_dtype(X.dtype), chunks.dtype)
    search = plan(chunks, k, metric, dtype, working_memory, "Y")
    tasks = finished(X, chunks, search, _distances_out(metric, dtype))
    return collect(X, tasks, k, (dtype, np.int64))


def pairwise_distances(
    X: Any,
    Y: Any,
    *,
    metric: str,
    method: str,
    squared: bool,
    shift: np.ndarray | None = None,
    dtype: Any = None,
) -> Any:
    """:func:`fastvr.pairwise_distances` with a Dask side: a lazy Dask matrix, one block per
    (query block, training chunk), each by the single-device path, centred (L2 GEMM) by the
    whole training set's ``shift`` (computed when not given)."""
    dask = require_dask("fastvr.pairwise_distances on Dask arrays")
    import dask.array as da

    chunks = row_chunks(Y, "Y")
    X = queries(X, chunks.n_features, metric)
    dtype = np.result_type(float_dtype(X.dtype), chunks.dtype) if dtype is None else dtype
    if shift is None and metric == "l2" and method == "vectorized":
        shift = column_shift(chunks)
    how = {"metric": metric, "method": method, "squared": squared, "shift": shift, "dtype": dtype}
    spans = list(zip(chunks.parts, chunks.starts, chunks.stops, strict=True))
    rows_of = [
        [
            da.from_delayed(
                dask.delayed(_distance_block)(block, part, chunk_name("Y", j, a, b), **how),
                (n, b - a),
                dtype=dtype,
            )
            for j, (part, a, b) in enumerate(spans)
        ]
        for block, n in query_blocks(X, metric=metric)
    ]
    return da.block(rows_of)


def _distance_block(X, Y, name, *, metric, method, squared, shift, dtype):
    """One block of the distance matrix, by the single-device path, in ``dtype``."""
    place = placement_for(Y, where_given=True)
    Y = _search.check_knn_samples(Y, name, place, metric)
    check_same_features(X, Y, "X", name)  # X checked once: by queries() or its block's task
    with place.active():
        return _search.distance_matrix(
            X, Y, place, metric, method=method, squared=squared, shift=shift, dtype=dtype
        )


@dataclass
class TrainedChunks:
    """A ``KNearestNeighbor``'s Dask training set: row chunks with their labels, the sorted
    distinct labels, and the centring shift once a query has needed it."""

    chunks: Chunks
    classes: np.ndarray
    metric: str
    labels: Any  # the training labels as given (Dask or in memory)
    shift: np.ndarray | None = None

    @classmethod
    def train(cls, X: Any, y: Any, metric: str, name: str = "X") -> TrainedChunks:
        """Check ``X`` and ``y`` (either may be Dask) and split them into row chunks."""
        require_dask("a Dask training set")
        X = check_dask_samples(X, name) if is_dask(X) else to_numpy(X)
        if is_dask(y):
            y = check_dask_labels(y, "y", X.shape[0])
        else:
            y = check_labels(y, "y", X.shape[0], placement_for(np.empty(0), where_given=True))
        classes = unique_labels(y)
        if classes[0] < 0:
            raise ValueError(f"y must hold non-negative labels; got min {int(classes[0])}")
        return cls(row_chunks(X, name, labels=y), classes, metric, y)

    @property
    def n_rows(self) -> int:
        return self.chunks.n_rows

    @property
    def n_features(self) -> int:
        return self.chunks.n_features

    def centre(self) -> np.ndarray:
        """The training set's centring shift (one pass over it, the first time)."""
        if self.shift is None:
            self.shift = column_shift(self.chunks)
        return self.shift

    def search(self, k: int, working_memory: float | None, method: str) -> Search:
        return plan(
            self.chunks,
            k,
            self.metric,
            self.chunks.dtype,
            working_memory,
            "the training data",
            method=method,
            shift=self.centre,
        )

    def queries(self, X: Any) -> Any:
        """Checked queries in the training data's dtype (as one process computes them)."""
        checked = queries(X, self.chunks.n_features, self.metric)
        return checked.astype(self.chunks.dtype, copy=False)

    def kneighbors(self, X: Any, k: int, working_memory: float | None) -> tuple[Any, Any]:
        X, dtype = self.queries(X), self.chunks.dtype
        search = self.search(k, working_memory, "vectorized")
        tasks = finished(X, self.chunks, search, _distances_out(self.metric, dtype))
        return collect(X, tasks, k, (dtype, np.int64))

    def predict(self, X: Any, k: int, working_memory: float | None, method: str) -> Any:
        X = self.queries(X)
        tasks = finished(X, self.chunks, self.search(k, working_memory, method), self._vote)
        return collect(X, tasks, 0, (self.classes.dtype,))

    def _vote(self, settled: tuple, block: np.ndarray) -> np.ndarray:
        return vote_labels(settled[2], self.classes)

    def distances(self, X: Any, method: str) -> Any:
        """The lazy distance matrix to the training chunks, centred (L2 GEMM) by the whole
        set's shift, as the fitted single-process index is."""
        shift = self.centre() if self.metric == "l2" and method == "vectorized" else None
        return pairwise_distances(
            self.queries(X),
            self.chunks.source,
            metric=self.metric,
            method=method,
            squared=False,
            shift=shift,
            dtype=self.chunks.dtype,
        )

    def predict_labels(self, dists: Any, k: int) -> Any:
        """The course's vote from a distance matrix (Dask or in memory) to this training set."""
        check_distance_columns(dists, self.n_rows)
        return predict_labels(dists, k, self.labels_at, self.classes)

    def labels_at(self, idx: np.ndarray) -> np.ndarray:
        """The training labels of global rows ``idx`` (any shape), on the host."""
        return rows_at(self.labels, idx)


def vote_labels(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The course's vote over each row of neighbour ``labels`` (ties to the smaller label)."""
    codes = np.searchsorted(classes, labels)
    return classes[vote(codes, classes.shape[0], xp=array_api_compat.array_namespace(codes))]


def predict_labels(
    dists: Any, k: int, labels_at: Callable[[np.ndarray], np.ndarray], classes: np.ndarray
) -> Any:
    """Votes of the ``k`` smallest entries of each row of a distance matrix (Dask, or in
    memory against a Dask training set): each column chunk's ``k`` smallest, merged by
    (distance, column), then the labels ``labels_at(columns)`` vote. Dask rows give lazy
    votes, in-memory rows numpy ones."""
    dask = require_dask("predict_labels with Dask arrays")
    import dask.array as da

    lazy = is_dask(dists)
    if lazy:
        dists = dists.compute_chunk_sizes() if np.isnan(dists.shape).any() else dists
    else:
        dists = da.from_array(to_numpy(dists), chunks=dists.shape)
    starts = np.concatenate([[0], np.cumsum(dists.chunks[1])]).astype(int).tolist()
    votes = []
    for row_parts, n in zip(dists.to_delayed().tolist(), dists.chunks[0], strict=True):
        level = [
            dask.delayed(_smallest_of_block)(part, k, start)
            for part, start in zip(row_parts, starts, strict=False)
        ]
        merged = dask.delayed(merge)(*level, n=n, k=k, d=1, screened=False)
        vote = dask.delayed(_vote_merged)(merged, n, k, labels_at, classes)
        votes.append(da.from_delayed(vote, (n,), dtype=classes.dtype))
    out = da.concatenate(votes)
    return out if lazy else compute_here(out)


def _vote_merged(merged: Partial, n: int, k: int, labels_at: Callable, classes: np.ndarray):
    return vote_labels(labels_at(merged.cols.reshape(n, k)), classes)


def _smallest_of_block(D: Any, k: int, start: int) -> Partial:
    place = placement_for(D, where_given=True)
    D = check_samples(D, "dists", place)
    width = min(k, D.shape[1])
    with place.active():
        d, c = smallest_k(D, width, xp=place.xp)
    rows = np.repeat(np.arange(D.shape[0]), width)
    return Partial(rows, to_numpy(d).reshape(-1), to_numpy(c).reshape(-1) + start, None)


def cross_validate_k(
    X: Any,
    y: Any,
    ks: list[int],
    folds: list[np.ndarray],
    metric: str,
    working_memory: float | None,
) -> dict[int, list[float]]:
    """:func:`fastvr.tuning.cross_validate_k` over a Dask ``X`` (and ``y``): each fold's
    query blocks searched against every chunk with the fold's rows left out; all folds in
    one computation."""
    trained = TrainedChunks.train(X, y, metric)
    chunks, classes = trained.chunks, trained.classes
    k_max = max(ks)
    sums: list = []  # column sums of all rows, for the folds' shifts (L2 GEMM paths)

    def fold_shift(a: int, b: int) -> Callable[[], np.ndarray]:
        def shift() -> np.ndarray:
            if not sums:
                sums.append(column_sums(chunks))
            rest = sums[0] - rows_sum(chunks.source, a, b)
            return centring_shift(rest[None, :], chunks.n_rows - (b - a))

        return shift

    def correct(settled: tuple, block: np.ndarray, truth: Any) -> np.ndarray:
        labels, truth = settled[2], to_numpy(truth)
        return np.array([int((vote_labels(labels[:, :k], classes) == truth).sum()) for k in ks])

    tasks = []
    for fold in folds:
        a, b = int(fold[0]), int(fold[-1]) + 1
        search = plan(
            chunks, k_max, metric, chunks.dtype, working_memory, "X", shift=fold_shift(a, b)
        )
        held_out = X[a:b]
        truth = trained.labels[a:b]
        if is_dask(held_out):
            sizes = held_out.chunks[0]
            bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
            truth = (
                truth.rechunk((sizes,)).to_delayed().tolist()
                if is_dask(truth)
                else [truth[s:e] for s, e in itertools.pairwise(bounds)]
            )
        else:
            truth = [truth]
        held_out = held_out if is_dask(held_out) else to_numpy(held_out)
        tasks.append(finished(held_out, chunks, search, correct, exclude=(a, b), extras=truth))
    counts = compute_here(*[task for fold_tasks in tasks for task, _ in fold_tasks])
    counts = [counts] if len(tasks) == 1 and len(tasks[0]) == 1 else list(counts)
    accuracies: dict[int, list[float]] = {k: [] for k in ks}
    for fold, fold_tasks in zip(folds, tasks, strict=True):
        total = np.sum([counts.pop(0) for _ in fold_tasks], axis=0)
        for k, count in zip(ks, total.tolist(), strict=True):
            accuracies[k].append(count / len(fold))
    return accuracies
