"""Layers for small fully connected networks, forward and backward, written once against ``xp``.

Each ``*_forward`` returns its output and a cache; each ``*_backward`` takes the upstream
gradient and that cache. The two-layer network composes them; later models can too.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .._backend import native_namespace
from .losses import add_weight_gradient, l2_penalty, softmax_cross_entropy


def affine_forward(x: Any, W: Any, b: Any, *, xp: ModuleType) -> tuple[Any, tuple]:
    """``x @ W + b`` for ``x`` (N, D), ``W`` (D, M), ``b`` (M,).

    Examples
    --------
    >>> import numpy as np, array_api_compat.numpy as xp
    >>> out, _ = affine_forward(np.ones((1, 2)), np.eye(2), np.array([1.0, 0.0]), xp=xp)
    >>> out
    array([[2., 1.]])
    """
    out = x @ W
    out += b
    return out, (x, W)


def affine_backward(dout: Any, cache: tuple, *, xp: ModuleType) -> tuple[Any, Any, Any]:
    """Gradients ``(dx, dW, db)`` of an affine layer."""
    x, W = cache
    return dout @ W.T, x.T @ dout, column_sums(dout, xp=xp)


def column_sums(x: Any, *, xp: ModuleType) -> Any:
    """``xp.sum(x, axis=0)`` (a bias's gradient); numpy's and CuPy's own method, whose call
    costs half the function's (~1 us: paid thousands of times by a gradient check)."""
    return x.sum(axis=0) if native_namespace(xp) is not None else xp.sum(x, axis=0)


def relu_forward(x: Any, *, xp: ModuleType, overwrite: bool = False) -> tuple[Any, Any]:
    """``max(0, x)`` and the cache (the output itself: its positive entries pass gradient).

    ``overwrite=True`` may reuse ``x``'s memory (numpy and CuPy): for a caller's own
    temporary, such as an affine layer's fresh output.
    """
    native = native_namespace(xp)
    if native is None:
        out = xp.clip(x, min=0.0)
    else:  # numpy and CuPy directly: the standard's clip wrapper cost 60 us a call here
        out = native.maximum(x, 0.0, out=x if overwrite else None)
    return out, out


def relu_backward(dout: Any, cache: Any, *, xp: ModuleType) -> Any:
    """Gradient of ReLU: ``dout`` where the forward output was positive, else 0."""
    if native_namespace(xp) is not None:
        return dout * (cache > 0)  # numpy and CuPy mix bool in: 4x faster than where here
    return xp.where(cache > 0, dout, 0.0)


def two_layer_scores(X: Any, params: dict, *, xp: ModuleType) -> Any:
    """Class scores of affine - ReLU - affine for ``X`` (N, D): ``(N, C)``."""
    pre, _ = affine_forward(X, params["W1"], params["b1"], xp=xp)
    hidden, _ = relu_forward(pre, xp=xp, overwrite=True)  # pre is this call's own temporary
    return affine_forward(hidden, params["W2"], params["b2"], xp=xp)[0]


def two_layer_loss(X: Any, y: Any, params: dict, reg: float, *, xp: ModuleType) -> tuple[Any, dict]:
    """Softmax loss of the two-layer net and the gradient of every parameter.

    Loss: mean cross-entropy plus ``reg * (sum(W1²) + sum(W2²))``; returned as a 0-d array
    (no host synchronisation). Gradients are keyed like ``params``.
    """
    pre, _ = affine_forward(X, params["W1"], params["b1"], xp=xp)
    hidden, relu_cache = relu_forward(pre, xp=xp, overwrite=True)
    scores, cache2 = affine_forward(hidden, params["W2"], params["b2"], xp=xp)
    loss, dscores = softmax_cross_entropy(scores, y, xp=xp)
    dhidden, dW2, db2 = affine_backward(dscores, cache2, xp=xp)
    dpre = relu_backward(dhidden, relu_cache, xp=xp)
    # not affine_backward: the input's own gradient is never needed
    dW1 = add_weight_gradient((2.0 * reg) * params["W1"], X, dpre, xp=xp)
    db1 = column_sums(dpre, xp=xp)
    dW2 += (2.0 * reg) * params["W2"]
    loss = loss + l2_penalty(params["W1"], reg, xp=xp) + l2_penalty(params["W2"], reg, xp=xp)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def grouped_two_layer_scores(X: Any, params: dict, *, xp: ModuleType) -> tuple[Any, Any]:
    """Scores (N, G, C) of G two-layer nets sharing the input ``X`` (N, D), and the hidden
    activations (N, G, H). ``params``: ``W1`` (D, G, H), ``b1`` (G, H), ``W2`` (G, H, C),
    ``b2`` (G, C); the first layer of every net is one matrix product."""
    d, g, h = params["W1"].shape
    pre = xp.reshape(X @ xp.reshape(params["W1"], (d, g * h)), (X.shape[0], g, h))
    hidden, _ = relu_forward(pre + params["b1"][None, :, :], xp=xp, overwrite=True)
    scores = xp.permute_dims(xp.permute_dims(hidden, (1, 0, 2)) @ params["W2"], (1, 0, 2))
    return scores + params["b2"][None, :, :], hidden


def grouped_two_layer_loss(
    X: Any, y: Any, params: dict, regs: Any, *, xp: ModuleType
) -> tuple[Any, dict]:
    """Losses (G,) and gradients of G two-layer nets on one shared minibatch.

    Each net's loss and gradients are those of :func:`two_layer_loss` with its own ``reg``.
    """
    scores, hidden = grouped_two_layer_scores(X, params, xp=xp)
    loss, dscores = softmax_cross_entropy(scores, y, xp=xp)  # (G,), (N, G, C)
    by_net = xp.permute_dims(dscores, (1, 0, 2))  # (G, N, C)
    dW2 = xp.permute_dims(xp.permute_dims(hidden, (1, 0, 2)), (0, 2, 1)) @ by_net
    db2 = xp.sum(dscores, axis=0)
    dhidden = xp.permute_dims(by_net @ xp.permute_dims(params["W2"], (0, 2, 1)), (1, 0, 2))
    dpre = relu_backward(dhidden, hidden, xp=xp)  # (N, G, H)
    dW1 = add_weight_gradient((2.0 * regs[None, :, None]) * params["W1"], X, dpre, xp=xp)
    db1 = xp.sum(dpre, axis=0)
    dW2 += (2.0 * regs[:, None, None]) * params["W2"]
    penalty = xp.sum(xp.sum(params["W1"] ** 2, axis=2), axis=0) + xp.sum(
        xp.sum(params["W2"] ** 2, axis=2), axis=1
    )
    return loss + regs * penalty, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def normalize_forward(
    x: Any,
    gamma: Any,
    beta: Any,
    *,
    axis: int,
    eps: float,
    xp: ModuleType,
    mean: Any = None,
    var: Any = None,
) -> tuple[Any, tuple, tuple[Any, Any]]:
    """``gamma * (x - mean) / sqrt(var + eps) + beta`` with statistics along ``axis``.

    Batch norm normalises each feature over the minibatch (``axis=0``), layer norm each
    sample over its features (``axis=1``); both scale and shift per feature. Given ``mean``
    and ``var`` (batch norm at test time: its running averages) they are used instead of
    the data's. Returns the output, the cache for :func:`normalize_backward`, and the
    statistics used (the running averages are the caller's to update).

    Examples
    --------
    >>> import numpy as np, array_api_compat.numpy as xp
    >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> out, _, (mean, var) = normalize_forward(x, np.ones(2), np.zeros(2), axis=0, eps=0.0, xp=xp)
    >>> out, mean
    (array([[-1., -1.],
           [ 1.,  1.]]), array([ 2., 20.]))
    """
    if mean is None:
        mean = xp.mean(x, axis=axis, keepdims=True)
        x_hat = x - mean
        var = xp.mean(x_hat * x_hat, axis=axis, keepdims=True)
    else:
        mean, var = xp.expand_dims(mean, axis=axis), xp.expand_dims(var, axis=axis)
        x_hat = x - mean
    inv_std = 1.0 / xp.sqrt(var + eps)
    x_hat *= inv_std
    out = x_hat * gamma
    out += beta
    stats = (xp.squeeze(mean, axis=axis), xp.squeeze(var, axis=axis))
    return out, (x_hat, inv_std, gamma, axis), stats


def normalize_backward(dout: Any, cache: tuple, *, xp: ModuleType) -> tuple[Any, Any, Any]:
    """Gradients ``(dx, dgamma, dbeta)`` of :func:`normalize_forward` with the data's own
    statistics, in the simplified closed form (one expression for dx, no graph walk):

    ``dx = inv_std / M * (M * dx̂ − Σ dx̂ − x̂ Σ (dx̂ x̂))`` with ``dx̂ = dout * gamma`` and the
    sums over the ``M`` entries that shared a mean and variance.
    """
    x_hat, inv_std, gamma, axis = cache
    dbeta = xp.sum(dout, axis=0)
    dgamma = xp.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    m = x_hat.shape[axis]
    if axis == 0:  # the sums over the batch are those of dbeta and dgamma, scaled by gamma
        sum_dx_hat, sum_dx_hat_x_hat = gamma * dbeta, gamma * dgamma
    else:
        sum_dx_hat = xp.sum(dx_hat, axis=axis, keepdims=True)
        sum_dx_hat_x_hat = xp.sum(dx_hat * x_hat, axis=axis, keepdims=True)
    dx_hat *= m
    dx_hat -= sum_dx_hat
    dx_hat -= x_hat * sum_dx_hat_x_hat
    dx_hat *= inv_std / m
    return dx_hat, dgamma, dbeta


def dropout_forward(x: Any, mask: Any) -> tuple[Any, Any]:
    """Inverted dropout: ``x * mask`` where ``mask`` holds ``1/p`` for kept units, else 0."""
    return x * mask, mask


def dropout_backward(dout: Any, mask: Any) -> Any:
    """Gradient of inverted dropout: the upstream gradient through the same mask."""
    return dout * mask
