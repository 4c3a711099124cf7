"""Past one machine: k-NN, cross-validation and distances over Dask arrays.

The training side is a Dask array split into row chunks. Each chunk is searched where it
lives by the single-device path (its own backend, memory budget and top-k; CuPy chunks on
their worker's GPU), and the per-chunk winners are merged in a tree by (distance, global
row), which keeps the tie rules: lower training row first, then the vote's smaller label.

Why the answers equal the single-process ones exactly:

- Float64 L2 under the screen (``fastvr.set_screening``): every distance is a direct float64
  sum ``Σ (x − y)²`` of one pair of rows, which no chunking changes. Each chunk lists, per
  query row, its ``k + 1`` best by those sums and any more within their error bound of its
  ``k``-th; the merge keeps the same, so the final list holds every row the single-process
  search would compare exactly, and near-ties are settled by the same exact arithmetic
  (:func:`fastvr.ops.screen.select_nearest`) on the few reference rows fetched for them.
- The GEMM paths (float32, unscreened float64): every chunk is centred by the shift of the
  whole training set (:func:`fastvr.ops.distances.centring_shift`), so each entry is the same
  dot product as in one process.
- L1: direct sums of each pair.

Dask is optional (``pip install 'fastvr[dask]'``); nothing here imports it until a Dask
array or a split grid asks for it.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from . import _config
from ._backend import placement_for, take_rows, to_numpy
from ._validation import _kind, check_int, check_same_features, check_samples

INSTALL_HINT = "pip install 'fastvr[dask]'"
SPLIT_EVERY = 8  # merge fan-in: partial lists are small, a wide tree is a shallow one


def is_dask(x: Any) -> bool:
    """Whether ``x`` is a Dask array (without importing Dask)."""
    return array_api_compat.is_dask_array(x)


def any_dask(*arrays: Any) -> bool:
    return any(is_dask(a) for a in arrays)


def require_dask(what: str) -> Any:
    """``dask`` itself, or an ImportError that says what to install."""
    try:
        import dask
        import dask.array
    except ImportError as error:
        raise ImportError(f"{what} needs Dask: {INSTALL_HINT}") from error
    return dask


# -- the training side as row chunks ---------------------------------------------------------


@dataclass(frozen=True)
class Chunks:
    """Rows split into chunks: one delayed array per chunk and where each chunk starts."""

    parts: list  # delayed (rows, d) arrays
    labels: list | None  # delayed (rows,) label arrays, or None
    starts: list[int]
    n_rows: int
    n_features: int
    dtype: Any
    source: Any  # the Dask array itself, for fetching single rows


def check_dask_samples(X: Any, name: str) -> Any:
    """A Dask array's metadata checked as :func:`check_samples` checks an array (the values
    are checked chunk by chunk where they are computed); one column chunk."""
    if _kind(X) not in ("real floating", "integral"):
        raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_features); got shape {X.shape}")
    if any(math.isnan(s) for s in X.shape):
        X = X.compute_chunk_sizes()
    if any(s == 0 for s in X.shape):
        raise ValueError(f"{name} must not be empty; got shape {X.shape}")
    return X.rechunk({1: -1}) if len(X.chunks[1]) > 1 else X


def row_chunks(X: Any, name: str, labels: Any = None) -> Chunks:
    """``X`` (a Dask array, or an in-memory one as a single chunk) as row chunks, with its
    ``labels`` (Dask or in memory) split the same way."""
    dask = require_dask(f"{name} as a Dask array")
    if is_dask(X):
        X = check_dask_samples(X, name)
        parts = X.to_delayed()[:, 0].tolist()
        sizes = list(X.chunks[0])
    else:
        parts, sizes = [dask.delayed(X, pure=True)], [X.shape[0]]
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
    label_parts = None
    if labels is not None:
        if is_dask(labels):
            label_parts = labels.rechunk((tuple(sizes),)).to_delayed().tolist()
        else:
            label_parts = [labels[a:b] for a, b in itertools.pairwise(starts)]
    dtype = np.result_type(X.dtype, np.float64) if _kind(X) == "integral" else X.dtype
    return Chunks(parts, label_parts, starts[:-1], int(starts[-1]), X.shape[1], dtype, X)


def chunk_name(name: str, j: int, start: int, stop: int) -> str:
    """How errors name one chunk: ``Y (chunk 3, rows 300:400)``."""
    return f"{name} (chunk {j}, rows {start}:{stop})"


# -- searching one chunk ----------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    """What every chunk's search needs to know, fixed on the caller's side."""

    k: int
    metric: str
    screened: bool  # float64 L2 through the certified screen: direct sums, settled at the end
    shift: Any  # the whole training set's centring shift (GEMM paths), or None
    screening: bool | str
    working_memory: float
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


def search_chunk(
    X: Any, Y: Any, y: Any, j: int, start: int, search: Search, exclude: tuple[int, int] | None
) -> Partial:
    """One chunk's candidates for the rows of ``X``: its ``k`` best (screened: ``k + 1`` and
    any within reach of its ``k``-th), with global row numbers; rows of the chunk inside the
    global range ``exclude`` are left out (a cross-validation fold)."""
    from . import neighbors as _nb
    from .ops import screen as _screen
    from .ops.neighbors import kneighbors as _kneighbors
    from .ops.neighbors import smallest_k

    name = chunk_name(search.name, j, start, start + Y.shape[0])
    place = placement_for(Y, where_given=True)  # computed where the chunk lives
    Y = check_samples(Y, name, place, products=False)
    X = place.put(X)
    check_same_features(X, Y, "X", name)
    xp = place.xp
    with place.active(), _config.screening(search.screening):
        dtype = xp.result_type(X.dtype, Y.dtype)
        X, Y = xp.astype(X, dtype, copy=False), xp.astype(Y, dtype, copy=False)
        keep = np.arange(Y.shape[0])
        if exclude is not None:
            keep = keep[(keep + start < exclude[0]) | (keep + start >= exclude[1])]
            Y = take_rows(Y, place.put(keep), xp=xp)
        if Y.shape[0] == 0:
            return _empty(y is not None)
        budget = _config.budget_bytes(search.working_memory)
        index = _nb.build_index(Y, place, search.metric, shift=search.shift)
        screen = index.screen() if search.screened and search.method == "vectorized" else None
        integral = True
        if screen is not None:
            rows, dist, cols = _screen.screened_candidates(
                X,
                screen,
                min(search.k + 1, Y.shape[0]),
                xp=xp,
                budget_bytes=budget,
                max_candidates=_nb.MAX_CANDIDATES + 4 * search.k,
            )
            rows, dist, cols = _trim(rows, dist, cols, X.shape[0], search.k, X.shape[1])
            integral = screen.integral
        else:
            width = min(search.k, Y.shape[0])
            if search.method == "vectorized":
                d, c = _kneighbors(
                    X, index.ref, width, metric=search.metric, xp=xp, budget_bytes=budget
                )
            else:
                loops = _nb.distances(X, index, method=search.method, squared=True)
                d, c = smallest_k(loops, width, xp=xp)
            dist, cols = to_numpy(d).reshape(-1), to_numpy(c).reshape(-1)
            rows = np.repeat(np.arange(X.shape[0]), width)
    labels = None if y is None else to_numpy(y)[keep][cols]
    return Partial(rows, dist, keep[cols] + start, labels, integral)


def _empty(with_labels: bool) -> Partial:
    none = np.zeros(0, dtype=np.int64)
    return Partial(none, np.zeros(0), none, none if with_labels else None)


def _trim(rows, dist, cols, n, k, d, labels=None):
    """Of candidates sorted by (row, distance, column), each row's first ``k + 1`` and any
    later ones within the float64 error bound of its ``k``-th: the pool that
    :func:`fastvr.ops.screen.select_nearest` may need exact values for."""
    from .ops.screen import resolution

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
    """Partials of consecutive chunks, in order, merged: sorted by (row, distance, global
    row) and trimmed as each chunk trims its own (screened) or to ``k`` per row."""
    rows = np.concatenate([p.rows for p in partials])
    dist = np.concatenate([p.dist for p in partials])
    cols = np.concatenate([p.cols for p in partials])
    with_labels = partials[0].labels is not None
    labels = np.concatenate([p.labels for p in partials]) if with_labels else None
    order = np.lexsort((cols, dist, rows))
    rows, dist, cols = rows[order], dist[order], cols[order]
    labels = labels[order] if with_labels else None
    if screened:
        picked = _trim(rows, dist, cols, n, k, d, labels)
    else:
        rank = np.arange(rows.shape[0]) - np.searchsorted(rows, np.arange(n))[rows]
        keep = rank < k
        picked = (rows[keep], dist[keep], cols[keep], None if labels is None else labels[keep])
    rows, dist, cols, *rest = picked
    labels = rest[0] if rest else None
    return Partial(rows, dist, cols, labels, all(p.integral for p in partials))


def tree_merge(dask: Any, partials: list, **how: Any) -> Any:
    """Delayed partials of consecutive chunks merged level by level, ``SPLIT_EVERY`` at a
    time, neighbours with neighbours (so each merge sees lower global rows first)."""
    level = list(partials)
    while len(level) > 1:
        level = [
            dask.delayed(merge)(*level[i : i + SPLIT_EVERY], **how)
            for i in range(0, len(level), SPLIT_EVERY)
        ]
    return level[0]


def settle(
    partial: Partial, X: np.ndarray, k: int, search: Search, fetch: Callable[[np.ndarray], Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Each query row's ``k`` nearest from the merged candidates: squared distances, global
    training rows and their labels, ``(n, k)`` host arrays. Screened near-ties are settled
    exactly, from the reference rows ``fetch(rows)`` returns."""
    from .ops.screen import select_nearest

    n = X.shape[0]
    if search.screened:

        def query_rows(rows: np.ndarray) -> np.ndarray:
            return np.asarray(X[rows], dtype=np.float64)

        def reference_rows(rows: np.ndarray) -> np.ndarray:
            return np.asarray(fetch(rows), dtype=np.float64)

        d2, idx, _ = select_nearest(
            partial.rows,
            partial.dist,
            partial.cols,
            n,
            k,
            X.shape[1],
            query_rows,
            reference_rows,
            partial.integral,
        )
    else:
        d2, idx = partial.dist.reshape(n, k), partial.cols.reshape(n, k)
    labels = None
    if partial.labels is not None:
        known, first = np.unique(partial.cols, return_index=True)
        labels = partial.labels[first[np.searchsorted(known, idx)]]
    return d2, idx, labels


