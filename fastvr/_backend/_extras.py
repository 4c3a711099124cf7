"""Small helpers for what the array API standard lacks, with a fast path where one exists."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import array_api_compat


def _native(xp: ModuleType) -> ModuleType | None:
    """The numpy or CuPy module behind a compat namespace, else None."""
    if array_api_compat.is_numpy_namespace(xp):
        import numpy

        return numpy
    if array_api_compat.is_cupy_namespace(xp):
        import cupy

        return cupy
    return None


def argpartition(x: Any, kth: int, *, xp: ModuleType) -> Any:
    """Indices that put the ``kth`` smallest entry of each row in place (last axis).

    Entries before position ``kth`` are no larger than it, in no particular order.
    Libraries without a partial selection fall back to a stable sort.
    """
    native = _native(xp)
    if native is not None:
        return native.argpartition(x, kth, axis=-1)
    return xp.argsort(x, axis=-1, stable=True)


def take_nd(table: Any, index: Any, *, xp: ModuleType) -> Any:
    """``table[index]`` for a 1-D ``table`` and an integer ``index`` array of any shape (the
    standard's ``take`` wants 1-D indices)."""
    return xp.reshape(xp.take(table, xp.reshape(index, (-1,))), index.shape)


def scatter_set(x: Any, rows: Any, cols: Any, values: Any, *, xp: ModuleType) -> None:
    """``x[rows, cols] = values`` in place (the standard has no integer-array assignment)."""
    native = _native(xp)
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
    native = _native(xp)
    if native is not None:
        return native.maximum(x, low, out=x)
    return xp.clip(x, min=float(low))


def scatter_rows(x: Any, rows: Any, values: Any, *, xp: ModuleType) -> None:
    """``x[rows] = values`` in place, for a 1-D integer array ``rows``."""
    native = _native(xp)
    if native is not None:
        x[rows] = values
        return
    for position, r in enumerate(rows):  # portability path: tiny inputs only
        x[int(r), ...] = values[position, ...]


def row_sq_norms(x: Any, *, xp: ModuleType) -> Any:
    """Squared L2 norm of every row of a 2-D array (no ``x * x`` temporary where possible)."""
    native = _native(xp)
    if native is not None:
        return native.einsum("ij,ij->i", x, x)
    return xp.sum(x * x, axis=1)


def bincount(x: Any, weights: Any, minlength: int, *, xp: ModuleType) -> Any:
    """Sum of ``weights`` per value of the non-negative integer array ``x`` (1-D), length
    ``minlength`` (every value of ``x`` must be below it), in float64 as numpy's is."""
    native = _native(xp)
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
