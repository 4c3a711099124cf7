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
from .._validation import check_int, check_labels, check_same_features, check_samples
from ..ops.neighbors import smallest_k, vote


@dataclass(frozen=True)
class _Fitted:
    """What ``train`` remembers: the validated data on its device, and its labels as codes.

    The search index (centring, and the screen or the GEMM layout) is built by the first
    query that needs it and kept: ``train`` costs what the course's costs, and a model that
    only ever computes loop distances never builds one."""

    X: Any
    place: Placement
    metric: str
    classes: Any  # sorted distinct labels
    codes: Any  # y_train as positions in ``classes``

    @functools.cached_property
    def index(self) -> _search.Index:
        return _search.build_index(self.X, self.place, self.metric)

    def for_method(self, method: str) -> _search.Index:
        """The index a distance ``method`` needs: the loops read the bare rows."""
        if method == "vectorized" or "index" in self.__dict__:
            return self.index
        return _search.rows_index(self.X, self.place, self.metric)


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
        self._fitted: _Fitted | _dask.TrainedChunks | None = None

    def train(self, X: Any, y: Any) -> None:
        """Memorise the training data: ``X`` of shape (num_train, D), ``y`` of shape (N,)."""
        if _dask.any_dask(X, y):
            fitted = _dask.TrainedChunks.train(X, y, self.metric)
            self.X_train, self.y_train, self._fitted = X, y, fitted
            return
        place = placement_for(X, y)
        X = _search.check_knn_samples(X, "X", place, self.metric)
        y = check_labels(y, "y", X.shape[0], place)
        with place.active():
            classes, codes = place.xp.unique_inverse(y)
        # Assign only once everything has succeeded: a failed train leaves the model as it was.
        self.X_train, self.y_train = X, y
        self._fitted = _Fitted(X, place, self.metric, classes, codes)

    def predict(self, X: Any, k: int = 1, num_loops: int = 0) -> Any:
        """Predict labels for test data ``X`` (num_test, D) by a vote of ``k`` neighbours.

        ``num_loops`` picks how distances are computed: 0 streams vectorized blocks and
        never builds the full matrix; 1 and 2 are the course's loop implementations.
        """
        fitted = self._require_fitted()
        num_loops = self._check_num_loops(num_loops)
        k = self._check_k(k, fitted)
        if isinstance(fitted, _dask.TrainedChunks):
            method = ("vectorized", "one_loop", "two_loops")[num_loops]
            return fitted.predict(X, k, self.working_memory, method)
        if _dask.is_dask(X):  # lazily, block by block against the in-memory training set
            X = _dask.queries(X, self._n_features())
            task = functools.partial(self.predict, k=k, num_loops=num_loops)
            return _dask.per_block(X, task, 0, (self.y_train.dtype,))
        place, X = self._check_test(X, fitted)
        if num_loops == 0:
            # a vote needs each row's k nearest as a set, not their order
            _, idx = _search.query(
                X, fitted.index, k, working_memory=self.working_memory, squared=True, ordered=False
            )
        else:
            method = "one_loop" if num_loops == 1 else "two_loops"
            dists = _search.distances(X, fitted.for_method(method), method=method, squared=True)
            with fitted.place.active():
                _, idx = smallest_k(dists, k, xp=fitted.place.xp)
        return place.give_back(self._vote(idx, fitted))

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
        k = self._check_k(k, fitted)
        if isinstance(fitted, _dask.TrainedChunks):
            return fitted.kneighbors(X, k, self.working_memory)
        if _dask.is_dask(X):  # lazily, block by block against the in-memory training set
            dtype = fitted.X.dtype
            X = _dask.queries(X, self._n_features())
            task = functools.partial(self.kneighbors, k=k)
            return _dask.per_block(X, task, k, (dtype, np.int64))
        place, X = self._check_test(X, fitted)
        dist, idx = _search.query(X, fitted.index, k, working_memory=self.working_memory)
        return place.give_back(dist), place.give_back(idx)

    def compute_distances_two_loops(self, X: Any) -> Any:
        """L2 distances (num_test, num_train) by a loop over test and a loop over training rows."""
        return self._distances(X, "two_loops")

    def compute_distances_one_loop(self, X: Any) -> Any:
        """L2 distances (num_test, num_train) by a single loop over test rows."""
        return self._distances(X, "one_loop")

    def compute_distances_no_loops(self, X: Any) -> Any:
        """L2 distances (num_test, num_train) with no loops: one matrix product plus norms."""
        return self._distances(X, "vectorized")

    def predict_labels(self, dists: Any, k: int = 1) -> Any:
        """Labels from a (num_test, num_train) distance matrix by a vote of ``k`` neighbours."""
        fitted = self._require_fitted()
        k = self._check_k(k, fitted)
        if isinstance(fitted, _dask.TrainedChunks) or _dask.is_dask(dists):
            return self._predict_labels_dask(dists, k, fitted)
        place = placement_for(dists, fitted=fitted.place)
        dists = check_samples(dists, "dists", place)
        num_train = fitted.X.shape[0]
        if dists.shape[1] != num_train:
            raise ValueError(
                f"dists must have one column per training sample ({num_train}); "
                f"got shape {dists.shape}"
            )
        with place.active():
            _, idx = smallest_k(dists, k, xp=place.xp)
        return place.give_back(self._vote(idx, fitted))

    # -- helpers -------------------------------------------------------------------------

    def _require_fitted(self) -> _Fitted:
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
    def _n_train(fitted: _Fitted | _dask.TrainedChunks) -> int:
        if isinstance(fitted, _dask.TrainedChunks):
            return fitted.n_rows
        return fitted.X.shape[0]

    def _n_features(self) -> int:
        fitted = self._require_fitted()
        if isinstance(fitted, _dask.TrainedChunks):
            return fitted.chunks.n_features
        return fitted.X.shape[1]

    def _check_k(self, k: Any, fitted: _Fitted | _dask.TrainedChunks) -> int:
        return check_int(k, "k", low=1, high=self._n_train(fitted))

    def _predict_labels_dask(self, dists: Any, k: int, fitted: Any) -> Any:
        """``predict_labels`` with a Dask distance matrix or training set."""
        if len(dists.shape) != 2 or dists.shape[1] != self._n_train(fitted):
            raise ValueError(
                f"dists must have one column per training sample ({self._n_train(fitted)}); "
                f"got shape {dists.shape}"
            )
        if isinstance(fitted, _dask.TrainedChunks):
            return _dask.predict_labels(dists, k, fitted.labels_at, fitted.classes)
        classes, codes = to_numpy(fitted.classes), to_numpy(fitted.codes)

        def labels_at(idx: Any) -> Any:
            return classes[codes[idx]]

        return _dask.predict_labels(dists, k, labels_at, classes)

    @staticmethod
    def _check_test(X: Any, fitted: _Fitted) -> tuple[Placement, Any]:
        """This call's placement (results go back as ``X`` came) and ``X`` on the device."""
        place = placement_for(X, fitted=fitted.place)
        X = _search.check_knn_samples(X, "X", place, fitted.metric)
        check_same_features(X, fitted.X, "X", "the training data")
        # Computed in the training data's dtype: the fitted index is prepared in it.
        return place, place.xp.astype(X, fitted.X.dtype, copy=False)

    def _distances(self, X: Any, method: str) -> Any:
        fitted = self._require_fitted()
        if isinstance(fitted, _dask.TrainedChunks):
            return fitted.distances(X, method)
        if _dask.is_dask(X):  # lazily, block by block against the in-memory training set
            X = _dask.queries(X, self._n_features())
            task = functools.partial(self._distances, method=method)
            n_train, dtype = self._n_train(fitted), fitted.X.dtype
            return _dask.per_block(X, task, n_train, (dtype,))
        place, X = self._check_test(X, fitted)
        return place.give_back(_search.distances(X, fitted.for_method(method), method=method))

    @staticmethod
    def _vote(idx: Any, fitted: _Fitted) -> Any:
        xp = fitted.place.xp
        with fitted.place.active():
            neighbor_codes = take_nd(fitted.codes, idx, xp=xp)
            winners = vote(neighbor_codes, fitted.classes.shape[0], xp=xp)
            return xp.take(fitted.classes, winners)