def fetch_rows(source: Any) -> Callable[[np.ndarray], np.ndarray]:
    """Rows of a Dask array (or in-memory array) by global number, on the host."""

    def fetch(rows: np.ndarray) -> np.ndarray:
        order = np.argsort(rows)
        picked = source[rows[order]]
        if is_dask(picked):
            picked = compute_here(picked)
        out = np.empty((rows.shape[0], source.shape[1]), dtype=np.float64)
        out[order] = to_numpy(picked)
        return out

    return fetch


def compute_here(*collections: Any) -> Any:
    """``dask.compute`` that also works inside a task of a ``distributed`` worker."""
    dask = require_dask("computing Dask arrays")
    try:
        from distributed import get_worker, worker_client

        get_worker()
    except (ImportError, ValueError):
        result = dask.compute(*collections)
    else:
        with worker_client() as client:
            result = client.compute(list(collections), sync=True)
    return result[0] if len(collections) == 1 else result


# -- the public operations --------------------------------------------------------------------


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
    would screen, else (L2 GEMM) centred by the whole training set's shift, from ``shift()``
    (default: one pass over ``Y``)."""
    from . import neighbors as _nb

    setting = _config.get_screening()
    screened = metric == "l2" and dtype == np.float64 and method == "vectorized"
    if _chunk_library(Y.source) == "numpy":
        host = placement_for(np.empty(0), where_given=True)
        screened = screened and _nb.wants_screen(host, metric, np.float64)
    else:
        screened = screened and setting is True
    centre = None
    if metric == "l2" and method == "vectorized" and not screened:
        centre = shift() if shift is not None else column_shift(Y)
    mib = _config.get_working_memory() if working_memory is None else working_memory
    return Search(k, metric, screened, centre, setting, mib, name, method)


def _chunk_library(X: Any) -> str:
    meta = getattr(X, "_meta", X)
    return "cupy" if array_api_compat.is_cupy_array(meta) else "numpy"


def column_shift(Y: Chunks) -> np.ndarray:
    """The whole training set's centring shift, from float64 column sums of its chunks."""
    from .ops.distances import centring_shift

    return centring_shift(column_sums(Y)[None, :], Y.n_rows)


