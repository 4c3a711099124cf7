"""The course's ``layers`` (2021–2026 editions): forward and backward passes, one function each.

Every ``*_forward`` returns ``(out, cache)`` and every ``*_backward`` takes ``(dout, cache)``
and returns the gradients, with the course's shapes and conventions: ``affine_forward``
flattens each input ``(N, d_1, ..., d_k)`` to a row, ``dropout``'s ``p`` is the probability of
*keeping* a unit (inverted dropout), the losses average over the N samples. The math is the
one implementation in :mod:`fastvr.ops` and runs on whatever library the arrays belong to
(numpy in, numpy out; CuPy in, CuPy out). Random numbers come from ``np.random``, as in the
course, so a seeded notebook gets the course's numbers.

Convolution, pooling and spatial normalisation (Assignment 2 material) are not here.

Examples
--------
>>> import numpy as np
>>> from fastvr.layers import affine_forward, relu_forward
>>> out, cache = affine_forward(np.ones((2, 3, 2)), np.ones((6, 4)), np.zeros(4))
>>> relu_forward(out - 7.0)[0]
array([[0., 0., 0., 0.],
       [0., 0., 0., 0.]])
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

from ._backend import float_dtype_for, overflow_quietly
from ._validation import check_array, check_dict, check_finite, check_real, check_shape
from .ops import nets
from .ops.losses import hinge_loss, softmax_cross_entropy

__all__ = [
    "affine_backward",
    "affine_forward",
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "batchnorm_forward",
    "dropout_backward",
    "dropout_forward",
    "layernorm_backward",
    "layernorm_forward",
    "relu_backward",
    "relu_forward",
    "softmax_loss",
    "svm_loss",
]


def _namespace(**arrays: Any) -> Any:
    """The array namespace of the named arguments: ``TypeError`` for one that is not a real
    numeric array or for arrays of two libraries, ``ValueError`` for NaN or infinity."""
    for name, value in arrays.items():
        xp = check_array(value, name)
        if xp.isdtype(value.dtype, "real floating"):
            check_finite(value, name, xp=xp)
    return array_api_compat.array_namespace(*arrays.values())


def _samples(x: Any, layer: str) -> None:
    """Every layer refuses an empty minibatch alike (a mean over no samples is NaN)."""
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"{layer} needs at least one sample; got x of shape {tuple(x.shape)}")


def _cache(cache: Any, size: int, forward: str) -> tuple:
    """The ``cache`` a backward pass was given, if it can be ``forward``'s (a tuple of
    ``size``): a cache from another layer, or none, is a ``TypeError`` naming it."""
    if not isinstance(cache, tuple) or len(cache) != size:
        got = f"a tuple of {len(cache)}" if isinstance(cache, tuple) else type(cache).__name__
        raise TypeError(f"cache must be what {forward} returned (a tuple of {size}); got {got}")
    return cache


def _upstream(dout: Any, shape: tuple, forward: str) -> Any:
    """The namespace of ``dout``, which must have the shape of ``forward``'s output."""
    check_shape(dout, "dout", shape, f"the output of {forward} (from cache)")
    return _namespace(dout=dout)


@overflow_quietly
def affine_forward(x: Any, w: Any, b: Any) -> tuple[Any, tuple]:
    """Fully connected layer: ``out = x.reshape(N, D) @ w + b``.

    Parameters
    ----------
    x : array (N, d_1, ..., d_k)
        A minibatch of N inputs, each flattened to ``D = d_1 * ... * d_k`` values.
    w : array (D, M)
    b : array (M,)

    Returns
    -------
    out : array (N, M)
    cache : tuple
        ``(x, w, b)``.

    Examples
    --------
    >>> import numpy as np
    >>> affine_forward(np.ones((1, 2, 2)), np.eye(4)[:, :2], np.array([0.5, 0.0]))[0]
    array([[1.5, 1. ]])
    """
    xp = _namespace(x=x, w=w, b=b)
    _samples(x, "affine_forward")
    if w.ndim != 2 or b.ndim != 1:
        raise ValueError(
            f"affine_forward takes x (N, d_1, ..., d_k), w (D, M) and b (M,); got x {x.shape}, "
            f"w {w.shape}, b {b.shape}"
        )
    rows = xp.reshape(x, (x.shape[0], math.prod(x.shape[1:])))  # (-1 fails when D = 0)
    if rows.shape[1] != w.shape[0] or b.shape != (w.shape[1],):
        raise ValueError(
            f"affine_forward: x flattens to {rows.shape[1]} values per row, w is {w.shape} and "
            f"b is {b.shape}; expected w (D, M) with D = {rows.shape[1]} and b (M,)"
        )
    out, _ = nets.affine_forward(rows, w, b, xp=xp)
    return out, (x, w, b)


