"""The course's softmax (cross-entropy) loss (``fastvr.classifiers.softmax``)."""

from __future__ import annotations

from typing import Any

from ._loss_api import public_linear_loss


def softmax_loss_naive(W: Any, X: Any, y: Any, reg: float) -> tuple[float, Any]:
    """Softmax loss with loops over samples and classes (Numba; Numba-CUDA on GPU).

    Parameters
    ----------
    W : array (D, C)
    X : array (N, D)
    y : array (N,) of integer labels in ``[0, C)``
    reg : float
        Regularisation strength: the loss adds ``reg * sum(W * W)``.

    Returns
    -------
    loss : float
        Mean cross-entropy plus the regulariser.
    dW : array (D, C)

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.classifiers.softmax import softmax_loss_naive
    >>> loss, dW = softmax_loss_naive(np.zeros((3, 10)), np.ones((5, 3)), np.arange(5), 0.0)
    >>> round(loss, 6) == round(float(np.log(10)), 6)  # uniform over 10 classes
    True
    """
    return public_linear_loss(W, X, y, reg, "softmax", naive=True)


def softmax_loss_vectorized(W: Any, X: Any, y: Any, reg: float) -> tuple[float, Any]:
    """Softmax loss, vectorized and numerically stable (scores shifted by their maximum).

    Same inputs and outputs as :func:`softmax_loss_naive`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.classifiers.softmax import softmax_loss_vectorized
    >>> loss, _ = softmax_loss_vectorized(np.eye(2) * 1e4, np.eye(2), np.array([1, 0]), 0.0)
    >>> loss  # finite although exp(1e4) overflows
    10000.0
    """
    return public_linear_loss(W, X, y, reg, "softmax", naive=False)
