"""The course's ``LinearClassifier``, ``LinearSVM`` and ``Softmax`` on any backend."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._backend import Placement, library_of, placement_with_state, rows_for_gathers, take_rows
from .._training import gather_floats, minibatches, warn_if_diverged
from .._validation import (
    check_batch,
    check_class_count,
    check_feature_count,
    check_finite,
    check_flag,
    check_int,
    check_labels,
    check_real,
    check_samples,
)
from ..ops.losses import hinge_loss, linear_loss, softmax_cross_entropy
from ..saved import Slot, load_params, save_params
from ._loss_api import check_labels_fit_weights
from .linear_svm import svm_loss_vectorized
from .softmax import softmax_loss_vectorized


class LinearClassifier:
    """A linear classifier ``scores = X @ W`` trained by minibatch SGD (the course's API).

    ``W`` is ``None`` until the first :meth:`train`, which draws
    ``W = 0.001 * np.random.randn(dim, num_classes)`` from numpy's global random state and
    samples each minibatch with ``np.random.choice(num_train, batch_size)`` (with
    replacement), so a seeded run gives the course's numbers. The bias trick (a column of
    ones in ``X``) is the caller's. Subclasses implement :meth:`loss`.

    On the ``"cupy"`` backend (or with CuPy inputs) ``W`` lives on the GPU; the random draws
    are the same host draws, moved to the device. A subclass that defines its own
    :meth:`loss` is handed the library of arrays it was given: numpy data trains on the host
    whatever the backend, so course-style numpy losses keep working on a GPU machine.
    """

    #: the score-level loss of built-in subclasses; ``None`` means "call self.loss"
    _data_loss = None

    def __init__(self) -> None:
        self.W: Any = None

    def train(
        self,
        X: Any,
        y: Any,
        learning_rate: float = 1e-3,
        reg: float = 1e-5,
        num_iters: int = 100,
        batch_size: int = 200,
        verbose: bool = False,
    ) -> list[float]:
        """Train with stochastic gradient descent.

        Parameters
        ----------
        X : array (N, D)
            Training data.
        y : array (N,)
            Integer labels ``0 <= y[i] < C``.
        learning_rate, reg : float
            Step size and regularisation strength.
        num_iters, batch_size : int
            Number of steps, and samples per minibatch (drawn with replacement).
        verbose : bool
            Print ``'iteration %d / %d: loss %f'`` every 100 iterations.

        Returns
        -------
        list of float
            The loss of every iteration. If it stops being finite, one
            :class:`fastvr.DivergenceWarning` names the iteration and the learning rate.

        Examples
        --------
        >>> import numpy as np
        >>> from fastvr.classifiers import LinearSVM
        >>> np.random.seed(0)
        >>> X, y = np.random.randn(50, 4), np.random.randint(0, 3, 50)
        >>> history = LinearSVM().train(X, y, num_iters=20, batch_size=10)
        >>> len(history), type(history[0])
        (20, <class 'float'>)
        """
        learning_rate = check_real(learning_rate, "learning_rate")
        reg = check_real(reg, "reg", low=0.0)
        num_iters = check_int(num_iters, "num_iters", low=0)
        batch_size = check_int(batch_size, "batch_size", low=1)
        place = self._placement(X, y)
        xp = place.xp
        verbose = check_flag(verbose, "verbose")
        X = check_samples(X, "X", place, products=False)  # minibatches are gathered
        check_batch(batch_size, X.shape[1], 8)
        y = check_labels(y, "y", X.shape[0], place)
        num_train = X.shape[0]
        with place.active():
            W = self._initial_weights(X, y, place)
            self.W = W  # a subclass's loss() reads self.W, as in the course
            step = self._step(xp)
            losses = []
            with np.errstate(over="ignore", invalid="ignore"):  # one clear warning instead
                draw_all = self._uses_builtin_loss()
                batches = minibatches(place, num_train, batch_size, num_iters, draw_all=draw_all)
                X = rows_for_gathers(X, num_iters * batch_size, xp=xp)
                for it, rows in enumerate(batches):
                    loss, grad = step(take_rows(X, rows, xp=xp), take_rows(y, rows, xp=xp), reg)
                    losses.append(loss)
                    W -= learning_rate * grad
                    if verbose and it % 100 == 0:
                        print(f"iteration {it} / {num_iters}: loss {float(loss):f}")
            history = gather_floats(losses, xp)
        warn_if_diverged(history, learning_rate)
        return history

    def predict(self, X: Any) -> Any:
        """Labels ``argmax(X @ W)`` for data ``X`` (N, D), in the caller's array type.

        Examples
        --------
        >>> import numpy as np
        >>> from fastvr.classifiers import LinearSVM
        >>> svm = LinearSVM()
        >>> svm.W = np.array([[1.0, -1.0], [0.0, 0.0]])
        >>> svm.predict(np.array([[2.0, 1.0], [-1.0, 1.0]]))
        array([0, 1])
        """
        self._require_weights()
        place = self._placement(X)
        X = check_samples(X, "X", place)
        check_feature_count(X, "X", self.W.shape[0], "W", unit=" rows")
        with place.active():
            xp = place.xp
            W = place.put(self.W)
            X = xp.astype(X, xp.result_type(X.dtype, W.dtype), copy=False)
            with np.errstate(over="ignore", invalid="ignore"):  # huge scores still rank
                return place.give_back(xp.argmax(X @ W, axis=1))

    def save(self, fname: str) -> None:
        """Save ``W`` as ``fname`` in the course's format (2025; see :mod:`fastvr.saved`)."""
        if self.W is None:
            raise RuntimeError(f"this {type(self).__name__} has no W to save: train it first")
        save_params(fname, {"W": self.W})

    def load(self, fname: str) -> bool:
        """Load ``W`` saved as ``fname``; False (and the course's line) if the file is missing.

        The file must hold only ``W``, a non-empty floating matrix (any size: loading replaces
        the classifier); otherwise a ``ValueError`` says what differs and ``W`` is unchanged.
        """
        params = load_params(fname, {"W": Slot((None, None))}, model=type(self).__name__)
        if params is None:
            return False
        self.W = params["W"]
        return True

    def loss(self, X_batch: Any, y_batch: Any, reg: float) -> tuple[Any, Any]:
        """Loss and gradient with respect to ``self.W`` for a minibatch; subclasses define it."""
        raise NotImplementedError(
            "LinearClassifier is abstract: use LinearSVM or Softmax, or override loss()"
        )

    # -- helpers -------------------------------------------------------------------------

    def _builtin_loss(self, loss: Any, X_batch: Any, y_batch: Any, reg: float) -> tuple:
        """``loss(W, X_batch, y_batch, reg)``; a host minibatch for weights on a device is
        moved there, and the gradient comes back to the host, like the minibatch."""
        self._require_weights()
        if library_of(self.W) == "numpy":
            return loss(self.W, X_batch, y_batch, reg)
        place = placement_with_state(X_batch, state=(self.W,))
        X = check_samples(X_batch, "X_batch", place, products=False)
        y = check_labels(y_batch, "y_batch", X.shape[0], place)
        value, dW = loss(self.W, X, y, reg)
        return value, place.give_back(dW)

    def _require_weights(self) -> None:
        if self.W is None:
            raise RuntimeError(f"this {type(self).__name__} is not trained yet: call train first")

    def _placement(self, *arrays: Any) -> Placement:
        """Where to compute: with the weights, if they are already on a device.

        A subclass's own loss() gets the arrays it was given: host data stays on the host.
        """
        where_given = not self._uses_builtin_loss()
        return placement_with_state(*arrays, state=(self.W,), where_given=where_given)

    def _initial_weights(self, X: Any, y: Any, place: Placement) -> Any:
        xp = place.xp
        if self.W is None:
            num_classes = check_class_count(int(xp.max(y)), X.shape[1], 8)  # drawn in float64
            W = 0.001 * np.random.randn(X.shape[1], num_classes)
            return xp.astype(place.put(W), X.dtype)
        W = check_samples(self.W, "W", place, layout="(D, C)", finite=False)
        check_feature_count(
            X, "X", W.shape[0], "W", unit=" rows", hint=" (set W = None to start over)"
        )
        check_labels_fit_weights(y, W.shape[1], xp=xp)
        check_finite(W, "W", xp=xp)
        return xp.astype(W, X.dtype, copy=False)  # trained in place, as the course does

    def _uses_builtin_loss(self) -> bool:
        return self._data_loss is not None and type(self).loss in _BUILTIN_LOSS_METHODS

    def _step(self, xp: Any):
        """The minibatch loss: the backend op directly, or a subclass's own loss()."""
        if self._uses_builtin_loss():
            data_loss = type(self)._data_loss
            return lambda Xb, yb, reg: linear_loss(self.W, Xb, yb, reg, data_loss, xp=xp)
        return self.loss