@overflow_quietly
def affine_backward(dout: Any, cache: tuple) -> tuple[Any, Any, Any]:
    """Gradients ``(dx, dw, db)`` of :func:`affine_forward`; ``dx`` has ``x``'s shape.

    Examples
    --------
    >>> import numpy as np
    >>> out, cache = affine_forward(np.ones((1, 2)), np.ones((2, 3)), np.zeros(3))
    >>> [g.shape for g in affine_backward(np.ones((1, 3)), cache)]
    [(1, 2), (2, 3), (3,)]
    """
    x, w, _ = _cache(cache, 3, "affine_forward")
    _namespace(**{"cache's x": x, "cache's w": w})
    if x.ndim < 1 or w.ndim != 2:
        raise ValueError(f"cache holds x {x.shape} and w {w.shape}, not affine_forward's")
    xp = _upstream(dout, (x.shape[0], w.shape[1]), "affine_forward")
    rows = xp.reshape(x, (x.shape[0], math.prod(x.shape[1:])))  # (-1 fails when D = 0)
    dx, dw, db = nets.affine_backward(dout, (rows, w), xp=xp)
    return xp.reshape(dx, x.shape), dw, db


@overflow_quietly
def relu_forward(x: Any) -> tuple[Any, Any]:
    """``max(0, x)``; the cache is ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> relu_forward(np.array([-1.0, 2.0]))[0]
    array([0., 2.])
    """
    xp = _namespace(x=x)
    _samples(x, "relu_forward")
    out, _ = nets.relu_forward(x, xp=xp)
    return out, x


@overflow_quietly
def relu_backward(dout: Any, cache: Any) -> Any:
    """Gradient of ReLU: ``dout`` where the input was positive, else 0.

    Examples
    --------
    >>> import numpy as np
    >>> relu_backward(np.array([5.0, 5.0]), np.array([-1.0, 2.0]))
    array([0., 5.])
    """
    _namespace(cache=cache)
    return nets.relu_backward(dout, cache, xp=_upstream(dout, cache.shape, "relu_forward"))


def _labels(x: Any, y: Any, xp: Any) -> Any:
    if x.ndim != 2 or 0 in x.shape:
        raise ValueError(f"x must be scores (N, C) with N, C >= 1; got shape {x.shape}")
    if y.shape != (x.shape[0],) or not xp.isdtype(y.dtype, "integral"):
        raise ValueError(
            f"y must be {x.shape[0]} integer labels, one per row of x {x.shape}; got "
            f"{y.dtype} {y.shape}"
        )
    if bool(xp.any((y < 0) | (y >= x.shape[1]))):
        raise ValueError(
            f"y must hold labels 0..{x.shape[1] - 1} for the {x.shape[1]} classes of x"
        )
    return y


@overflow_quietly
def softmax_loss(x: Any, y: Any) -> tuple[float, Any]:
    """Mean softmax cross-entropy of scores ``x`` (N, C) for labels ``y`` (N,), and dx.

    Examples
    --------
    >>> import numpy as np
    >>> loss, dx = softmax_loss(np.zeros((2, 4)), np.array([0, 3]))
    >>> round(loss, 6) == round(float(np.log(4)), 6)
    True
    """
    xp = _namespace(x=x, y=y)
    _samples(x, "softmax_loss")
    x = xp.astype(x, float_dtype_for(x.dtype, xp=xp), copy=False)  # integer scores: no wrap
    loss, dx = softmax_cross_entropy(x, _labels(x, y, xp), xp=xp)
    return float(loss), dx


@overflow_quietly
def svm_loss(x: Any, y: Any) -> tuple[float, Any]:
    """Mean multiclass hinge loss (margin 1) of scores ``x`` (N, C) for labels ``y``, and dx.

    Examples
    --------
    >>> import numpy as np
    >>> svm_loss(np.array([[3.0, 1.0, 2.5]]), np.array([0]))[0]
    0.5
    """
    xp = _namespace(x=x, y=y)
    _samples(x, "svm_loss")
    x = xp.astype(x, float_dtype_for(x.dtype, xp=xp), copy=False)  # integer scores: no wrap
    loss, dx = hinge_loss(x, _labels(x, y, xp), xp=xp)
    return float(loss), dx


