"""Numerical gradients by centred differences (the course's ``gradient_check``).

Every function works on numpy or CuPy arrays: ``x`` is perturbed in place, one entry at a
time, and always restored. ``f`` may return a Python float or a 0-d array.
"""

from __future__ import annotations

from collections.abc import Callable
from random import randrange
from typing import Any

import numpy as np

from ._validation import check_array, check_finite, check_int, check_real, check_shape


def _namespace(x: Any, h: Any):
    """The namespace of the array ``x`` checked (a writeable real floating array), and the
    step ``h`` (a positive real number), each named if wrong."""
    xp = check_array(x, "x", kinds="real floating")
    if isinstance(x, np.ndarray) and not x.flags.writeable:
        raise ValueError("x must be writeable (it is perturbed in place); got a read-only array")
    if check_real(h, "h") <= 0:
        raise ValueError(f"h must be a positive step; got {h}")
    return xp


def _indices(shape: tuple[int, ...]):
    return np.ndindex(*shape)


def _centred_difference(f: Callable[[Any], Any], x: Any, ix: tuple, h: float) -> float:
    """``(f(x + h e_ix) - f(x - h e_ix)) / 2h``, perturbing ``x`` in place and restoring it."""
    oldval = x[ix]
    x[ix] = oldval + h
    fxph = float(f(x))
    x[ix] = oldval - h
    fxmh = float(f(x))
    x[ix] = oldval
    return (fxph - fxmh) / (2 * h)


def eval_numerical_gradient(
    f: Callable[[Any], Any], x: Any, verbose: bool = True, h: float = 0.00001
) -> Any:
    """Gradient of the scalar function ``f`` at ``x`` by centred differences.

    Parameters
    ----------
    f : callable
        Takes ``x`` and returns a scalar.
    x : array
        The point; changed during the call and restored entry by entry.
    verbose : bool
        Print each index and its derivative, as the course does.
    h : float
        Step of the centred difference ``(f(x + h) - f(x - h)) / 2h``.

    Returns
    -------
    array
        Same shape and type as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.gradient_check import eval_numerical_gradient
    >>> g = eval_numerical_gradient(lambda x: float(np.sum(x ** 2)), np.array([1.0, -2.0]),
    ...                             verbose=False)
    >>> np.round(g, 6)
    array([ 2., -4.])
    """
    grad = _namespace(x, h).zeros_like(x)
    for ix in _indices(x.shape):
        grad[ix] = _centred_difference(f, x, ix, h)
        if verbose:
            print(ix, float(grad[ix]))
    return grad


def eval_numerical_gradient_array(f: Callable[[Any], Any], x: Any, df: Any, h: float = 1e-5) -> Any:
    """Gradient of ``sum(f(x) * df)`` at ``x``: backpropagation through an array function.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.gradient_check import eval_numerical_gradient_array
    >>> x, df = np.array([1.0, 2.0]), np.array([1.0, 10.0])
    >>> np.round(eval_numerical_gradient_array(lambda x: 3 * x, x, df), 6)
    array([ 3., 30.])
    """
    xp = _namespace(x, h)
    check_finite(df, "df", xp=check_array(df, "df"))
    grad = xp.zeros_like(x)
    for ix in _indices(x.shape):
        oldval = x[ix]
        x[ix] = oldval + h
        pos = xp.asarray(f(x), copy=True)
        x[ix] = oldval - h
        neg = xp.asarray(f(x), copy=True)
        x[ix] = oldval
        check_shape(df, "df", pos.shape, "f(x)'s output")
        grad[ix] = xp.sum((pos - neg) * df) / (2 * h)
    return grad


def grad_check_sparse(
    f: Callable[[Any], Any], x: Any, analytic_grad: Any, num_checks: int = 10, h: float = 1e-5
) -> list[float]:
    """Compare ``analytic_grad`` with centred differences at ``num_checks`` random entries.

    Entries are drawn with Python's ``random.randrange``, as in the course, so seeding
    ``random`` reproduces the course's checks. Prints
    ``'numerical: %f analytic: %f, relative error: %e'`` per check.

    Returns
    -------
    list of float
        The relative errors (``0.0`` where both derivatives are exactly zero).

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.gradient_check import grad_check_sparse
    >>> x = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> errors = grad_check_sparse(lambda x: float(np.sum(x ** 2)), x, 2 * x, num_checks=2)
    ... # doctest: +ELLIPSIS
    numerical: ... analytic: ..., relative error: ...
    numerical: ... analytic: ..., relative error: ...
    >>> max(errors) < 1e-9
    True
    """
    _namespace(x, h)
    if x.size == 0:
        raise ValueError(f"x is empty (shape {x.shape}): there is no entry to check")
    check_shape(analytic_grad, "analytic_grad", x.shape, "x's")
    errors = []
    for _ in range(check_int(num_checks, "num_checks", low=0)):
        ix = tuple(randrange(m) for m in x.shape)
        grad_numerical = _centred_difference(f, x, ix, h)
        grad_analytic = float(analytic_grad[ix])
        scale = abs(grad_numerical) + abs(grad_analytic)
        rel_error = abs(grad_numerical - grad_analytic) / scale if scale else 0.0
        print(
            f"numerical: {grad_numerical:f} analytic: {grad_analytic:f}, "
            f"relative error: {rel_error:e}"
        )
        errors.append(rel_error)
    return errors
