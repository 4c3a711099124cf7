"""The course's modular networks (2021–2026): ``TwoLayerNet`` and ``FullyConnectedNet``.

``{affine - [batch/layer norm] - ReLU - [dropout]} x (L - 1) - affine - softmax``, trained by
:class:`fastvr.solver.Solver`. Conventions are the course's: weights drawn with
``weight_scale * np.random.randn`` layer by layer (``W1`` before ``W2``, ...), biases zero,
norm scales one and shifts zero; the loss is the mean softmax cross-entropy plus
``0.5 * reg * Σ W²`` over the weight matrices only (``reg`` is an attribute:
``model.reg = 1.0``). ``loss(X)`` gives scores, ``loss(X, y)`` the loss and the gradient of
every parameter. ``from fastvr.classifiers.fc_net import *`` also brings every function of
:mod:`fastvr.layers` and :mod:`fastvr.layer_utils`, as the course's module does.

The math is :mod:`fastvr.ops.nets`, on any backend: CuPy inputs compute on the GPU, and
parameters that training put on a device stay there (``to_numpy()`` gives host copies).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import layer_utils, layers
from .._backend import Placement, placement_with_state, to_numpy
from .._validation import check_fits, check_int, check_labels, check_real, check_samples
from ..layer_utils import *  # noqa: F403 (the course's star import re-exports them)
from ..layers import *  # noqa: F403
from ..ops import nets
from ..ops.losses import l2_penalty, softmax_cross_entropy
from ..saved import load_params, save_params
from ._loss_api import check_labels_fit_weights

__all__ = [
    "FullyConnectedNet",
    "TwoLayerNet",
    "np",
    *layers.__all__,
    *layer_utils.__all__,
]

NORMALIZATIONS = (None, "batchnorm", "layernorm")


class _FullyConnected:
    """The math both course models share; subclasses set the course's constructor."""

    params: dict[str, Any]
    reg: float
    num_layers: int
    normalization: str | None = None
    use_dropout: bool = False
    dropout_param: dict
    bn_params: list[dict]
    dtype: Any = None  # None: compute in the data's and parameters' common dtype

    def _draw(self, dims: Sequence[int], weight_scale: float) -> None:
        """The course's parameters, drawn from ``np.random`` layer by layer."""
        sizes = sum(dims[i - 1] * dims[i] for i in range(1, len(dims)))
        check_fits(8 * sizes, f"the weights for input_dim, hidden_dims, num_classes = {dims}")
        self.params = {}
        for i in range(1, len(dims)):
            self.params[f"W{i}"] = weight_scale * np.random.randn(dims[i - 1], dims[i])
            self.params[f"b{i}"] = np.zeros(dims[i])
            if self.normalization is not None and i < len(dims) - 1:
                self.params[f"gamma{i}"] = np.ones(dims[i])
                self.params[f"beta{i}"] = np.zeros(dims[i])
        self.num_layers = len(dims) - 1

    # -- the public course API -----------------------------------------------------------

    def loss(self, X: Any, y: Any = None) -> Any:
        """Scores for ``X``, or the loss and gradients when labels ``y`` are given.

        Parameters
        ----------
        X : array (N, d_1, ..., d_k)
            Inputs, each flattened to ``input_dim`` values.
        y : array (N,), optional
            Integer labels ``0 <= y[i] < num_classes``.

        Returns
        -------
        scores : array (N, C)
            When ``y`` is None (test mode: batch norm uses its running averages, dropout
            keeps every unit).
        loss, grads : float, dict
            Otherwise: data loss plus ``0.5 * reg * Σ W²`` and a gradient for every entry of
            ``params``, in the caller's array type.
        """
        place, X, params = self._prepare(X)
        xp = place.xp
        # X and the parameters are finite (checked); what overflows is reported below
        with place.active(), np.errstate(over="ignore", invalid="ignore"):
            if y is None:
                return place.give_back(self._scores(X, params, xp=xp))
            y = check_labels(y, "y", X.shape[0], place)
            check_labels_fit_weights(
                y, self._num_classes(), xp=xp, holder="the network has {} outputs"
            )
            loss, grads = self._loss_and_grads(X, y, params, xp=xp)
            loss = float(loss)
        if not math.isfinite(loss):
            raise ValueError(
                "the loss is not finite: X or the parameters hold NaN or infinity, or the "
                "scores overflowed"
            )
        return loss, {name: place.give_back(g) for name, g in grads.items()}

    def save(self, fname: str) -> None:
        """Save ``params`` as ``fname`` in the course's format (see :mod:`fastvr.saved`)."""
        save_params(fname, self.params)

    def load(self, fname: str) -> bool:
        """Load ``params`` saved as ``fname``; False (and the course's line) if it is missing.

        The file must hold this network's parameters: the same names and shapes, floating
        values (cast to the network's dtype); otherwise a ``ValueError`` says what differs
        and the network is unchanged.
        """
        params = load_params(fname, self.params, model=type(self).__name__)
        if params is None:
            return False
        self.params = params
        return True

    def to_numpy(self) -> dict[str, np.ndarray]:
        """Host (numpy) copies of ``params``, wherever they live."""
        return {name: np.array(to_numpy(value)) for name, value in self.params.items()}

    # -- the math, on placed arrays (the Solver calls these directly) ---------------------

    def _num_classes(self) -> int:
        return int(self.params[f"W{self.num_layers}"].shape[1])

    def _prepare(self, X: Any) -> tuple[Placement, Any, dict]:
        """Placement, ``X`` as (N, D) in the computing dtype, and the parameters placed."""
        params = self.params
        place = placement_with_state(X, state=tuple(params.values()))
        X = check_samples(X, "X", place, ndim=max(getattr(X, "ndim", 2), 2))
        xp = place.xp
        if X.ndim != 2:
            X = xp.reshape(X, (X.shape[0], -1))
        dim = params["W1"].shape[0]
        if X.shape[1] != dim:
            raise ValueError(f"X has {X.shape[1]} values per sample but W1 has {dim} rows")
        check_real(self.reg, "reg", low=0.0)
        if place.library != "numpy" or any(type(v) is not np.ndarray for v in params.values()):
            params = {name: place.put(value) for name, value in params.items()}
        dtype = self._compute_dtype(X, params, xp)
        if X.dtype == dtype and all(v.dtype == dtype for v in params.values()):
            return place, X, params  # (the common case: astype's wrapper costs 3 us a call)
        # values beyond the computing dtype's range become inf: the loss then names X
        with np.errstate(over="ignore"):
            params = {k: v if v.dtype == dtype else xp.astype(v, dtype) for k, v in params.items()}
            return place, X if X.dtype == dtype else xp.astype(X, dtype), params

    def _compute_dtype(self, X: Any, params: dict, xp: Any) -> Any:
        if self.dtype is not None:
            return getattr(xp, _dtype_name(self.dtype))
        return xp.result_type(X.dtype, *(v.dtype for v in params.values()))

    def _forward(self, X: Any, params: dict, mode: str, *, xp: Any) -> tuple[Any, list, list]:
        """Scores, the input of every affine layer and the caches of every hidden layer
        (``X`` already flat and placed)."""
        hidden, inputs, caches = X, [], []
        for i in range(1, self.num_layers):
            inputs.append(hidden)
            hidden, _ = nets.affine_forward(hidden, params[f"W{i}"], params[f"b{i}"], xp=xp)
            norm_cache = None
            if self.normalization == "batchnorm":
                self.bn_params[i - 1]["mode"] = mode
                hidden, norm_cache = layers.batchnorm_step(
                    hidden, params[f"gamma{i}"], params[f"beta{i}"], self.bn_params[i - 1], xp=xp
                )
            elif self.normalization == "layernorm":
                hidden, norm_cache = layers.layernorm_step(
                    hidden, params[f"gamma{i}"], params[f"beta{i}"], self.bn_params[i - 1], xp=xp
                )
            hidden, relu_out = nets.relu_forward(hidden, xp=xp, overwrite=True)  # our own
            drop_cache = None
            if self.use_dropout:
                self.dropout_param["mode"] = mode
                hidden, drop_cache = layers.dropout_step(hidden, self.dropout_param, xp=xp)
            caches.append((norm_cache, relu_out, drop_cache))
        inputs.append(hidden)
        last = self.num_layers
        scores, _ = nets.affine_forward(hidden, params[f"W{last}"], params[f"b{last}"], xp=xp)
        return scores, inputs, caches

    def _scores(self, X: Any, params: dict, *, xp: Any) -> Any:
        return self._forward(X, params, "test", xp=xp)[0]

    def _loss_and_grads(self, X: Any, y: Any, params: dict, *, xp: Any) -> tuple[Any, dict]:
        """Loss (a 0-d array: no host synchronisation) and gradients, on placed arrays."""
        scores, inputs, caches = self._forward(X, params, "train", xp=xp)
        loss, dout = softmax_cross_entropy(scores, y, xp=xp)
        grads = {}
        for i in range(self.num_layers, 0, -1):
            W = params[f"W{i}"]
            dW = inputs[i - 1].T @ dout
            if self.reg:
                dW += self.reg * W
                loss = loss + l2_penalty(W, 0.5 * self.reg, xp=xp)
            grads[f"W{i}"], grads[f"b{i}"] = dW, nets.column_sums(dout, xp=xp)
            if i == 1:
                break  # the input's own gradient is never needed
            dout = dout @ W.T
            norm_cache, relu_out, drop_cache = caches[i - 2]
            if drop_cache is not None:
                dout = nets.dropout_backward(dout, drop_cache[1])
            dout = nets.relu_backward(dout, relu_out, xp=xp)
            if norm_cache is not None:
                dout, grads[f"gamma{i - 1}"], grads[f"beta{i - 1}"] = nets.normalize_backward(
                    dout, norm_cache, xp=xp
                )
        return loss, grads


