"""The course's ``TwoLayerNet`` (affine - ReLU - affine - softmax) on any backend."""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

from .._backend import Placement, placement_with_state, rows_for_gathers, take_rows, to_numpy
from .._training import gather_floats, minibatches, warn_if_diverged
from .._validation import (
    check_batch,
    check_feature_count,
    check_finite,
    check_fits,
    check_flag,
    check_int,
    check_labels,
    check_real,
    check_same_features,
    check_samples,
)
from ..ops.nets import two_layer_loss, two_layer_scores
from ._loss_api import check_labels_fit_weights

PARAM_NAMES = ("W1", "b1", "W2", "b2")


class TwoLayerNet:
    """A two-layer fully connected network with ReLU and a softmax loss (the course's API).

    ``input - fully connected - ReLU - fully connected - softmax``. The weights are drawn
    with ``std * np.random.randn`` from numpy's global random state, ``W1`` before ``W2``,
    and the biases are zero, so a seeded notebook gets the course's numbers.

    Parameters
    ----------
    input_size : int
        D, the dimension of the input data.
    hidden_size : int
        H, the number of neurons in the hidden layer.
    output_size : int
        C, the number of classes.
    std : float
        Scale of the initial weights.

    Attributes
    ----------
    params : dict
        ``W1`` (D, H), ``b1`` (H,), ``W2`` (H, C), ``b2`` (C,). They start as numpy arrays;
        training on the ``"cupy"`` backend (or on CuPy data) moves them to the GPU, where they
        stay. :meth:`to_numpy` returns host copies. A subclass that defines its own
        :meth:`loss` is handed the arrays it was given: numpy data trains on the host.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.classifiers.neural_net import TwoLayerNet
    >>> np.random.seed(0)
    >>> net = TwoLayerNet(4, 10, 3, std=1e-1)
    >>> np.random.seed(1)
    >>> X, y = 10 * np.random.randn(5, 4), np.array([0, 1, 2, 2, 1])
    >>> loss, grads = net.loss(X, y, reg=0.05)
    >>> round(loss, 11)  # the course notebook's value
    1.30378789133
    """

    def __init__(
        self, input_size: int, hidden_size: int, output_size: int, std: float = 1e-4
    ) -> None:
        input_size = check_int(input_size, "input_size", low=1)
        hidden_size = check_int(hidden_size, "hidden_size", low=1)
        output_size = check_int(output_size, "output_size", low=1)
        std = check_real(std, "std")
        if std <= 0:
            raise ValueError(f"std must be positive; got {std}")
        weights = hidden_size * (input_size + output_size)
        check_fits(8 * weights, f"input_size x hidden_size x output_size weights ({weights:,})")
        self.params: dict[str, Any] = {}
        self.params["W1"] = std * np.random.randn(input_size, hidden_size)
        self.params["b1"] = np.zeros(hidden_size)
        self.params["W2"] = std * np.random.randn(hidden_size, output_size)
        self.params["b2"] = np.zeros(output_size)

    def loss(self, X: Any, y: Any = None, reg: float = 0.0) -> Any:
        """Scores, or the loss and gradients, for a minibatch.

        Parameters
        ----------
        X : array (N, D)
        y : array (N,), optional
            Integer labels. Without them the scores are returned.
        reg : float
            Regularisation strength: the loss adds ``reg * (sum(W1²) + sum(W2²))``.

        Returns
        -------
        scores : array (N, C)
            When ``y`` is None.
        loss, grads : float, dict
            Otherwise: mean cross-entropy plus the regulariser, and the gradient of every
            entry of ``params`` (in the caller's array type).
        """
        # NaN/inf in X always reaches the scores, so X is checked only when they are not
        # finite: no extra pass over a large X on the normal path.
        place, X, params = self._prepare(X, finite=False)
        xp = place.xp
        with place.active():
            if y is None:
                scores = two_layer_scores(X, params, xp=xp)
                if not bool(xp.all(xp.isfinite(scores))):
                    check_finite(X, "X", xp=xp)
                return place.give_back(scores)
            y = check_labels(y, "y", X.shape[0], place)
            check_labels_fit_weights(y, params["W2"].shape[1], xp=xp)
            reg = check_real(reg, "reg", low=0.0)
            with np.errstate(all="ignore"):  # bad X is reported below, not as a numpy warning
                loss, grads = two_layer_loss(X, y, params, reg, xp=xp)
            loss = float(loss)
            if not math.isfinite(loss):
                check_finite(X, "X", xp=xp)
            return loss, {k: place.give_back(v) for k, v in grads.items()}

    def train(
        self,
        X: Any,
        y: Any,
        X_val: Any,
        y_val: Any,
        learning_rate: float = 1e-3,
        learning_rate_decay: float = 0.95,
        reg: float = 5e-6,
        num_iters: int = 100,
        batch_size: int = 200,
        verbose: bool = False,
    ) -> dict[str, list[float]]:
        """Train with minibatch SGD and a learning rate that decays once per epoch.

        With ``iterations_per_epoch = max(num_train / batch_size, 1)``, whenever
        ``it % iterations_per_epoch == 0`` (so also at ``it == 0``) the accuracy on the current
        minibatch and on the validation set is recorded and the learning rate is multiplied
        by ``learning_rate_decay``, exactly as in the course.

        Returns
        -------
        dict
            ``loss_history``, ``train_acc_history``, ``val_acc_history``: lists of floats.

        Examples
        --------
        >>> import numpy as np
        >>> from fastvr.classifiers.neural_net import TwoLayerNet
        >>> np.random.seed(1)  # the notebook's order: toy data, then a fresh toy model
        >>> X, y = 10 * np.random.randn(5, 4), np.array([0, 1, 2, 2, 1])
        >>> np.random.seed(0)
        >>> net = TwoLayerNet(4, 10, 3, std=1e-1)
        >>> stats = net.train(X, y, X, y, learning_rate=1e-1, reg=5e-6, num_iters=100)
        >>> stats["loss_history"][-1]  # the notebook prints 0.017149607938732093
        0.017149607938732093
        """
        learning_rate = check_real(learning_rate, "learning_rate")
        learning_rate_decay = check_real(learning_rate_decay, "learning_rate_decay")
        reg = check_real(reg, "reg", low=0.0)
        num_iters = check_int(num_iters, "num_iters", low=0)
        batch_size = check_int(batch_size, "batch_size", low=1)
        verbose = check_flag(verbose, "verbose")
        place, X, params = self._prepare(X, y, X_val, y_val, products=False)
        check_batch(batch_size, X.shape[1] + params["W1"].shape[1], 8)
        xp = place.xp
        y = check_labels(y, "y", X.shape[0], place)
        X_val = check_samples(X_val, "X_val", place)
        check_same_features(X_val, X, "X_val", "X")
        y_val = check_labels(y_val, "y_val", X_val.shape[0], place)
        outputs = params["W2"].shape[1]
        for name, labels in (("y", y), ("y_val", y_val)):
            check_labels_fit_weights(
                labels, outputs, xp=xp, name=name, holder="the network has {} outputs"
            )
        for name, value in params.items():
            check_finite(value, name, xp=xp)

        num_train = X.shape[0]
        iterations_per_epoch = max(num_train / batch_size, 1)
        initial_rate = learning_rate
        losses, train_acc, val_acc = [], [], []
        with place.active():
            self.params.update(params)  # on the compute device from now on
            step = self._step(xp)
            with np.errstate(over="ignore", invalid="ignore"):  # one clear warning instead
                draw_all = self._uses_builtin_loss()
                batches = minibatches(place, num_train, batch_size, num_iters, draw_all=draw_all)
                X = rows_for_gathers(X, num_iters * batch_size, xp=xp)
                for it, rows in enumerate(batches):
                    X_batch, y_batch = take_rows(X, rows, xp=xp), take_rows(y, rows, xp=xp)
                    loss, grads = step(X_batch, y_batch, reg)
                    losses.append(loss)
                    for name in PARAM_NAMES:
                        self.params[name] -= learning_rate * grads[name]
                    if verbose and it % 100 == 0:
                        print(f"iteration {it} / {num_iters}: loss {float(loss):f}")
                    if it % iterations_per_epoch == 0:
                        train_acc.append(self._accuracy(X_batch, y_batch, xp))
                        val_acc.append(self._accuracy(X_val, y_val, xp))
                        learning_rate *= learning_rate_decay
            stats = {
                "loss_history": gather_floats(losses, xp),
                "train_acc_history": gather_floats(train_acc, xp),
                "val_acc_history": gather_floats(val_acc, xp),
            }
        warn_if_diverged(stats["loss_history"], initial_rate)
        return stats

    def predict(self, X: Any) -> Any:
        """Labels ``argmax`` of the scores for ``X`` (N, D), in the caller's array type."""
        if not self._uses_builtin_loss():  # course style: a subclass's loss(X) gives scores
            scores = self.loss(X)
            return array_api_compat.array_namespace(scores).argmax(scores, axis=1)
        place, X, params = self._prepare(X)
        with place.active():
            scores = two_layer_scores(X, params, xp=place.xp)
            return place.give_back(place.xp.argmax(scores, axis=1))

    def to_numpy(self) -> dict[str, np.ndarray]:
        """Host (numpy) copies of ``params``, wherever they live."""
        return {name: np.array(to_numpy(value)) for name, value in self.params.items()}

    # -- helpers -------------------------------------------------------------------------

    def _prepare(
        self, X: Any, *others: Any, finite: bool = True, products: bool = True
    ) -> tuple[Placement, Any, dict]:
        """Placement, validated ``X`` and the parameters placed and cast to ``X``'s dtype
        (``products=False``: X is only gathered row by row, see ``check_samples``)."""
        params = [self.params.get(name) for name in PARAM_NAMES]
        where_given = not self._uses_builtin_loss()  # a subclass's own loss gets what it's given
        place = placement_with_state(X, *others, state=tuple(params), where_given=where_given)
        X = check_samples(X, "X", place, finite=finite, products=products)
        xp = place.xp
        placed = {name: place.put(value) for name, value in zip(PARAM_NAMES, params, strict=True)}
        W1 = placed["W1"]
        check_feature_count(X, "X", W1.shape[0], "W1", unit=" rows")
        if (
            placed["W2"].shape[0] != W1.shape[1]
            or placed["b1"].shape != (W1.shape[1],)
            or placed["b2"].shape != (placed["W2"].shape[1],)
        ):
            raise ValueError(
                "params have inconsistent shapes: "
                + ", ".join(f"{k} {v.shape}" for k, v in placed.items())
            )
        dtype = xp.result_type(X.dtype, *(v.dtype for v in placed.values()))
        placed = {k: xp.astype(v, dtype, copy=False) for k, v in placed.items()}
        return place, xp.astype(X, dtype, copy=False), placed

    def _uses_builtin_loss(self) -> bool:
        return type(self).loss is TwoLayerNet.loss

    def _step(self, xp: Any):
        if self._uses_builtin_loss():
            return lambda Xb, yb, reg: two_layer_loss(Xb, yb, self.params, reg, xp=xp)
        return lambda Xb, yb, reg: self.loss(Xb, y=yb, reg=reg)

    def _accuracy(self, X: Any, y: Any, xp: Any) -> Any:
        """Mean of ``predict(X) == y`` as a 0-d array (gathered with the losses at the end)."""
        if self._uses_builtin_loss():
            scores = two_layer_scores(X, self.params, xp=xp)
        else:
            scores = self.loss(X)  # on device arrays, so it stays on the device
        return xp.mean(xp.astype(xp.argmax(scores, axis=1) == y, xp.float64))
