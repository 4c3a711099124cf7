"""Classification losses on scores, and the linear model's loss, written once against ``xp``.

The score-level pieces (multiclass hinge, softmax cross-entropy) return the data loss and its
gradient with respect to the scores, averaged over the N samples; the linear classifiers and
the two-layer network both build on them. Conventions are the course's: hinge margin Δ = 1,
regulariser ``reg * sum(W * W)`` with gradient ``2 * reg * W``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np
from array_api_compat import device

# The kernels (Numba, Numba-CUDA) are imported inside the functions that run them, so that
# `import fastvr` loads no compiler (fastvr._warmup compiles them in the background).
from .._backend import native_namespace, one_hot, to_numpy


def _grouped(scores: Any, y: Any, xp: ModuleType) -> tuple[Any, Any, bool]:
    """Scores as (N, G, C) (a single model is G = 1) and the labels' index for take."""
    grouped = scores.ndim == 3
    scores = scores if grouped else scores[:, None, :]
    index = xp.broadcast_to(y[:, None, None], (scores.shape[0], scores.shape[1], 1))
    return scores, index, grouped


def _ungroup(loss: Any, dscores: Any, grouped: bool) -> tuple[Any, Any]:
    return (loss, dscores) if grouped else (loss[0], dscores[:, 0, :])


def hinge_loss(scores: Any, y: Any, *, xp: ModuleType) -> tuple[Any, Any]:
    """Mean multiclass hinge loss of ``scores`` (N, C) for labels ``y`` (N,), and d/dscores.

    ``L_i = Σ_{j ≠ y_i} max(0, s_j − s_{y_i} + 1)``. Scores of G models at once, (N, G, C),
    give G losses and (N, G, C) gradients.

    Examples
    --------
    >>> import numpy as np, array_api_compat.numpy as xp
    >>> loss, dscores = hinge_loss(np.array([[3.0, 1.0, 2.5]]), np.array([0]), xp=xp)
    >>> float(loss), dscores.tolist()
    (0.5, [[-1.0, 0.0, 1.0]])
    """
    native = native_namespace(xp)
    if native is not None:
        return _hinge_indexed(scores, y, native)
    scores, index, grouped = _grouped(scores, y, xp)
    n = scores.shape[0]
    onehot = one_hot(y, scores.shape[2], dtype=scores.dtype, xp=xp)[:, None, :]
    correct = xp.take_along_axis(scores, index, axis=2)
    margins = xp.clip(scores - correct + 1.0, min=0.0) * (1.0 - onehot)
    loss = xp.sum(xp.sum(margins, axis=2), axis=0) / n
    positive = xp.astype(margins > 0, scores.dtype)
    dscores = (positive - onehot * xp.sum(positive, axis=2, keepdims=True)) / n
    return _ungroup(loss, dscores, grouped)


def softmax_cross_entropy(scores: Any, y: Any, *, xp: ModuleType) -> tuple[Any, Any]:
    """Mean softmax cross-entropy of ``scores`` (N, C) for labels ``y`` (N,), and d/dscores.

    Numerically stable: scores are shifted by their row maximum, so scores of ±1e4 give a
    finite loss and gradient. Scores of G models at once, (N, G, C), give G losses.

    Examples
    --------
    >>> import numpy as np, array_api_compat.numpy as xp
    >>> loss, _ = softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 3]), xp=xp)
    >>> round(float(loss), 6) == round(float(np.log(4)), 6)
    True
    """
    native = native_namespace(xp)
    if native is not None:
        return _softmax_indexed(scores, y, native)
    scores, index, grouped = _grouped(scores, y, xp)
    n = scores.shape[0]
    shifted = scores - xp.max(scores, axis=2, keepdims=True)
    exp = xp.exp(shifted)
    sums = xp.sum(exp, axis=2, keepdims=True)
    log_probs = shifted - xp.log(sums)
    loss = -xp.sum(xp.take_along_axis(log_probs, index, axis=2)[..., 0], axis=0) / n
    onehot = one_hot(y, scores.shape[2], dtype=scores.dtype, xp=xp)[:, None, :]
    dscores = (exp / sums - onehot) / n
    return _ungroup(loss, dscores, grouped)