def _column_sums(Y: Any) -> np.ndarray:
    return to_numpy(Y).sum(axis=0, dtype=np.float64)


def search_graph(X: Any, Y: Chunks, search: Search, exclude: tuple[int, int] | None = None) -> Any:
    """The delayed merged candidates of in-memory queries ``X`` against every chunk."""
    dask = require_dask("a Dask training set")
    Xd = dask.delayed(X, pure=True)
    labels = Y.labels or [None] * len(Y.parts)
    partials = []
    for j, (part, y, start) in enumerate(zip(Y.parts, labels, Y.starts, strict=True)):
        partials.append(dask.delayed(search_chunk)(Xd, part, y, j, start, search, exclude))
    how = {"n": X.shape[0], "k": search.k, "d": Y.n_features, "screened": search.screened}
    return tree_merge(dask, partials, **how)


def kneighbors_host(
    X: np.ndarray, Y: Chunks, search: Search, exclude: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """In-memory queries against chunks: squared distances, global rows, labels (host)."""
    partial = compute_here(search_graph(X, Y, search, exclude))
    return settle(partial, X, search.k, search, fetch_rows(Y.source))


def queries(X: Any, n_features: int) -> Any:
    """Queries checked: a Dask array's metadata, or an in-memory array on the host."""
    if is_dask(X):
        X = check_dask_samples(X, "X")
    else:
        X = to_numpy(check_samples(X, "X", placement_for(np.empty(0), where_given=True)))
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features but the training data has {n_features}; they must match"
        )
    return X


