"""scikit-learn-compatible estimators over fastvr's classifiers.

``fit``/``predict``/``predict_proba``/``score``, ``get_params``/``set_params``, fitted
attributes ending in ``_``, ``classes_`` with arbitrary label values, so fastvr models work in
``Pipeline`` and ``GridSearchCV``. Needs scikit-learn 1.6 or later
(``pip install 'fastvr[sklearn]'``).

numpy inputs go through scikit-learn's own validation; CuPy inputs (or any other array-API
library's) are validated by fastvr and stay on their device (outputs follow inputs).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import array_api_compat
import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # missing, or older than 1.6 (no validate_data)
    raise ImportError(
        "fastvr.estimators needs scikit-learn 1.6 or later: pip install 'fastvr[sklearn]'"
    ) from exc

from ._backend import library_of, overflow_quietly, placement_with_state, take_nd, to_numpy
from .classifiers import KNearestNeighbor, LinearSVM, Softmax, TwoLayerNet
from .ops.neighbors import class_counts


@contextlib.contextmanager
def _seeded(random_state: Any) -> Iterator[None]:
    """Run with numpy's global random state seeded by ``random_state``, then restore it.

    fastvr draws from the global state (the course's contract); an estimator's
    ``random_state`` must not leak into or depend on the caller's global state.
    """
    if random_state is None:
        yield
        return
    saved = np.random.get_state()
    if isinstance(random_state, np.random.RandomState):
        np.random.set_state(random_state.get_state())
    else:
        np.random.seed(random_state)
    try:
        yield
    finally:
        np.random.set_state(saved)


def _off_host(x: Any) -> bool:
    """An array of a non-numpy array-API library (CuPy, ...): kept where it lives."""
    return array_api_compat.is_array_api_obj(x) and not array_api_compat.is_numpy_array(x)


class _FastvrClassifier(ClassifierMixin, BaseEstimator):
    """Shared validation, label encoding and hand-back for the estimators below."""

    def _validate(self, X: Any, y: Any = None, *, reset: bool) -> tuple[Any, Any]:
        if _off_host(X):  # fastvr checks it, on its device
            return X, y
        named = "X" if y is None else "X, y"
        try:  # quietly: scikit-learn's finite check sums X, and inf + -inf warns on the way
            with np.errstate(over="ignore", invalid="ignore"):
                if y is None:
                    return validate_data(self, X, reset=reset, dtype=[np.float64, np.float32]), None
                return validate_data(self, X, y, reset=reset, dtype=[np.float64, np.float32])
        except (ValueError, TypeError) as exc:  # scikit-learn's words do not always say which
            if type(exc) not in (ValueError, TypeError) or re.search(r"\b[Xy]\b", str(exc)):
                raise
            raise type(exc)(f"{named}: {exc}") from None

    def _encode(self, y: Any) -> Any:
        """Labels as codes 0..n_classes-1 (``classes_`` keeps the values), where ``y`` lives."""
        host = to_numpy(y) if _off_host(y) else y
        check_classification_targets(host)
        self.classes_, codes = np.unique(np.asarray(host), return_inverse=True)
        codes = codes.astype(np.int64)
        if _off_host(y):  # one small copy back: the labels stay on their device
            xp = array_api_compat.array_namespace(y)
            return xp.asarray(codes, device=array_api_compat.device(y))
        return codes

    def _decode(self, codes: Any) -> Any:
        if library_of(codes) == "numpy":
            return self.classes_[np.asarray(codes)]
        if self.classes_.dtype.kind not in "biuf":  # e.g. strings: only numpy can hold them
            return self.classes_[to_numpy(codes)]
        xp = array_api_compat.array_namespace(codes)
        return xp.take(xp.asarray(self.classes_, device=array_api_compat.device(codes)), codes)

    def predict(self, X: Any) -> Any:
        """Predicted labels (values of ``classes_``)."""
        check_is_fitted(self)
        X, _ = self._validate(X, reset=False)
        return self._decode(self._predict_codes(X))


class KNNClassifier(_FastvrClassifier):
    """k-nearest neighbours (fastvr's streaming k-NN: ties by lower training index, votes to
    the smaller class).

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.estimators import KNNClassifier
    >>> knn = KNNClassifier(n_neighbors=1).fit([[0.0], [1.0]], ["cat", "dog"])
    >>> knn.predict([[0.2], [0.9]]).tolist()
    ['cat', 'dog']
    """

    def __init__(
        self, n_neighbors: int = 5, metric: str = "l2", working_memory: float | None = None
    ) -> None:
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.working_memory = working_memory

    def fit(self, X: Any, y: Any) -> KNNClassifier:
        """Memorise ``X`` (N, D) and labels ``y`` (any values)."""
        X, y = self._validate(X, y, reset=True)
        model = KNearestNeighbor(metric=self.metric, working_memory=self.working_memory)
        model.train(X, self._encode(y))
        self.model_ = model
        return self

    def _n_neighbors(self) -> Any:
        """``n_neighbors``, with scikit-learn's message when it exceeds the training set."""
        k, n_fit = self.n_neighbors, self.model_.y_train.shape[0]
        if isinstance(k, (int, np.integer)) and k > n_fit:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, "
                f"n_samples_fit = {n_fit}, n_samples = {n_fit}"
            )
        return k

    def _predict_codes(self, X: Any) -> Any:
        # The model was trained on the codes, so its own vote is the code to decode.
        return self.model_.predict(X, k=self._n_neighbors())

    def predict_proba(self, X: Any) -> Any:
        """Fraction of the ``n_neighbors`` neighbours in each class (columns: ``classes_``)."""
        check_is_fitted(self)
        X, _ = self._validate(X, reset=False)
        k = self._n_neighbors()
        codes = self.model_.y_train  # the encoded labels, on the fitted device
        # Query with X already on that device, so the indices come back there, not via the host.
        _, idx = self.model_.kneighbors(placement_with_state(X, state=(codes,)).put(X), k=k)
        xp = array_api_compat.array_namespace(codes)
        counts = class_counts(take_nd(codes, idx, xp=xp), len(self.classes_), xp=xp)
        return self._follow(X, xp.astype(counts, xp.float64) / k)

    @staticmethod
    def _follow(X: Any, result: Any) -> Any:
        """``result`` in ``X``'s array type (numpy in, numpy out)."""
        return to_numpy(result) if library_of(X) == "numpy" else result


