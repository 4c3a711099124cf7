"""The course's multiclass SVM loss (``fastvr.classifiers.linear_svm``)."""

from __future__ import annotations

from typing import Any

from ._loss_api import public_linear_loss


def svm_loss_naive(W: Any, X: Any, y: Any, reg: float) -> tuple[float, Any]:
    """Structured SVM loss with loops over samples and classes (Numba; Numba-CUDA on GPU).

    Parameters
    ----------
    W : array (D, C)
        Weights.
    X : array (N, D)
        A minibatch of data.
    y : array (N,)
        Integer labels, ``0 <= y[i] < C``.
    reg : float
        Regularisation strength: the loss adds ``reg * sum(W * W)``.

    Returns
    -------
    loss : float
        Mean hinge loss (margin 1) plus the regulariser.
    dW : array (D, C)
        Gradient, in the caller's array type.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.classifiers.linear_svm import svm_loss_naive
    >>> loss, dW = svm_loss_naive(np.zeros((2, 3)), np.ones((4, 2)), np.array([0, 1, 2, 0]), 0.0)
    >>> loss  # every wrong class has margin 1
    2.0
    """
    return public_linear_loss(W, X, y, reg, "svm", naive=True)


def svm_loss_vectorized(W: Any, X: Any, y: Any, reg: float) -> tuple[float, Any]:
    """Structured SVM loss, vectorized: two matrix products and element-wise work.

    Same inputs and outputs as :func:`svm_loss_naive`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.classifiers.linear_svm import svm_loss_vectorized
    >>> W = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> loss, dW = svm_loss_vectorized(W, np.array([[2.0, 0.0]]), np.array([0]), 0.1)
    >>> round(loss, 6)  # max(0, 0 - 2 + 1) = 0, plus 0.1 * 2
    0.2
    """
    return public_linear_loss(W, X, y, reg, "svm", naive=False)
