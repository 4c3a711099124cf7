"""Small helpers for what the array API standard lacks, with a fast path where one exists."""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np


@functools.cache  # called by every small op: the look-up below costs ~0.5 us
def native_namespace(xp: ModuleType) -> ModuleType | None:
    """The numpy or CuPy module behind a compat namespace, else None."""
    if array_api_compat.is_numpy_namespace(xp):
        import numpy

        return numpy
    if array_api_compat.is_cupy_namespace(xp):
        import cupy

        return cupy
    return None


def overflow_quietly(function: Callable) -> Callable:
    """Run ``function`` with numpy's overflow and invalid-value warnings off.

    For math on inputs already checked finite: values so large that the arithmetic overflows
    give numpy's IEEE answer (inf, NaN) without a ``RuntimeWarning`` per call; the callers
    that can say something more useful about it (the models, the losses) do.
    """

    @functools.wraps(function)
    def quietly(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(over="ignore", invalid="ignore"):
            return function(*args, **kwargs)

    return quietly


def argpartition(x: Any, kth: int, *, xp: ModuleType) -> Any:
    """Indices that put the ``kth`` smallest entry of each row in place (last axis).

    Entries before position ``kth`` are no larger than it, in no particular order. numpy and
    CuPy partition natively; other libraries fall back to a stable sort (array-api-extra).
    """
    native = native_namespace(xp)
    if native is not None:
        return native.argpartition(x, kth, axis=-1)
    import array_api_extra as xpx  # here, not at the top: ~20 ms of `import fastvr`

    return xpx.argpartition(x, kth, axis=-1, xp=xp)


def one_hot(y: Any, num_classes: int, *, dtype: Any, xp: ModuleType) -> Any:
    """Rows of the identity of size ``num_classes`` picked by the integer labels ``y``.

    Examples
    --------
    >>> import numpy as np, array_api_compat.numpy as xp
    >>> one_hot(np.array([2, 0]), 3, dtype=xp.float64, xp=xp).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    import array_api_extra as xpx  # here, not at the top: ~20 ms of `import fastvr`

    return xpx.one_hot(y, num_classes, dtype=dtype, xp=xp)


def take_rows(x: Any, rows: Any, *, xp: ModuleType) -> Any:
    """``x[rows]`` along the first axis, at the cost of the rows for any memory layout.

    numpy's ``take`` (and so the standard's) first copies a non-contiguous ``x`` whole: 200
    rows of a 49000 × 154 column slice cost 12 ms that way against 0.07 ms by fancy indexing,
    which numpy and CuPy do on any strides. Other libraries use the standard's ``take``.

    Examples
    --------
    >>> import numpy as np, array_api_compat.numpy as xp
    >>> X = np.arange(12.0).reshape(3, 4)[:, :-1]  # a view, as X[:, :-1] in a notebook
    >>> take_rows(X, np.array([2, 0]), xp=xp)
    array([[ 8.,  9., 10.],
           [ 0.,  1.,  2.]])
    """
    if native_namespace(xp) is not None:
        return x[rows]
    return xp.take(x, rows, axis=0)


def blas_readable(x: Any) -> bool:
    """Whether BLAS can read the 2-D array ``x`` in place: its rows or its columns are
    unit-stride, with a positive step between them (C and Fortran order, column slices)."""
    (rows, cols), (row_step, col_step), item = x.shape, x.strides, x.itemsize

    def steps_forward(step: int, size: int) -> bool:
        return size == 1 or (step > 0 and step % item == 0)

    row_major = (cols == 1 or col_step == item) and steps_forward(row_step, rows)
    col_major = (rows == 1 or row_step == item) and steps_forward(col_step, cols)
    return row_major or col_major


def blas_ready(x: Any, *, xp: ModuleType) -> Any:
    """``x``, or one C-contiguous copy of it when a matrix product could not read it in place.

    numpy computes a product with a layout BLAS cannot read (a negative row step, a column
    step; see :func:`blas_readable`) by a slow loop of its own: 3.5x the time of one copy
    and the product at 49000 x 154, so such a matrix is copied once per call.
    """
    native = native_namespace(xp)
    if native is None or x.ndim != 2 or blas_readable(x):
        return x
    return native.ascontiguousarray(x)


def rows_for_gathers(x: Any, gathered_rows: int, *, xp: ModuleType) -> Any:
    """``x``, or one row-major copy of it when gathering ``gathered_rows`` rows in all (a
    training loop's steps × batch) from its layout would cost more than that copy.

    A gathered row is one contiguous read when ``x``'s last axis is unit-stride (C order,
    column slices, negative row steps): nothing to do. Otherwise (Fortran order, a
    transpose, a column step) each element of a row sits in its own cache line, about 8×
    the traffic of a contiguous row, so past ``x.shape[0] / 8`` gathered rows one copy per
    call is cheaper than strided gathers every step. The caller's array is never modified.
    """
    native = native_namespace(xp)
    if native is None or x.ndim < 2:
        return x
    unit_stride = x.strides[-1] == x.itemsize or x.shape[-1] == 1
    if unit_stride or 8 * gathered_rows < x.shape[0]:
        return x
    return native.ascontiguousarray(x)


def take_nd(table: Any, index: Any, *, xp: ModuleType) -> Any:
    """``table[index]`` for a 1-D ``table`` and an integer ``index`` array of any shape (the
    standard's ``take`` wants 1-D indices)."""
    return xp.reshape(xp.take(table, xp.reshape(index, (-1,))), index.shape)


def scatter_set(x: Any, rows: Any, cols: Any, values: Any, *, xp: ModuleType) -> None:
    """``x[rows, cols] = values`` in place (the standard has no integer-array assignment)."""
    native = native_namespace(xp)
    if native is not None:
        x[rows, cols] = values
        return
    for r, c, v in zip(rows, cols, values, strict=True):  # portability path: tiny inputs only
        x[int(r), int(c)] = v


def float_dtype_for(dtype: Any, *, xp: ModuleType) -> Any:
    """The floating dtype arithmetic on ``dtype`` uses: kept if floating, else float64."""
    if xp.isdtype(dtype, "real floating"):
        return dtype
    return xp.float64


def itemsize(dtype: Any, *, xp: ModuleType) -> int:
    """Bytes per element of a numeric ``dtype`` (the standard's dtypes have no ``itemsize``)."""
    if xp.isdtype(dtype, "real floating"):
        return xp.finfo(dtype).bits // 8
    if xp.isdtype(dtype, "bool"):
        return 1
    return xp.iinfo(dtype).bits // 8


def clamp_min_(x: Any, low: float, *, xp: ModuleType) -> Any:
    """``max(x, low)``, in place where the library allows it; returns the result."""
    native = native_namespace(xp)
    if native is not None:
        return native.maximum(x, low, out=x)
    return xp.clip(x, min=float(low))


def scatter_rows(x: Any, rows: Any, values: Any, *, xp: ModuleType) -> None:
    """``x[rows] = values`` in place, for a 1-D integer array ``rows``."""
    native = native_namespace(xp)
    if native is not None:
        x[rows] = values
        return
    for position, r in enumerate(rows):  # portability path: tiny inputs only
        x[int(r), ...] = values[position, ...]


def row_sq_norms(x: Any, *, xp: ModuleType) -> Any:
    """Squared L2 norm of every row of a 2-D array (no ``x * x`` temporary where possible)."""
    native = native_namespace(xp)
    if native is not None:
        return native.einsum("ij,ij->i", x, x)
    return xp.sum(x * x, axis=1)


def bincount(x: Any, weights: Any, minlength: int, *, xp: ModuleType) -> Any:
    """Sum of ``weights`` per value of the non-negative integer array ``x`` (1-D), length
    ``minlength`` (every value of ``x`` must be below it), in float64 as numpy's is."""
    native = native_namespace(xp)
    if native is not None:
        return native.bincount(x, weights=weights, minlength=minlength)
    # Portability path: sort by value; a bin's sum is then a difference of two prefix sums.
    # O(n log n) time, O(n + minlength) memory. Each addition's rounding error (TwoSum) is
    # summed alongside, so the differences keep full precision even when prefixes are large.
    dev = array_api_compat.device(x)
    zero = xp.zeros(1, dtype=xp.float64, device=dev)
    order = xp.argsort(x)
    values = xp.take(x, order)
    w = xp.astype(xp.take(weights, order), xp.float64)
    # (not include_initial=True: array-api-strict < 2.6 puts that leading 0 on the wrong device)
    prefix = xp.concat([zero, xp.cumulative_sum(w)])
    before, after = prefix[:-1], prefix[1:]
    added = after - before
    error = (before - (after - added)) + (w - added)
    error_prefix = xp.concat([zero, xp.cumulative_sum(error)])
    bins = xp.arange(minlength, dtype=x.dtype, device=dev)
    starts = xp.searchsorted(values, bins, side="left")
    ends = xp.searchsorted(values, bins, side="right")
    coarse = xp.take(prefix, ends) - xp.take(prefix, starts)
    return coarse + (xp.take(error_prefix, ends) - xp.take(error_prefix, starts))