# numpy and CuPy: the same math by integer indexing and in-place updates. At a minibatch of
# 200 x 10 scores the portable versions above spend 3x longer in array-API wrappers and
# one-hot temporaries than in arithmetic, which dominated a training step on small features.


def _label_index(scores: Any, y: Any, native: ModuleType) -> tuple[Any, Any, bool]:
    grouped = scores.ndim == 3
    rows = native.arange(scores.shape[0])
    return (scores if grouped else scores[:, None, :]), (rows, slice(None), y), grouped


def _hinge_indexed(scores: Any, y: Any, native: ModuleType) -> tuple[Any, Any]:
    scores, at_label, grouped = _label_index(scores, y, native)
    n = scores.shape[0]
    margins = scores - scores[at_label][:, :, None]
    margins += 1.0
    native.maximum(margins, 0.0, out=margins)
    margins[at_label] -= 1.0  # exactly 0 (the label's own margin is 1), and NaN stays NaN
    loss = margins.sum(axis=(0, 2)) / n
    dscores = (margins > 0).astype(scores.dtype)
    dscores[at_label] = -dscores.sum(axis=2)
    dscores /= n
    return _ungroup(loss, dscores, grouped)


def _softmax_indexed(scores: Any, y: Any, native: ModuleType) -> tuple[Any, Any]:
    # over the last axis: one model's (N, C) scores, or G models' (N, G, C)
    n = scores.shape[0]
    rows = native.arange(n)
    at_label = (rows, y) if scores.ndim == 2 else (rows, slice(None), y)
    shifted = scores - scores.max(axis=-1, keepdims=True)
    probs = native.exp(shifted)
    sums = probs.sum(axis=-1, keepdims=True)
    loss = (native.log(sums[..., 0]) - shifted[at_label]).sum(axis=0) / n
    probs /= sums
    probs[at_label] -= 1.0
    probs /= n
    return loss, probs


DataLoss = Callable[..., tuple[Any, Any]]


def l2_penalty(W: Any, reg: float, *, xp: ModuleType) -> Any:
    """``reg * sum(W * W)`` (the course's regulariser, no ½), as one dot product of ``W``
    with itself: no ``W * W`` temporary (10x faster for a 3072 x 100 matrix)."""
    flat = xp.reshape(W, (-1,))
    return reg * xp.vecdot(flat, flat)


def add_weight_gradient(out: Any, x: Any, dout: Any, *, xp: ModuleType) -> Any:
    """``out + x.T @ dout``, summed into ``out``: a weight's gradient, from the layer's input
    ``x`` (N, D) and the gradient ``dout`` (N, M) of its output. G models side by side may
    come as ``out`` (D, G, C) and ``dout`` (N, G, C): the product is then one (D, G·C) matrix.

    The product is taken as ``(dout.T @ x).T``, the same sums: OpenBLAS multiplies with the
    transpose of a row-major ``x`` as the left operand 1.3-2x slower at a minibatch's shapes
    (N 200, D 3073, M 10-100: 390 against 230 us for M 10), and adding the transposed result
    into a row-major ``out`` costs what a row-major sum does (~10 us for 3073 x 10).

    Examples
    --------
    >>> import numpy as np
    >>> x, dout = np.arange(6.0).reshape(3, 2), np.ones((3, 1))
    >>> add_weight_gradient(np.zeros((2, 1)), x, dout, xp=np)
    array([[6.],
           [9.]])
    """
    if out.ndim == 2:
        out += (dout.T @ x).T
        return out
    flat = xp.reshape(out, (out.shape[0], -1))  # (a copy where xp's reshape copies)
    flat += (xp.reshape(dout, (dout.shape[0], -1)).T @ x).T
    return xp.reshape(flat, out.shape)


def linear_loss(
    W: Any, X: Any, y: Any, reg: float, data_loss: DataLoss, *, xp: ModuleType
) -> tuple[Any, Any]:
    """Loss and gradient of the linear classifier ``scores = X @ W`` (two matrix products).

    Returns the loss as a 0-d array (no host synchronisation) and ``dW`` shaped like ``W``.
    """
    loss, dscores = data_loss(X @ W, y, xp=xp)
    dW = add_weight_gradient((2.0 * reg) * W, X, dscores, xp=xp)
    return loss + l2_penalty(W, reg, xp=xp), dW


