"""Public distance and neighbour functions: check, dispatch once (one device or Dask),
hand back.

These are the functional forms of what :class:`fastvr.classifiers.KNearestNeighbor` does;
both run the k-NN engine of :mod:`fastvr._search`.
"""

from __future__ import annotations

from typing import Any

from . import _config, _dask
from ._backend import placement_for
from ._search import (
    build_index,
    check_knn_samples,
    check_method,
    check_metric,
    common_dtype,
    distance_matrix,
    last_screen_stats,
    query,
)
from ._validation import check_int, check_same_features

__all__ = ["kneighbors", "last_screen_stats", "pairwise_distances"]


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
    return place.give_back(distance_matrix(X, Y, place, metric, method=method, squared=squared))


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