def _mode(param: dict, layer: str, name: str) -> str:
    mode = param["mode"]
    if not isinstance(mode, str) or mode not in ("train", "test"):
        raise ValueError(f'Invalid forward {layer} mode "{mode}" ({name}["mode"])')
    return mode


def _check_eps(param: dict, name: str) -> None:
    """``param["eps"]``, when given, must be positive: with a zero variance (a constant
    feature, or running statistics still at zero) ``eps = 0`` divides by zero."""
    if "eps" in param and check_real(param["eps"], f"{name}['eps']") <= 0:
        raise ValueError(f"{name}['eps'] must be positive; got {param['eps']}")


def _check_bn_param(bn_param: Any, x: Any) -> None:
    """``bn_param`` as :func:`batchnorm_forward` documents it, checked before it is updated."""
    _mode(check_dict(bn_param, "bn_param", required=("mode",)), "batchnorm", "bn_param")
    _check_eps(bn_param, "bn_param")
    check_real(bn_param.get("momentum", 0.9), "bn_param['momentum']")
    for key in ("running_mean", "running_var"):
        if key in bn_param:
            check_shape(bn_param[key], f"bn_param['{key}']", (x.shape[1],), "x's feature count")
            _namespace(**{f"bn_param['{key}']": bn_param[key]})


def _norm_args(x: Any, gamma: Any, beta: Any, layer: str) -> Any:
    """The namespace, after checking x (N, D) and the per-feature gamma and beta (D,)."""
    xp = _namespace(x=x, gamma=gamma, beta=beta)
    _samples(x, layer)
    if x.ndim != 2 or 0 in x.shape:
        raise ValueError(f"x must be (N, D) with N, D >= 1; got shape {x.shape}")
    for name, value in (("gamma", gamma), ("beta", beta)):
        if value.shape != (x.shape[1],):
            raise ValueError(
                f"{name} must have shape ({x.shape[1]},) for x of shape {x.shape}; got "
                f"{value.shape}"
            )
    return xp


@overflow_quietly
def batchnorm_forward(x: Any, gamma: Any, beta: Any, bn_param: dict) -> tuple[Any, Any]:
    """Batch normalisation of ``x`` (N, D), feature by feature.

    ``bn_param``: ``mode`` (``"train"`` or ``"test"``, required), ``eps`` (1e-5),
    ``momentum`` (0.9), ``running_mean`` and ``running_var`` (zeros of shape (D,)). In train
    mode the minibatch's mean and variance normalise and the running averages are updated
    in ``bn_param`` (``momentum * running + (1 - momentum) * sample``); test mode uses them.

    Examples
    --------
    >>> import numpy as np
    >>> bn_param = {"mode": "train"}
    >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> out, _ = batchnorm_forward(x, np.ones(2), np.zeros(2), bn_param)
    >>> np.round(out, 3), bn_param["running_mean"]
    (array([[-1., -1.],
           [ 1.,  1.]]), array([0.2, 2. ]))
    """
    xp = _norm_args(x, gamma, beta, "batchnorm_forward")
    _check_bn_param(bn_param, x)
    return batchnorm_step(x, gamma, beta, bn_param, xp=xp)


def batchnorm_step(x: Any, gamma: Any, beta: Any, bn_param: dict, *, xp: Any) -> tuple[Any, Any]:
    """:func:`batchnorm_forward` on arrays already checked (the networks' inner loop)."""
    mode = _mode(bn_param, "batchnorm", "bn_param")
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    zeros = xp.zeros(x.shape[1], dtype=x.dtype, device=array_api_compat.device(x))
    running_mean = bn_param.get("running_mean", zeros)
    running_var = bn_param.get("running_var", zeros)
    if mode == "train":
        out, cache, (mean, var) = nets.normalize_forward(x, gamma, beta, axis=0, eps=eps, xp=xp)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        out, cache, _ = nets.normalize_forward(
            x, gamma, beta, axis=0, eps=eps, xp=xp, mean=running_mean, var=running_var
        )
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@overflow_quietly
def batchnorm_backward(dout: Any, cache: Any) -> tuple[Any, Any, Any]:
    """Gradients ``(dx, dgamma, dbeta)`` of :func:`batchnorm_forward` in train mode.

    The course asks for a computational-graph version here and a simplified one in
    :func:`batchnorm_backward_alt`; fastvr has one implementation, the simplified closed form,
    behind both names (they agree to rounding, and the closed form is the faster).
    """
    return _normalize_backward(dout, cache, "batchnorm_forward")


