"""The course's ``KNearestNeighbor``, drop-in compatible, on any backend."""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _dask, _search
from .._backend import Placement, placement_for, take_nd, to_numpy
from .._config import _check_mib
from .._validation import (
    check_distance_columns,
    check_int,
    check_labels,
    check_same_features,
    check_samples,
)
from ..ops.neighbors import smallest_k, vote

# The course's num_loops, as the engine's distance methods
_METHODS = ("vectorized", "one_loop", "two_loops")


@dataclass(frozen=True)
class _Local:
    """A training set in memory (on one device), and every query against it; ``train``
    picks this or :class:`fastvr._dask.TrainedChunks` (a Dask training set), which answer
    the same calls.

    What ``train`` remembers is the validated data on its device and its labels as codes;
    the search index (centring, and the screen or the GEMM layout) is built by the first
    query that needs it and kept: ``train`` costs what the course's costs, and a model that
    only ever computes loop distances never builds one. Dask queries are answered block by
    block, lazily."""

    X: Any
    place: Placement
    metric: str
    classes: Any  # sorted distinct labels
    codes: Any  # y_train as positions in ``classes``

    @property
    def n_rows(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @functools.cached_property
    def index(self) -> _search.Index:
        return _search.build_index(self.X, self.place, self.metric)

    def for_method(self, method: str) -> _search.Index:
        """The index a distance ``method`` needs: the loops read the bare rows."""
        if method == "vectorized" or "index" in self.__dict__:
            return self.index
        return _search.rows_index(self.X, self.place, self.metric)

    def predict(self, X: Any, k: int, working_memory: float | None, method: str) -> Any:
        if _dask.is_dask(X):
            task = functools.partial(
                self.predict, k=k, working_memory=working_memory, method=method
            )
            return self._by_blocks(X, task, 0, (self.classes.dtype,))
        place, X = self._queries(X)
        # a vote needs each row's k nearest as a set, not their order
        _, idx = _search.query(
            X,
            self.for_method(method),
            k,
            method=method,
            working_memory=working_memory,
            squared=True,
            ordered=False,
        )
        return place.give_back(self._vote(idx))

    def kneighbors(self, X: Any, k: int, working_memory: float | None) -> tuple[Any, Any]:
        if _dask.is_dask(X):
            task = functools.partial(self.kneighbors, k=k, working_memory=working_memory)
            return self._by_blocks(X, task, k, (self.X.dtype, np.int64))
        place, X = self._queries(X)
        dist, idx = _search.query(X, self.index, k, working_memory=working_memory)
        return place.give_back(dist), place.give_back(idx)

    def distances(self, X: Any, method: str) -> Any:
        if _dask.is_dask(X):
            task = functools.partial(self.distances, method=method)
            return self._by_blocks(X, task, self.n_rows, (self.X.dtype,))
        place, X = self._queries(X)
        return place.give_back(_search.distances(X, self.for_method(method), method=method))

    def predict_labels(self, dists: Any, k: int) -> Any:
        if _dask.is_dask(dists):
            check_distance_columns(dists, self.n_rows)
            classes, codes = to_numpy(self.classes), to_numpy(self.codes)
            return _dask.predict_labels(dists, k, lambda idx: classes[codes[idx]], classes)
        place = placement_for(dists, fitted=self.place)
        dists = check_samples(dists, "dists", place)
        check_distance_columns(dists, self.n_rows)
        with place.active():
            _, idx = smallest_k(dists, k, xp=place.xp)
        return place.give_back(self._vote(idx))

    def _by_blocks(self, X: Any, task: Any, width: int, dtypes: tuple) -> Any:
        """A Dask ``X`` answered lazily block by block by ``task`` (this object's own method
        on one block, which checks it); ``width`` columns per row, outputs of ``dtypes``."""
        return _dask.per_block(_dask.queries(X, self.n_features), task, width, dtypes)

    def _queries(self, X: Any) -> tuple[Placement, Any]:
        """This call's placement (results go back as ``X`` came) and ``X`` on the device, in
        the training data's dtype (the index is prepared in it)."""
        place = placement_for(X, fitted=self.place)
        X = _search.check_knn_samples(X, "X", place, self.metric)
        check_same_features(X, self.X, "X", "the training data")
        return place, place.xp.astype(X, self.X.dtype, copy=False)

    def _vote(self, idx: Any) -> Any:
        xp = self.place.xp
        with self.place.active():
            neighbor_codes = take_nd(self.codes, idx, xp=xp)
            winners = vote(neighbor_codes, self.classes.shape[0], xp=xp)
            return xp.take(self.classes, winners)


class KNearestNeighbor:
    """A k-nearest-neighbour classifier with L2 distance (the course's API).

    Parameters
    ----------
    metric : {"l2", "l1"}
        Distance; the course uses L2. Keyword-only extras do not change the course's calls.
    working_memory : float, optional
        MiB allowed for the temporary distance block in :meth:`predict` with
        ``num_loops=0`` (default: :func:`fastvr.get_working_memory`, 1 GiB).

    Notes
    -----
    Neighbours at equal distance are taken lower training index first; a vote tie goes to
    the smaller label. The training data stays on the device it was put on (a GPU under the
    ``"cupy"`` backend); results come back in the caller's array type. Predicted labels have
    the training labels' dtype (the course's code returns them as float64).

    A Dask training set (``pip install 'fastvr[dask]'``) stays where it is: each chunk is
    searched where it lives and the winners merged with the same tie rules; Dask test data
    gives lazy Dask results.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.classifiers import KNearestNeighbor
    >>> knn = KNearestNeighbor()
    >>> knn.train(np.array([[0.0], [1.0], [5.0]]), np.array([0, 0, 1]))
    >>> knn.predict(np.array([[0.2], [4.0]]), k=1)
    array([0, 1])
    """

    def __init__(self, metric: str = "l2", working_memory: float | None = None) -> None:
        self.metric = _search.check_metric(metric)
        self.working_memory = None if working_memory is None else _check_mib(working_memory)
        self.X_train: Any = None
        self.y_train: Any = None
        self._fitted: _Local | _dask.TrainedChunks | None = None

    def train(self, X: Any, y: Any) -> None:
        """Memorise the training data: ``X`` of shape (num_train, D), ``y`` of shape (N,)."""
        if _dask.any_dask(X, y):
            fitted = _dask.TrainedChunks.train(X, y, self.metric)
        else:
            place = placement_for(X, y)
            X = _search.check_knn_samples(X, "X", place, self.metric)
            y = check_labels(y, "y", X.shape[0], place)
            with place.active():
                classes, codes = place.xp.unique_inverse(y)
            fitted = _Local(X, place, self.metric, classes, codes)
        # Assign only once everything has succeeded: a failed train leaves the model as it was.
        self.X_train, self.y_train, self._fitted = X, y, fitted

    def predict(self, X: Any, k: int = 1, num_loops: int = 0) -> Any:
        """Predict labels for test data ``X`` (num_test, D) by a vote of ``k`` neighbours.

        ``num_loops`` picks how distances are computed: 0 streams vectorized blocks and
        never builds the full matrix; 1 and 2 are the course's loop implementations.
        """
        fitted = self._require_fitted()
        method = _METHODS[self._check_num_loops(num_loops)]
        return fitted.predict(X, self._check_k(k, fitted), self.working_memory, method)

    def kneighbors(self, X: Any, k: int = 1) -> tuple[Any, Any]:
        """The ``k`` nearest training rows of each test row (an extension of the course's API).

        Returns distances and training indices, both (num_test, k), nearest first, equal
        distances in training order; streamed within the working-memory budget.

        Examples
        --------
        >>> import numpy as np
        >>> from fastvr.classifiers import KNearestNeighbor
        >>> knn = KNearestNeighbor()
        >>> knn.train(np.array([[0.0], [3.0], [1.0]]), np.array([0, 1, 0]))
        >>> knn.kneighbors(np.array([[0.9]]), k=2)[1]
        array([[2, 0]])
        """
        fitted = self._require_fitted()
        return fitted.kneighbors(X, self._check_k(k, fitted), self.working_memory)

    def compute_distances_two_loops(self, X: Any) -> Any:
        """L2 distances (num_test, num_train) by a loop over test and a loop over training rows."""
        return self._require_fitted().distances(X, "two_loops")

    def compute_distances_one_loop(self, X: Any) -> Any:
        """L2 distances (num_test, num_train) by a single loop over test rows."""
        return self._require_fitted().distances(X, "one_loop")

    def compute_distances_no_loops(self, X: Any) -> Any:
        """L2 distances (num_test, num_train) with no loops: one matrix product plus norms."""
        return self._require_fitted().distances(X, "vectorized")

    def predict_labels(self, dists: Any, k: int = 1) -> Any:
        """Labels from a (num_test, num_train) distance matrix by a vote of ``k`` neighbours."""
        fitted = self._require_fitted()
        return fitted.predict_labels(dists, self._check_k(k, fitted))

    # -- helpers -------------------------------------------------------------------------

    def _require_fitted(self) -> _Local | _dask.TrainedChunks:
        if self._fitted is None:
            raise RuntimeError("this KNearestNeighbor is not trained yet: call train(X, y) first")
        return self._fitted

    @staticmethod
    def _check_num_loops(num_loops: Any) -> int:
        if isinstance(num_loops, bool) or not isinstance(num_loops, numbers.Integral):
            raise TypeError(f"num_loops must be an integer 0, 1 or 2; got {num_loops!r}")
        if num_loops not in (0, 1, 2):
            raise ValueError(f"Invalid value {num_loops} for num_loops")  # the course's message
        return int(num_loops)

    @staticmethod
    def _check_k(k: Any, fitted: _Local | _dask.TrainedChunks) -> int:
        return check_int(k, "k", low=1, high=fitted.n_rows)