class TwoLayerNet(_FullyConnected):
    """affine - ReLU - affine - softmax, with the course's modular API (2021–2026).

    Parameters
    ----------
    input_dim, hidden_dim, num_classes : int
        D, H and C.
    weight_scale : float
        Standard deviation of the initial weights (``weight_scale * np.random.randn``).
    reg : float
        L2 strength; the loss adds ``0.5 * reg * (Σ W1² + Σ W2²)``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.classifiers.fc_net import TwoLayerNet
    >>> np.random.seed(0)
    >>> model = TwoLayerNet(input_dim=6, hidden_dim=4, num_classes=3)
    >>> sorted(model.params), model.params["W1"].shape
    (['W1', 'W2', 'b1', 'b2'], (6, 4))
    >>> scores = model.loss(np.zeros((2, 6)))
    >>> scores.shape
    (2, 3)
    """

    def __init__(
        self,
        input_dim: int = 3 * 32 * 32,
        hidden_dim: int = 100,
        num_classes: int = 10,
        weight_scale: float = 1e-3,
        reg: float = 0.0,
    ) -> None:
        dims = [
            check_int(input_dim, "input_dim", low=1),
            check_int(hidden_dim, "hidden_dim", low=1),
            check_int(num_classes, "num_classes", low=1),
        ]
        weight_scale = check_real(weight_scale, "weight_scale", low=0.0)
        self.reg = check_real(reg, "reg", low=0.0)
        self._draw(dims, weight_scale)