batchnorm_backward_alt = batchnorm_backward


@overflow_quietly
def layernorm_forward(x: Any, gamma: Any, beta: Any, ln_param: dict) -> tuple[Any, Any]:
    """Layer normalisation of ``x`` (N, D), sample by sample; ``ln_param["eps"]`` (1e-5).

    Examples
    --------
    >>> import numpy as np
    >>> out, _ = layernorm_forward(np.array([[1.0, 3.0]]), np.ones(2), np.zeros(2), {})
    >>> np.round(out, 3)
    array([[-1.,  1.]])
    """
    xp = _norm_args(x, gamma, beta, "layernorm_forward")
    _check_eps(check_dict(ln_param, "ln_param"), "ln_param")
    return layernorm_step(x, gamma, beta, ln_param, xp=xp)


def layernorm_step(x: Any, gamma: Any, beta: Any, ln_param: dict, *, xp: Any) -> tuple[Any, Any]:
    """:func:`layernorm_forward` on arrays already checked (the networks' inner loop)."""
    out, cache, _ = nets.normalize_forward(
        x, gamma, beta, axis=1, eps=ln_param.get("eps", 1e-5), xp=xp
    )
    return out, cache


@overflow_quietly
def layernorm_backward(dout: Any, cache: Any) -> tuple[Any, Any, Any]:
    """Gradients ``(dx, dgamma, dbeta)`` of :func:`layernorm_forward`."""
    return _normalize_backward(dout, cache, "layernorm_forward")


def _normalize_backward(dout: Any, cache: Any, forward: str) -> tuple[Any, Any, Any]:
    x_hat = _cache(cache, 4, forward)[0]
    _namespace(**{"cache's x_hat": x_hat})
    return nets.normalize_backward(dout, cache, xp=_upstream(dout, x_hat.shape, forward))


@overflow_quietly
def dropout_forward(x: Any, dropout_param: dict) -> tuple[Any, tuple]:
    """Inverted dropout: in train mode each unit is kept with probability ``p`` and scaled
    by ``1 / p``; test mode passes ``x`` through.

    ``dropout_param``: ``p`` (the keep probability, in (0, 1]), ``mode`` (``"train"`` or
    ``"test"``) and an optional ``seed`` passed to ``np.random.seed`` first, as the course does.
    The mask is drawn with ``np.random.rand`` (on the host, then moved to ``x``'s device).

    Examples
    --------
    >>> import numpy as np
    >>> out, _ = dropout_forward(np.ones((2, 4)), {"p": 0.5, "mode": "train", "seed": 0})
    >>> sorted(set(out.ravel().tolist()))
    [0.0, 2.0]
    """
    xp = _namespace(x=x)
    _samples(x, "dropout_forward")
    check_dict(dropout_param, "dropout_param", required=("p", "mode"))
    if "seed" in dropout_param:
        seed = dropout_param["seed"]
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise TypeError(f"dropout_param['seed'] must be a non-negative integer; got {seed!r}")
    return dropout_step(x, dropout_param, xp=xp)


def dropout_step(x: Any, dropout_param: dict, *, xp: Any) -> tuple[Any, tuple]:
    """:func:`dropout_forward` on an array already checked (the networks' inner loop)."""
    p, mode = dropout_param["p"], _mode(dropout_param, "dropout", "dropout_param")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:  # NaN too
        raise ValueError(f"dropout_param['p'] is the keep probability, in (0, 1]; got {p!r}")
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    if mode == "test":
        return x, (dropout_param, None)
    draw = (np.random.rand(*x.shape) < p) / p
    mask = xp.asarray(draw, dtype=x.dtype, device=array_api_compat.device(x))
    out, _ = nets.dropout_forward(x, mask)
    return out, (dropout_param, mask)


@overflow_quietly
def dropout_backward(dout: Any, cache: tuple) -> Any:
    """Gradient of :func:`dropout_forward`: through the same mask (train), unchanged (test)."""
    _, mask = _cache(cache, 2, "dropout_forward")
    if mask is None:  # test mode: the identity
        _namespace(dout=dout)
        return dout
    _namespace(**{"cache's mask": mask})
    _upstream(dout, mask.shape, "dropout_forward")
    return nets.dropout_backward(dout, mask)