class LinearSVM(LinearClassifier):
    """A linear classifier trained with the multiclass SVM (hinge) loss.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.classifiers import LinearSVM
    >>> np.random.seed(0)
    >>> X = np.hstack([np.random.randn(40, 3) + np.repeat([[0], [4]], 20, axis=0),
    ...                np.ones((40, 1))])  # the bias trick: a column of ones
    >>> y = np.repeat([0, 1], 20)
    >>> svm = LinearSVM()
    >>> _ = svm.train(X, y, learning_rate=1e-2, num_iters=200, batch_size=20)
    >>> float(np.mean(svm.predict(X) == y))
    1.0
    """

    _data_loss = staticmethod(hinge_loss)

    def loss(self, X_batch: Any, y_batch: Any, reg: float) -> tuple[float, Any]:
        return self._builtin_loss(svm_loss_vectorized, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """A linear classifier trained with the softmax (cross-entropy) loss.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.classifiers import Softmax
    >>> np.random.seed(0)
    >>> X = np.hstack([np.random.randn(40, 3) + np.repeat([[0], [4]], 20, axis=0),
    ...                np.ones((40, 1))])
    >>> y = np.repeat([0, 1], 20)
    >>> softmax = Softmax()
    >>> history = softmax.train(X, y, learning_rate=1e-1, num_iters=200, batch_size=20)
    >>> history[-1] < history[0]
    True
    """

    _data_loss = staticmethod(softmax_cross_entropy)

    def loss(self, X_batch: Any, y_batch: Any, reg: float) -> tuple[float, Any]:
        return self._builtin_loss(softmax_loss_vectorized, X_batch, y_batch, reg)


_BUILTIN_LOSS_METHODS = (LinearSVM.loss, Softmax.loss)