def grouped_linear_loss(
    W: Any, X: Any, y: Any, regs: Any, data_loss: DataLoss, *, xp: ModuleType
) -> tuple[Any, Any]:
    """Losses and gradients of G linear models at once, sharing the minibatch ``X``.

    ``W`` is (D, G, C), so the G weight matrices side by side are one (D, G * C) matrix and
    each step is two matrix products, whatever G. ``regs`` (G,) are the models'
    regularisation strengths. Returns G losses and ``dW`` (D, G, C).
    """
    d, g, c = W.shape
    scores = xp.reshape(X @ xp.reshape(W, (d, g * c)), (X.shape[0], g, c))
    loss, dscores = data_loss(scores, y, xp=xp)
    dW = add_weight_gradient((2.0 * regs[None, :, None]) * W, X, dscores, xp=xp)
    return loss + regs * xp.sum(xp.sum(W * W, axis=2), axis=0), dW


# Below this many multiply-adds (N x D x C) the naive losses loop over the samples in numpy:
# a few milliseconds, where the compiled loop's first call on a fresh machine waits up to a
# second for Numba (the bundled digits' 300-500 x 65 x 10 stay here; CIFAR's development
# set, 500 x 3073 x 10, takes the kernel). Chosen by size, never by whether the kernel is
# compiled: the same inputs always take the same path.
NAIVE_KERNEL_MIN_TERMS = 1 << 20


def _naive_rows(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float, kind: str
) -> tuple[float, np.ndarray]:
    """The naive losses as the course writes them, a loop over the samples, each sample's
    classes at once; float64 sums, the gradient in ``W``'s dtype (as the kernel)."""
    W64 = W.astype(np.float64, copy=False)
    dW = np.zeros(W.shape, dtype=np.float64)
    loss = 0.0
    for i in range(X.shape[0]):
        x = X[i].astype(np.float64, copy=False)
        scores = x @ W64
        label = y[i]
        if kind == "softmax":
            scores -= scores.max()
            exps = np.exp(scores)
            total = exps.sum()
            loss += np.log(total) - scores[label]
            coef = exps / total
            coef[label] -= 1.0
        else:
            margins = scores - scores[label] + 1.0
            margins[label] = 0.0
            positive = margins > 0
            loss += margins[positive].sum()
            coef = positive.astype(np.float64)
            coef[label] = -coef.sum()
        dW += np.outer(x, coef)
    n = X.shape[0]
    grad = (dW / n + 2.0 * reg * W64).astype(W.dtype, copy=False)
    return loss / n + float(l2_penalty(W64, reg, xp=np)), grad


def naive_linear_loss(
    W: Any, X: Any, y: Any, reg: float, kind: str, *, xp: ModuleType
) -> tuple[Any, Any]:
    """The course's loop implementation: Numba on the CPU (in numpy below
    :data:`NAIVE_KERNEL_MIN_TERMS`), Numba-CUDA for CuPy arrays.

    ``kind`` is ``"svm"`` or ``"softmax"``. Returns the loss as a 0-d array of ``xp`` and ``dW``.
    """
    if array_api_compat.is_cupy_namespace(xp):
        from ..kernels import cuda as kernels

        loss = xp.zeros(1, dtype=xp.float64, device=device(W))
        dW = xp.zeros(W.shape, dtype=xp.float64, device=device(W))
        sums = kernels.svm_loss_sums if kind == "svm" else kernels.softmax_loss_sums
        sums(W, X, y, loss, dW)
        n = X.shape[0]
        dW = xp.astype(dW / n + (2.0 * reg) * W, W.dtype)
        return loss[0] / n + l2_penalty(xp.astype(W, xp.float64), reg, xp=xp), dW
    W_h, X_h, y_h = to_numpy(W), to_numpy(X), to_numpy(y)
    if X_h.shape[0] * X_h.shape[1] * W_h.shape[1] < NAIVE_KERNEL_MIN_TERMS:
        loss, dW = _naive_rows(W_h, X_h, y_h, float(reg), kind)
    else:
        from ..kernels import cpu as kernels

        naive = kernels.svm_loss_naive if kind == "svm" else kernels.softmax_loss_naive
        loss, dW = naive(W_h, X_h, y_h, float(reg))
    if array_api_compat.is_numpy_namespace(xp):
        return np.asarray(loss), dW
    return xp.asarray(loss, device=device(W)), xp.asarray(dW, device=device(W))