@functools.cache
def _dtype_name(dtype: Any) -> str:
    return np.dtype(dtype).name  # 5 us a call uncached, once per loss call


class FullyConnectedNet(_FullyConnected):
    """A fully connected network of any depth, with optional batch/layer norm and dropout.

    Parameters
    ----------
    hidden_dims : list of int
        The size of each hidden layer.
    input_dim, num_classes : int
    dropout_keep_ratio : float
        Probability of keeping a unit, in (0, 1]; 1 means no dropout.
    normalization : {None, "batchnorm", "layernorm"}
    reg : float
        L2 strength (``0.5 * reg * Σ W²``).
    weight_scale : float
        Standard deviation of the initial weights.
    dtype : numpy dtype
        Parameters and inputs are cast to it (float64 for gradient checks).
    seed : int, optional
        Makes dropout deterministic (reseeds ``np.random`` at every dropout layer, as the
        course does).

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.classifiers.fc_net import FullyConnectedNet
    >>> np.random.seed(231)
    >>> X, y = np.random.randn(2, 15), np.random.randint(10, size=(2,))
    >>> model = FullyConnectedNet([20, 30], input_dim=15, weight_scale=5e-2, dtype=np.float64)
    >>> loss, grads = model.loss(X, y)
    >>> loss  # the course notebook's "Initial loss"
    2.3004790897684924
    """

    def __init__(
        self,
        hidden_dims: Sequence[int],
        input_dim: int = 3 * 32 * 32,
        num_classes: int = 10,
        dropout_keep_ratio: float = 1,
        normalization: str | None = None,
        reg: float = 0.0,
        weight_scale: float = 1e-2,
        dtype: Any = np.float32,
        seed: int | None = None,
    ) -> None:
        if isinstance(hidden_dims, (str, bytes)) or not isinstance(hidden_dims, Sequence):
            raise TypeError(f"hidden_dims must be a list of ints; got {hidden_dims!r}")
        dims = [
            check_int(input_dim, "input_dim", low=1),
            *(check_int(h, f"hidden_dims[{i}]", low=1) for i, h in enumerate(hidden_dims)),
            check_int(num_classes, "num_classes", low=1),
        ]
        keep = check_real(dropout_keep_ratio, "dropout_keep_ratio")
        if not 0 < keep <= 1:
            raise ValueError(f"dropout_keep_ratio must be in (0, 1]; got {keep}")
        if not (normalization is None or isinstance(normalization, str)) or (
            normalization not in NORMALIZATIONS
        ):
            raise ValueError(
                f"normalization must be None, 'batchnorm' or 'layernorm'; got {normalization!r}"
            )
        try:
            floating = np.issubdtype(np.dtype(dtype), np.floating)
        except TypeError:  # not a dtype at all ('', 'abc', 3)
            floating = False
        if not floating:
            raise TypeError(f"dtype must be a floating dtype; got {dtype!r}")
        weight_scale = check_real(weight_scale, "weight_scale", low=0.0)
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = check_real(reg, "reg", low=0.0)
        self.dtype = dtype
        self._draw(dims, weight_scale)
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = []
        if normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        if normalization == "layernorm":
            self.bn_params = [{} for _ in range(self.num_layers - 1)]
        self.params = {name: value.astype(dtype) for name, value in self.params.items()}
