"""The single-device k-NN engine: reference rows prepared once (an :class:`Index`), and
the searches on them: the distance matrix by any method, and the streaming k nearest through
the certified screen or the GEMM.

Below its two callers: the public functions of :mod:`fastvr.neighbors` and
:class:`fastvr.classifiers.KNearestNeighbor` on one device, and :mod:`fastvr._dask`, which
runs this engine per chunk. It imports neither of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from . import _config
from ._backend import Placement, to_numpy
from ._validation import check_distance_data, check_samples
from .ops import distances as _dist
from .ops import screen as _screen
from .ops.neighbors import kneighbors as _kneighbors
from .ops.neighbors import smallest_k

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


def build_index(Y: Any, place: Placement, metric: str, *, shift: Any = None) -> Index:
    """Prepare validated, placed reference rows ``Y`` for ``metric`` queries (L2: centred by
    their own mean, or by ``shift``, see :func:`fastvr.ops.distances.prepare_reference`).

    Nothing more is built here: the first query builds what its path needs (the screen, or
    the GEMM layout), and the index keeps it, so a distance matrix never pays for a screen
    and a screened search never for the GEMM layout."""
    with place.active():
        if metric == "l2":
            ref = _dist.prepare_reference(Y, xp=place.xp, shift=shift, gemm=False)
        else:  # L1 needs only the rows themselves
            ref = _dist.Reference(Y, None)
    return Index(place, ref, metric)


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


def distance_matrix(
    X: Any,
    Y: Any,
    place: Placement,
    metric: str,
    *,
    method: str,
    squared: bool,
    shift: Any = None,
    dtype: Any = None,
) -> Any:
    """The whole distance matrix between validated rows ``X`` and ``Y`` on ``place`` (same
    number of features), in ``dtype`` (default: their common one); L2 GEMM centred by
    ``shift`` (default: ``Y``'s own mean). What :func:`fastvr.pairwise_distances` and each
    block of its Dask form compute (no hand-back)."""
    xp = place.xp
    dtype = xp.result_type(X.dtype, Y.dtype) if dtype is None else dtype
    X, Y = xp.astype(place.put(X), dtype, copy=False), xp.astype(Y, dtype, copy=False)
    return distances(X, build_index(Y, place, metric, shift=shift), method=method, squared=squared)


def _screen_for(X: Any, index: Index, method: str) -> _screen.ScreenedReference | None:
    """The screen a query of ``X`` by ``method`` goes through, or None (the float64 or
    float32 GEMM, or the loops). This is the engine's one choice of search path."""
    if method != "vectorized" or X.dtype != index.ref.Y.dtype:
        return None
    return index.screen()


def _nearest_unscreened(X: Any, index: Index, k: int, method: str, budget: int) -> tuple:
    """The ``k`` nearest by the streamed GEMM (``"vectorized"``) or from the course's loop
    distances: squared L2 (or L1) distances and indices, ordered by (distance, index)."""
    xp = index.xp
    if method == "vectorized":
        return _kneighbors(X, index.ref, k, metric=index.metric, xp=xp, budget_bytes=budget)
    dists = distances(X, index, method=method, squared=True)
    return smallest_k(dists, k, xp=xp)


def query(
    X: Any,
    index: Index,
    k: int,
    *,
    method: str = "vectorized",
    working_memory: float | None = None,
    squared: bool = False,
    ordered: bool = True,
) -> tuple[Any, Any]:
    """The ``k`` nearest index rows of validated, placed ``X`` (no hand-back): through the
    screen where the setting asks for it, else streamed by the GEMM; ``method`` one of the
    course's loops: from the loop distances. ``ordered=False``: each row's ``k`` nearest as a
    set (what a vote needs), distances then unspecified."""
    xp = index.xp
    screened = _screen_for(X, index, method)
    with index.place.active():
        if screened is not None:
            dist, idx = screened_query(
                X, screened, k, xp=xp, working_memory=working_memory, ordered=ordered
            )
            dist = xp.astype(dist, X.dtype)  # direct float64 sums, in the data's dtype
        else:
            budget = _config.budget_bytes(working_memory)
            dist, idx = _nearest_unscreened(X, index, k, method, budget)
        if index.metric == "l2" and not squared:
            dist = xp.sqrt(dist)
    return dist, idx


def candidates(
    X: Any, index: Index, k: int, *, method: str, working_memory: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Each row's candidates for its ``k`` nearest, unsettled, for a caller that merges them
    with other indexes' before settling (:mod:`fastvr._dask`, one index per chunk): flat host
    arrays ``(rows, squared distances, columns)`` sorted by (row, distance, column), and
    whether every index row is a small integer. Screened: each row's ``k + 1`` best by direct
    float64 sums and any within their error bound of the ``k``-th (see
    :func:`fastvr.ops.screen.screened_candidates`); else exactly ``min(k, m)`` per row."""
    xp, m = index.xp, index.ref.Y.shape[0]
    budget = _config.budget_bytes(working_memory)
    screened = _screen_for(X, index, method)
    with index.place.active():
        if screened is not None:
            rows, dist, cols = _screen.screened_candidates(
                X,
                screened,
                min(k + 1, m),
                xp=xp,
                budget_bytes=budget,
                max_candidates=max_candidates(k),
            )
            return rows, dist, cols, screened.integral
        width = min(k, m)
        d, c = _nearest_unscreened(X, index, width, method, budget)
    rows = np.repeat(np.arange(X.shape[0]), width)
    return rows, to_numpy(d).reshape(-1), to_numpy(c).reshape(-1), True


# A row with more screen candidates than this (plus 4k) gets its float64 row instead.
MAX_CANDIDATES = 256


def max_candidates(k: int) -> int:
    """How many screen candidates a row may keep for its ``k`` nearest."""
    return MAX_CANDIDATES + 4 * k


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
        max_candidates=max_candidates(k),
        stats=_last_stats,
        ordered=ordered,
    )