@overflow_quietly  # scores beyond float range: NaN probabilities, as predict gives NaN scores
def _softmax(scores: Any) -> Any:
    xp = array_api_compat.array_namespace(scores)
    shifted = scores - xp.max(scores, axis=1, keepdims=True)
    exp = xp.exp(shifted)
    return exp / xp.sum(exp, axis=1, keepdims=True)


class _LinearEstimator(_FastvrClassifier):
    _model_class: type = LinearSVM

    def __init__(
        self,
        learning_rate: float = 1e-2,
        reg: float = 1e-5,
        num_iters: int = 1000,
        batch_size: int = 200,
        fit_intercept: bool = True,
        random_state: Any = None,
    ) -> None:
        self.learning_rate = learning_rate
        self.reg = reg
        self.num_iters = num_iters
        self.batch_size = batch_size
        self.fit_intercept = fit_intercept
        self.random_state = random_state

    def _design(self, X: Any) -> Any:
        if not self.fit_intercept:
            return X
        xp = array_api_compat.array_namespace(X)
        ones = xp.ones((X.shape[0], 1), dtype=X.dtype, device=array_api_compat.device(X))
        return xp.concat([X, ones], axis=1)  # the course's bias trick

    def fit(self, X: Any, y: Any) -> _LinearEstimator:
        """Train on ``X`` (N, D) and labels ``y`` (any values); ``loss_history_`` is kept."""
        X, y = self._validate(X, y, reset=True)
        codes = self._encode(y)
        model = self._model_class()
        with _seeded(self.random_state):
            self.loss_history_ = model.train(
                self._design(X),
                codes,
                learning_rate=self.learning_rate,
                reg=self.reg,
                num_iters=self.num_iters,
                batch_size=self.batch_size,
            )
        self.model_ = model
        return self

    def _scores(self, X: Any, finish: Any) -> Any:
        """``finish(X @ W)`` computed where the weights live, handed back like ``X``."""
        check_is_fitted(self)
        X, _ = self._validate(X, reset=False)
        place = placement_with_state(X, state=(self.model_.W,))
        with place.active():
            W = place.put(self.model_.W)
            scores = place.xp.astype(place.put(self._design(X)), W.dtype) @ W
            return place.give_back(finish(scores))

    def decision_function(self, X: Any) -> Any:
        """Class scores ``X @ W``: (N, n_classes), or (N,) for two classes (positive minus
        negative, scikit-learn's convention)."""
        return self._scores(X, lambda s: s[:, 1] - s[:, 0] if s.shape[1] == 2 else s)

    def _predict_codes(self, X: Any) -> Any:
        return self.model_.predict(self._design(X))


