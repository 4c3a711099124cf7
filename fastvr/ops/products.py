"""The two products every backward pass takes, written once: a weight's gradient
``x.T @ dout`` and a bias's ``sum(dout, axis=0)``, each in the form that is quickest where it
runs (same sums; only the order BLAS adds them in may differ, by rounding)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import array_api_compat

from .._backend import native_namespace


def weight_gradient(x: Any, dout: Any, *, xp: ModuleType) -> Any:
    """``x.T @ dout``: the gradient of ``x @ W`` with respect to ``W``, for ``x`` (N, D) and
    ``dout`` (N, M).

    On numpy it is computed as ``(dout.T @ x).T``, the same sums over the batch: OpenBLAS's
    kernel for that orientation is 12-25 % faster at the course's shapes (N = 200, D = 3073,
    M = 10-100; ``benchmarks/per_step.py``), and the result is a transposed view.

    Examples
    --------
    >>> import numpy as np, array_api_compat.numpy as xp
    >>> weight_gradient(np.array([[1.0, 2.0]]), np.array([[3.0]]), xp=xp)
    array([[3.],
           [6.]])
    """
    if array_api_compat.is_numpy_namespace(xp):
        return (dout.T @ x).T
    return x.T @ dout


def column_sums(x: Any, *, xp: ModuleType) -> Any:
    """``xp.sum(x, axis=0)`` (a bias's gradient); numpy's and CuPy's own method, whose call
    costs half the function's (~1 us: paid thousands of times by a gradient check)."""
    return x.sum(axis=0) if native_namespace(xp) is not None else xp.sum(x, axis=0)
