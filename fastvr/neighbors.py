"""Public distance and neighbour functions: validate, place, compute, hand back.

These are the functional forms of what :class:`fastvr.classifiers.KNearestNeighbor` does;
both go through the same ops.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from . import _config, _dask
from ._backend import Placement, placement_for
from ._validation import check_distance_data, check_int, check_same_features, check_samples
from .ops import distances as _dist
from .ops import screen as _screen
from .ops.neighbors import kneighbors as _kneighbors

# The public surface; the rest serves the classifiers (build_index, query, distances).
__all__ = ["kneighbors", "last_screen_stats", "pairwise_distances"]

_last_stats = _screen.ScreenStats()


def check_metric(metric: Any) -> str:
    """The canonical metric name (``"l2"`` or ``"l1"``) for ``metric`` or a ``ValueError``."""
    if not isinstance(metric, str) or metric.lower() not in _dist.METRICS:
        raise ValueError(f"metric must be one of {sorted(_dist.METRICS)}; got {metric!r}")
    return _dist.METRICS[metric.lower()]


def check_method(method: Any) -> str:
    """The canonical method name for ``method`` or a ``ValueError``."""
    if not isinstance(method, str) or method.lower() not in _dist.METHODS:
        raise ValueError(f"method must be one of {sorted(_dist.METHODS)}; got {method!r}")
    return _dist.METHODS[method.lower()]


@dataclass(frozen=True)
class Index:
    """Reference rows prepared for repeated queries on one placement."""

    place: Placement
    ref: _dist.Reference
    metric: str
    screens: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def xp(self) -> ModuleType:
        return self.place.xp

    def screen(self) -> _screen.ScreenedReference | None:
        """The reference prepared for the certified float32 screen, when the screening
        setting asks for it here (float64 L2 data; ``"auto"``: on numpy), else None."""
        xp = self.xp
        if not wants_screen(self.place, self.metric, self.ref.Y.dtype, self.ref.Y.size):
            return None
        # CuPy multiplies float32 in TF32 under CUPY_TF32=1: the bound must then be TF32's
        tf32 = self.place.library == "cupy" and os.environ.get("CUPY_TF32") == "1"
        precision = "tf32" if tf32 else "float32"
        if precision not in self.screens:
            with self.place.active():
                screened = _screen.ScreenedReference.build(
                    self.ref, mantissa=_screen.MANTISSA_BITS[precision], xp=xp
                )
            # norms near float32's range: the GEMM path (None, remembered)
            d = self.ref.Y.shape[1]
            self.screens[precision] = screened if _screen.screenable(screened, d) else None
        return self.screens[precision]


def wants_screen(place: Placement, metric: str, dtype: Any, size: int) -> bool:
    """Whether the screening setting asks for the certified screen of a reference of
    ``size`` entries of ``dtype`` on ``place`` (see :func:`screen_rule`)."""
    xp = place.xp
    precision = "float64" if dtype == xp.float64 else "float32" if dtype == xp.float32 else ""
    return screen_rule(place.library, metric, precision, size)


# "auto" screens references of at least this many entries (rows x features): below it the
# screen saves less than its compiled kernels cost to compile on a fresh machine (a second
# or two), and the float64 GEMM path needs no compiler (e.g. the bundled digits, 1200 x 64).
SCREEN_MIN_ENTRIES = 1 << 20


def screen_rule(library: str, metric: str, precision: str, size: int) -> bool:
    """Whether L2 k-NN of a reference of ``size`` entries of ``precision`` data on
    ``library`` is screened: float64 on numpy under ``"auto"`` (from
    :data:`SCREEN_MIN_ENTRIES` entries) and anywhere under ``True``; float32 under ``True``
    off the host (a GPU's TF32 products; on a CPU nothing is cheaper than SGEMM)."""
    setting = _config.get_screening()
    if metric != "l2" or setting is False:
        return False
    if precision == "float64":
        return setting is True or (library == "numpy" and size >= SCREEN_MIN_ENTRIES)
    return precision == "float32" and setting is True and library != "numpy"


def build_index(
    Y: Any, place: Placement, metric: str, *, shift: Any = None, screen: bool = True
) -> Index:
    """Prepare validated, placed reference rows ``Y`` for ``metric`` queries (L2: centred by
    their own mean, or by ``shift``, see :func:`fastvr.ops.distances.prepare_reference`).

    Training does the work: the screen where the setting asks for it, else the GEMM layout;
    ``screen=False`` (the whole distance matrix is wanted): the GEMM layout only."""
    xp = place.xp
    with place.active():
        if metric == "l2":
            ref = _dist.prepare_reference(Y, xp=xp, shift=shift, gemm=False)
        else:  # L1 needs only the rows themselves
            ref = _dist.Reference(Y, None)
    index = Index(place, ref, metric)
    if metric == "l2" and (not screen or index.screen() is None):
        with place.active():
            ref.gemm_layout()
    return index


def rows_index(Y: Any, place: Placement, metric: str) -> Index:
    """An index of validated, placed rows ``Y`` as they are, for the loop paths: they read
    the rows and need no preparation (:func:`build_index` prepares for the other paths)."""
    return Index(place, _dist.Reference(Y, None), metric)


def check_knn_samples(X: Any, name: str, place: Placement, metric: str) -> Any:
    """``X`` checked as k-NN data (N, D) on ``place``: finite, and small enough that no
    ``metric`` distance overflows (see :func:`fastvr._validation.check_distance_data`)."""
    # products=False: centred (copied) before any product
    X = check_samples(X, name, place, products=False, finite=False)
    check_distance_data(X, name, metric, xp=place.xp)
    return X


def common_dtype(X: Any, Y: Any, xp: ModuleType) -> tuple[Any, Any]:
    """Both arrays in their common floating dtype (float32 with float64 gives float64)."""
    dtype = xp.result_type(X.dtype, Y.dtype)
    return xp.astype(X, dtype, copy=False), xp.astype(Y, dtype, copy=False)


def distances(
    X: Any,
    index: Index,
    *,
    method: str = "vectorized",
    squared: bool = False,
    working_memory: float | None = None,
) -> Any:
    """Distances from validated, placed ``X`` to an index, by ``method`` (no hand-back)."""
    xp = index.xp
    with index.place.active():
        if method == "vectorized":
            return _dist.vectorized_distances(
                X,
                index.ref,
                metric=index.metric,
                squared=squared,
                xp=xp,
                budget_bytes=_config.budget_bytes(working_memory),
            )
        return _dist.loop_distances(
            X, index.ref.Y, method=method, metric=index.metric, squared=squared, xp=xp
        )


def pairwise_distances(
    X: Any, Y: Any = None, *, metric: str = "l2", method: str = "vectorized", squared: bool = False
) -> Any:
    """Distances between the rows of ``X`` and the rows of ``Y`` (default: ``X`` itself).

    Parameters
    ----------
    X : array, shape (n, d)
        Query rows (numpy, CuPy or any array-API array; integers become float64).
    Y : array, shape (m, d), optional
        Reference rows; ``X`` when omitted.
    metric : {"l2", "l1"}
        Euclidean (aliases ``"euclidean"``) or Manhattan (``"manhattan"``, ``"cityblock"``).
    method : {"vectorized", "one_loop", "two_loops"}
        ``"vectorized"`` is the GEMM expansion (L2) or tiled broadcasting (L1); the loop
        methods are the course's reference paths as Numba (CPU) or Numba-CUDA (GPU) loops.
    squared : bool
        Return squared L2 distances (no square root). L2 only.

    Returns
    -------
    array, shape (n, m)
        In the caller's array type and the inputs' common floating dtype. With either side
        a Dask array (``pip install 'fastvr[dask]'``): a lazy Dask matrix, one block per
        (query block, training chunk), each computed where its chunk lives.

    Examples
    --------
    >>> import numpy as np, fastvr
    >>> fastvr.pairwise_distances(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [1.0, 0.0]]))
    array([[5., 1.]])
    >>> fastvr.pairwise_distances(np.array([[0, 0]]), np.array([[3, 4]]), metric="l1")
    array([[7.]])
    """
    metric, method = check_metric(metric), check_method(method)
    if not isinstance(squared, bool):
        raise TypeError(f"squared must be a bool; got {squared!r}")
    if squared and metric != "l2":
        raise ValueError(f"squared=True only applies to metric='l2'; got metric={metric!r}")
    if _dask.any_dask(X, Y):
        Y = X if Y is None else Y
        return _dask.pairwise_distances(X, Y, metric=metric, method=method, squared=squared)
    place = placement_for(X, Y)
    X = check_knn_samples(X, "X", place, metric)
    Y = X if Y is None else check_knn_samples(Y, "Y", place, metric)
    check_same_features(X, Y, "X", "Y")
    X, Y = common_dtype(X, Y, place.xp)
    index = build_index(Y, place, metric, screen=False)
    return place.give_back(distances(X, index, method=method, squared=squared))


def kneighbors(
    X: Any, Y: Any, k: int = 1, *, metric: str = "l2", working_memory: float | None = None
) -> tuple[Any, Any]:
    """The ``k`` nearest rows of ``Y`` for every row of ``X``, in bounded memory.

    Streams over ``X`` in row blocks so the temporary distance block stays within the
    working-memory budget; the full ``(n, m)`` matrix is never built.

    Either side may be a Dask array (``pip install 'fastvr[dask]'``), on whatever scheduler
    the caller set up (a ``distributed.Client`` or Dask's default): each chunk of ``Y`` is
    searched where it lives and the chunks' winners merged with the same tie rules, so the
    answer is the one-process answer (exactly, for float64 and L1; see ``fastvr._dask``).
    Dask queries give lazy Dask results; in-memory queries give numpy ones.

    Parameters
    ----------
    X : array, shape (n, d)
    Y : array, shape (m, d)
    k : int, 1 <= k <= m
    metric : {"l2", "l1"}
    working_memory : float, optional
        Budget in MiB for the temporary block (default: :func:`fastvr.get_working_memory`).

    Returns
    -------
    distances : array, shape (n, k)
        Ordered nearest first; equal distances keep the lower index of ``Y`` first.
    indices : array, shape (n, k)
        Row numbers in ``Y``.

    Examples
    --------
    >>> import numpy as np, fastvr
    >>> d, i = fastvr.kneighbors(np.array([[0.0]]), np.array([[2.0], [-1.0], [1.0]]), k=2)
    >>> d, i
    (array([[1., 1.]]), array([[1, 2]]))
    """
    metric = check_metric(metric)
    if _dask.any_dask(X, Y):
        _config.budget_bytes(working_memory)  # checked here, not in every task
        return _dask.kneighbors(X, Y, k, metric=metric, working_memory=working_memory)
    place = placement_for(X, Y)
    X = check_knn_samples(X, "X", place, metric)
    Y = check_knn_samples(Y, "Y", place, metric)
    check_same_features(X, Y, "X", "Y")
    k = check_int(k, "k", low=1, high=Y.shape[0])
    X, Y = common_dtype(X, Y, place.xp)
    index = build_index(Y, place, metric)
    return tuple(place.give_back(a) for a in query(X, index, k, working_memory=working_memory))


def query(
    X: Any,
    index: Index,
    k: int,
    *,
    working_memory: float | None = None,
    squared: bool = False,
    ordered: bool = True,
) -> tuple[Any, Any]:
    """Streaming k-nearest search of validated, placed ``X`` against ``index`` (no hand-back)."""
    xp = index.xp
    screened = index.screen() if X.dtype == index.ref.Y.dtype else None
    with index.place.active():
        if screened is not None:
            dist, idx = screened_query(
                X, screened, k, xp=xp, working_memory=working_memory, ordered=ordered
            )
            dist = xp.astype(dist, X.dtype)  # direct float64 sums, in the data's dtype
        else:
            dist, idx = _kneighbors(
                X,
                index.ref,
                k,
                metric=index.metric,
                xp=xp,
                budget_bytes=_config.budget_bytes(working_memory),
            )
        if index.metric == "l2" and not squared:
            dist = xp.sqrt(dist)
    return dist, idx


# A row with more screen candidates than this (plus 4k) gets its float64 row instead.
MAX_CANDIDATES = 256


def last_screen_stats() -> _screen.ScreenStats:
    """What the last screened k-NN query cost: rows, candidates (mean, largest), rows that
    fell back to float64, rows settled by exact arithmetic.

    Examples
    --------
    >>> import numpy as np, fastvr
    >>> from fastvr.neighbors import last_screen_stats
    >>> X = np.random.default_rng(0).normal(size=(50, 8))
    >>> with fastvr.screening(True):  # "auto" screens only large references
    ...     _ = fastvr.kneighbors(X[:5], X, k=3)
    >>> stats = last_screen_stats()
    >>> stats.rows, stats.fallback_rows
    (5, 0)
    """
    return _last_stats


def screened_query(
    X: Any,
    screened: _screen.ScreenedReference,
    k: int,
    *,
    xp: ModuleType,
    working_memory: float | None = None,
    ordered: bool = True,
) -> tuple[Any, Any]:
    """The exact k nearest of placed float64 ``X`` through a screen: squared distances and
    indices (recorded for :func:`last_screen_stats`)."""
    global _last_stats
    _last_stats = _screen.ScreenStats()
    return _screen.screened_kneighbors(
        X,
        screened,
        k,
        xp=xp,
        budget_bytes=_config.budget_bytes(working_memory),
        max_candidates=MAX_CANDIDATES + 4 * k,
        stats=_last_stats,
        ordered=ordered,
    )