def per_block(X: Any, task: Callable[[np.ndarray], Any], width: int, dtypes: Sequence) -> Any:
    """``task`` on in-memory queries, or lazily on each row block of Dask queries: Dask
    arrays ``(n, width)`` (``width`` 0: ``(n,)``), one per dtype, concatenated."""
    if not is_dask(X):
        return task(X)
    dask = require_dask("Dask queries")
    import dask.array as da

    # The training chunks ride in the task's closure, which Dask does not unpack: each
    # block's task searches them itself instead of having every chunk computed and shipped.
    outs: list[list] = [[] for _ in dtypes]
    for block, rows in zip(X.to_delayed()[:, 0].tolist(), X.chunks[0], strict=True):
        results = dask.delayed(_on_host(task), nout=len(dtypes))(block)
        for out, result, dtype in zip(outs, results, dtypes, strict=True):
            shape = (rows, width) if width else (rows,)
            out.append(da.from_delayed(result, shape, dtype=dtype))
    joined = tuple(da.concatenate(out) for out in outs)
    return joined if len(dtypes) > 1 else joined[0]


def _on_host(task: Callable) -> Callable:
    def run(block: Any) -> Any:
        result = task(to_numpy(block))
        return result if isinstance(result, tuple) else (result,)

    return run


def kneighbors(
    X: Any, Y: Any, k: int, *, metric: str, working_memory: float | None
) -> tuple[Any, Any]:
    """:func:`fastvr.kneighbors` with either side a Dask array: Dask queries give lazy Dask
    results, in-memory queries numpy ones."""
    require_dask("fastvr.kneighbors on Dask arrays")
    chunks = row_chunks(Y, "Y")
    X = queries(X, chunks.n_features)
    k = check_int(k, "k", low=1, high=chunks.n_rows)
    dtype = np.result_type(_float(X.dtype), chunks.dtype)
    search = plan(chunks, k, metric, dtype, working_memory, "Y")

    def task(Xb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d2, idx, _ = kneighbors_host(Xb.astype(dtype, copy=False), chunks, search)
        return (np.sqrt(d2) if metric == "l2" else d2).astype(dtype, copy=False), idx

    return per_block(X, task, k, (dtype, np.int64))


def _float(dtype: Any) -> Any:
    return np.float64 if np.issubdtype(dtype, np.integer) else dtype


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
    (query chunk, training chunk), each computed by the single-device path with the whole
    training set's centring shift."""
    dask = require_dask("fastvr.pairwise_distances on Dask arrays")
    import dask.array as da

    if is_dask(X):
        X = check_dask_samples(X, "X")
        x_blocks, x_sizes = X.to_delayed()[:, 0].tolist(), list(X.chunks[0])
    else:
        place = placement_for(np.empty(0), where_given=True)
        X = to_numpy(check_samples(X, "X", place, products=False))
        x_blocks, x_sizes = [dask.delayed(X, pure=True)], [X.shape[0]]
    chunks = row_chunks(Y, "Y")
    if X.shape[1] != chunks.n_features:
        check_same_features(X, chunks.source, "X", "Y")
    dtype = dtype or np.result_type(_float(X.dtype), chunks.dtype)
    if shift is None and metric == "l2" and method == "vectorized":
        shift = column_shift(chunks)
    how = {"metric": metric, "method": method, "squared": squared, "shift": shift, "dtype": dtype}
    stops = [*chunks.starts[1:], chunks.n_rows]
    return da.block(
        [
            [
                da.from_delayed(
                    dask.delayed(_distance_block)(xb, yb, chunk_name("Y", j, a, b), **how),
                    (rows, b - a),
                    dtype=dtype,
                )
                for j, (yb, a, b) in enumerate(zip(chunks.parts, chunks.starts, stops, strict=True))
            ]
            for xb, rows in zip(x_blocks, x_sizes, strict=True)
        ]
    )


def _distance_block(X, Y, name, *, metric, method, squared, shift, dtype):
    """One block of the distance matrix, by the single-device path, in ``dtype``."""
    from . import neighbors as _nb

    place = placement_for(Y, where_given=True)
    Y = check_samples(Y, name, place, products=False)
    X = check_samples(X, "X", place, products=False)
    check_same_features(X, Y, "X", name)
    X, Y = (place.xp.astype(a, dtype, copy=False) for a in (X, Y))
    index = _nb.build_index(Y, place, metric, shift=shift)
    with place.active():
        return _nb.distances(X, index, method=method, squared=squared)


def unique_labels(y: Any) -> np.ndarray:
    """The distinct labels of a Dask (or in-memory) label array, sorted, on the host."""
    if is_dask(y):
        import dask.array as da

        return np.asarray(compute_here(da.unique(y)))
    return np.unique(to_numpy(y))


def check_dask_labels(y: Any, name: str, n_rows: int) -> Any:
    """A Dask label array's metadata checked as :func:`check_labels` checks an array."""
    if _kind(y) != "integral":
        raise TypeError(f"{name} must hold integer class labels; got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of labels; got shape {y.shape}")
    if math.isnan(y.shape[0]):
        y = y.compute_chunk_sizes()
    if y.shape[0] != n_rows:
        raise ValueError(f"{name} must have one label per sample of X ({n_rows}); got {y.shape[0]}")
    return y


def split(items: Sequence[Any], parts: int) -> list[list[Any]]:
    """``items`` in ``parts`` consecutive, nearly equal shares (none empty)."""
    shares = np.array_split(np.arange(len(items)), parts)
    return [[items[i] for i in share] for share in shares if len(share)]


# -- grids split across workers ---------------------------------------------------------------


def in_memory(*arrays: Any) -> tuple:
    """The arrays with every Dask one computed (together, one pass), the rest as they are."""
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


def train_shares(share: Callable, run: Any, parts: int, start: Any, extra: tuple) -> list:
    """A grid run's combinations in ``parts`` consecutive shares, each trained by
    ``share(run_of_the_share, start, batch_rows, *extra)`` as one Dask task (one batched
    run on its worker); the shares' outputs joined along the combinations.

    The initial parameters ``start`` and every minibatch are drawn here, from numpy's global
    random state, exactly as one run draws them, so each share trains its combinations as
    the whole grid would. A share's outputs put the combinations first."""
    from ._backend import current_backend
    from ._training import minibatch_indices

    dask = require_dask("a grid split across Dask workers")
    batch_rows = minibatch_indices(run.X.shape[0], run.batch_size, run.num_iters)
    data = tuple(to_numpy(a) for a in (run.X, run.y, run.X_val, run.y_val))
    data = tuple(dask.delayed(a, pure=True) for a in data)  # shipped once per worker
    backend_name = current_backend().name
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
    return _join(list(compute_here(*tasks)) if len(tasks) > 1 else [compute_here(tasks[0])])


def _train_share(share, data, combos, num_iters, batch_size, start, batch_rows, extra, name):
    from ._backend import backend
    from .tuning import _grid_inputs

    with backend(name):
        run = _grid_inputs(*data, combos, num_iters, batch_size)
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


# -- KNearestNeighbor and cross-validation over a Dask training set ----------------------------


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
    def train(cls, X: Any, y: Any, metric: str) -> TrainedChunks:
        require_dask("KNearestNeighbor.train on Dask arrays")
        X = check_dask_samples(X, "X") if is_dask(X) else to_numpy(X)
        if is_dask(y):
            y = check_dask_labels(y, "y", X.shape[0])
        else:
            from ._validation import check_labels

            y = check_labels(y, "y", X.shape[0], placement_for(np.empty(0), where_given=True))
        classes = unique_labels(y)
        if classes[0] < 0:
            raise ValueError(f"y must hold non-negative labels; got min {int(classes[0])}")
        return cls(row_chunks(X, "X", labels=y), classes, metric, y)

    @property
    def n_rows(self) -> int:
        return self.chunks.n_rows

    def _shift(self) -> np.ndarray:
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
            shift=self._shift,
        )

    def kneighbors(self, X: Any, k: int, working_memory: float | None) -> tuple[Any, Any]:
        X = queries(X, self.chunks.n_features)
        search = self.search(k, working_memory, "vectorized")
        dtype = self.chunks.dtype

        def task(Xb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            d2, idx, _ = kneighbors_host(Xb.astype(dtype, copy=False), self.chunks, search)
            return (np.sqrt(d2) if self.metric == "l2" else d2).astype(dtype, copy=False), idx

        return per_block(X, task, k, (dtype, np.int64))

    def predict(self, X: Any, k: int, working_memory: float | None, method: str) -> Any:
        from .ops.neighbors import vote

        X = queries(X, self.chunks.n_features)
        search = self.search(k, working_memory, method)
        xp = array_api_compat.array_namespace(self.classes)

        def task(Xb: np.ndarray) -> np.ndarray:
            Xb = Xb.astype(self.chunks.dtype, copy=False)
            _, _, labels = kneighbors_host(Xb, self.chunks, search)
            codes = np.searchsorted(self.classes, labels)
            return self.classes[vote(codes, self.classes.shape[0], xp=xp)]

        return per_block(X, task, 0, (self.classes.dtype,))

    def distances(self, X: Any, method: str) -> Any:
        """The lazy distance matrix to the training chunks (centred by the whole set's shift,
        as the fitted single-process index is)."""
        if self.metric == "l2" and method == "vectorized":
            self._shift()
        return pairwise_distances(
            X,
            self.chunks.source,
            metric=self.metric,
            method=method,
            squared=False,
            shift=self.shift,
            dtype=self.chunks.dtype,
        )

    def labels_at(self, idx: np.ndarray) -> np.ndarray:
        """The training labels of global rows ``idx`` (any shape), on the host."""
        flat = idx.reshape(-1)
        known, where = np.unique(flat, return_inverse=True)
        if is_dask(self.labels):
            values = np.asarray(compute_here(self.labels[known]))
        else:
            values = to_numpy(self.labels)[known]
        return values[where].reshape(idx.shape)


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
        if any(math.isnan(c) for c in (*dists.chunks[0], *dists.chunks[1])):
            dists = dists.compute_chunk_sizes()
    else:
        dists = da.from_array(to_numpy(dists), chunks=(dists.shape[0], dists.shape[1]))
    starts = np.concatenate([[0], np.cumsum(dists.chunks[1])]).astype(int).tolist()
    votes = []
    for row_parts, n in zip(dists.to_delayed().tolist(), dists.chunks[0], strict=True):
        partials = [
            dask.delayed(_smallest_of_block)(part, k, start)
            for part, start in zip(row_parts, starts, strict=False)
        ]
        merged = tree_merge(dask, partials, n=n, k=k, d=1, screened=False)
        vote_task = dask.delayed(_vote_merged)(merged, n, k, labels_at, classes)
        votes.append(da.from_delayed(vote_task, (n,), dtype=classes.dtype))
    out = da.concatenate(votes)
    return out if lazy else compute_here(out)


def _vote_merged(merged: Partial, n: int, k: int, labels_at: Callable, classes: np.ndarray):
    from .ops.neighbors import vote

    codes = np.searchsorted(classes, labels_at(merged.cols.reshape(n, k)))
    xp = array_api_compat.array_namespace(classes)
    return classes[vote(codes, classes.shape[0], xp=xp)]


def _smallest_of_block(D: Any, k: int, start: int) -> Partial:
    from .ops.neighbors import smallest_k

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
    queries searched against every chunk with the fold's rows left out, in query blocks."""
    from .ops.distances import centring_shift
    from .ops.neighbors import vote

    trained = TrainedChunks.train(X, y, metric)
    chunks, classes = trained.chunks, trained.classes
    xp = array_api_compat.array_namespace(np.empty(0))
    k_max = max(ks)
    sums = None  # column sums of each chunk: the folds' shifts (L2 GEMM paths)

    def fold_shift(a: int, b: int) -> Callable[[], np.ndarray]:
        def shift() -> np.ndarray:
            nonlocal sums
            if sums is None:
                sums = column_sums(chunks)
            held_out = _rows_sum(chunks.source, a, b)
            return centring_shift((sums - held_out)[None, :], chunks.n_rows - (b - a))

        return shift

    accuracies: dict[int, list[float]] = {k: [] for k in ks}
    for fold in folds:
        a, b = int(fold[0]), int(fold[-1]) + 1
        search = plan(
            chunks, k_max, metric, chunks.dtype, working_memory, "X", shift=fold_shift(a, b)
        )

        def task(block: np.ndarray, truth: np.ndarray, search: Search = search, a=a, b=b):
            block = block.astype(chunks.dtype, copy=False)
            _, _, labels = kneighbors_host(block, chunks, search, exclude=(a, b))
            codes, truth = np.searchsorted(classes, labels), np.searchsorted(classes, truth)
            return np.array(
                [int((vote(codes[:, :k], classes.shape[0], xp=xp) == truth).sum()) for k in ks]
            )

        correct = _fold_counts(X, trained.labels, a, b, task)
        for k, count in zip(ks, correct.tolist(), strict=True):
            accuracies[k].append(count / (b - a))
    return accuracies


def _fold_counts(X: Any, y: Any, a: int, b: int, task: Callable) -> np.ndarray:
    """``task(queries, labels)`` over rows ``a:b``, summed: in one call for in-memory data,
    one Dask task per row block of a Dask array."""
    if not is_dask(X):
        return task(to_numpy(X)[a:b], to_numpy(y)[a:b])
    dask = require_dask("cross-validation over Dask arrays")
    rows = X[a:b]
    labels = y[a:b].rechunk((rows.chunks[0],)) if is_dask(y) else None
    blocks = rows.to_delayed()[:, 0].tolist()
    starts = np.concatenate([[a], a + np.cumsum(rows.chunks[0])]).astype(int)
    label_blocks = (
        labels.to_delayed().tolist()
        if labels is not None
        else [to_numpy(y)[s:e] for s, e in itertools.pairwise(starts)]
    )
    tasks = [
        dask.delayed(_host_task(task))(block, truth)
        for block, truth in zip(blocks, label_blocks, strict=True)
    ]
    return np.sum(compute_here(*tasks), axis=0) if len(tasks) > 1 else compute_here(tasks[0])


def _host_task(task: Callable) -> Callable:
    def run(block: Any, truth: Any) -> Any:
        return task(to_numpy(block), to_numpy(truth))

    return run


def column_sums(Y: Chunks) -> np.ndarray:
    """Float64 column sums of all rows, chunk by chunk."""
    dask = require_dask("a Dask training set")
    sums = [dask.delayed(_column_sums)(part) for part in Y.parts]
    parts = compute_here(*sums) if len(sums) > 1 else [compute_here(sums[0])]
    return np.sum(np.stack(parts), axis=0)


def _rows_sum(source: Any, a: int, b: int) -> np.ndarray:
    rows = source[a:b]
    if is_dask(rows):
        return np.asarray(compute_here(rows.sum(axis=0, dtype=np.float64)))
    return to_numpy(rows).sum(axis=0, dtype=np.float64)