class LinearSVMClassifier(_LinearEstimator):
    """Multiclass linear SVM (the course's hinge loss) trained by minibatch SGD.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.estimators import LinearSVMClassifier
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    >>> clf = LinearSVMClassifier(random_state=0).fit(X, [0, 0, 1, 1])
    >>> clf.score(X, [0, 0, 1, 1])
    1.0
    """

    _model_class = LinearSVM


class SoftmaxClassifier(_LinearEstimator):
    """Softmax (multinomial logistic) regression trained by minibatch SGD.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.estimators import SoftmaxClassifier
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    >>> clf = SoftmaxClassifier(random_state=0).fit(X, ["a", "a", "b", "b"])
    >>> clf.predict(X).tolist(), clf.predict_proba(X).shape
    (['a', 'a', 'b', 'b'], (4, 2))
    """

    _model_class = Softmax

    def predict_proba(self, X: Any) -> Any:
        """Softmax of the class scores (columns: ``classes_``)."""
        return self._scores(X, _softmax)


class TwoLayerNetClassifier(_FastvrClassifier):
    """The course's two-layer ReLU network with a softmax loss, trained by minibatch SGD.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.estimators import TwoLayerNetClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 0.3, (20, 2)), rng.normal(3, 0.3, (20, 2))])
    >>> y = np.repeat([0, 1], 20)
    >>> clf = TwoLayerNetClassifier(hidden_size=8, num_iters=200, random_state=0).fit(X, y)
    >>> clf.score(X, y)
    1.0
    """

    def __init__(
        self,
        hidden_size: int = 100,
        std: float = 1e-2,
        learning_rate: float = 1e-1,
        learning_rate_decay: float = 0.99,
        reg: float = 1e-4,
        num_iters: int = 1000,
        batch_size: int = 200,
        random_state: Any = None,
    ) -> None:
        self.hidden_size = hidden_size
        self.std = std
        self.learning_rate = learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.reg = reg
        self.num_iters = num_iters
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> TwoLayerNetClassifier:
        """Train on ``X`` (N, D) and labels ``y`` (any values); ``history_`` is kept."""
        X, y = self._validate(X, y, reset=True)
        codes = self._encode(y)
        with _seeded(self.random_state):
            net = TwoLayerNet(X.shape[1], self.hidden_size, len(self.classes_), std=self.std)
            self.history_ = net.train(
                X,
                codes,
                X,
                codes,
                learning_rate=self.learning_rate,
                learning_rate_decay=self.learning_rate_decay,
                reg=self.reg,
                num_iters=self.num_iters,
                batch_size=self.batch_size,
            )
        self.model_ = net
        return self

    def _predict_codes(self, X: Any) -> Any:
        return self.model_.predict(X)

    def predict_proba(self, X: Any) -> Any:
        """Softmax of the network's scores (columns: ``classes_``)."""
        check_is_fitted(self)
        X, _ = self._validate(X, reset=False)
        return _softmax(self.model_.loss(X))
