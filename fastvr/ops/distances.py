"""Pairwise L2 and L1 distances, written once against an array namespace ``xp``.

Vectorized L2 is one GEMM plus norms, ``‖a‖² + ‖b‖² − 2a·b``, made safe against the
cancellation that ruins it for near-duplicate rows and large norms:

1. Both sides are centred by the reference (training) mean before the product. Distances are
   translation invariant, and centring removes the large common offset that raw pixel data
   carries, so the norms that meet in the subtraction are as small as they can be. The mean
   is rounded to a multiple of 2⁻⁸, so for integer-valued data (pixels) in float64 every step
   stays exact (while sums stay below 2⁵³ · 2⁻¹⁶, e.g. 3072 features of 0..255) and equal
   distances come out exactly equal.
2. The expansion's error on an entry is at most ``γ (‖a‖² + ‖b‖²)`` (centred norms), with
   ``γ ≈ n·ε`` the textbook bound for an ``n``-term dot product (in practice ``√n·ε``). An entry
   whose value falls below ``τ (‖a‖² + ‖b‖²)`` may have lost its digits, so it is recomputed
   exactly as ``Σ (a − b)²`` in float64 from the original coordinates. Every other entry has
   relative error at most ``γ / (τ − γ)`` in the squared distance, half that in the distance.
   ``τ`` is ``2⁻⁴`` for float32 and ``2⁻¹⁶`` for float64. With ``n = 3072`` the guaranteed
   relative error of a distance is about 2e-4 (float32) and 1e-10 (float64); observed on pixel,
   Gaussian and near-duplicate data it is about 3e-7 and 1e-15.

The loop paths call the Numba kernels of ``fastvr.kernels`` (CPU) or ``fastvr.kernels.cuda``
(CuPy arrays).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np

# The kernels (Numba, Numba-CUDA) are imported inside the functions that run them, so that
# `import fastvr` loads no compiler (fastvr._warmup compiles them in the background).
from .._backend import (
    clamp_min_,
    itemsize,
    overflow_quietly,
    row_sq_norms,
    scatter_set,
    take_rows,
    to_numpy,
)

METRICS = {"l2": "l2", "euclidean": "l2", "l1": "l1", "manhattan": "l1", "cityblock": "l1"}
METHODS = {
    "vectorized": "vectorized",
    "no_loops": "vectorized",
    "one_loop": "one_loop",
    "two_loops": "two_loops",
}
_REFINE_BELOW = {4: 2.0**-4, 8: 2.0**-16}  # τ by itemsize; see the module docstring
_SHIFT_GRID = 2.0**8  # the centring shift is a multiple of 1/_SHIFT_GRID (see prepare_reference)
_L1_TILE_BYTES = 8 * 2**20  # (rows × rows × features) broadcast tiles stay cache-sized


def blocks(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` covering ``range(n)`` (never past the end)."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


@dataclass
class Reference:
    """The reference (training) side, prepared once for L2 queries.

    ``Y`` centred by ``mean`` (a ``(1, d)`` row in ``Y``'s dtype; None for L1). The GEMM
    layout ``augmented`` is ``[−2(Y − μ) | 1 | ‖Y − μ‖²]``: multiplied by a query block laid
    out as ``[X − μ | ‖X − μ‖² | 1]`` it gives the squared distances in one GEMM, norms
    included, with no extra passes over the result (the factor −2 is exact in floating
    point). It is built when first used, so a search that never runs the GEMM (the screen of
    :mod:`fastvr.ops.screen`) never pays for it.
    """

    Y: Any
    mean: Any
    _layout: tuple[Any, float] | None = field(default=None, repr=False, compare=False)

    @property
    def augmented(self) -> Any:
        return self.gemm_layout()[0]

    @property
    def max_norm(self) -> float:
        """The largest squared norm of a centred row."""
        return self.gemm_layout()[1]

    @property
    def norms(self) -> Any:
        return self.augmented[:, -1]

    @overflow_quietly
    def gemm_layout(self) -> tuple[Any, float]:
        """The GEMM layout and the largest squared norm, built on first use."""
        if self._layout is None:
            xp = array_api_compat.array_namespace(self.Y)
            if array_api_compat.is_numpy_namespace(xp):
                augmented, norms = _numpy_layout(self.Y, self.mean)
            else:
                centred = self.Y - self.mean
                norms = row_sq_norms(centred, xp=xp)
                ones = xp.ones_like(norms)
                augmented = xp.concat([centred * -2, ones[:, None], norms[:, None]], axis=1)
            self._layout = (augmented, float(xp.max(norms)))
        return self._layout


def _numpy_layout(Y: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GEMM layout written into one new array: the generic path's three temporaries
    of the reference's size cost more than the GEMM's first call on a fresh classifier
    (page faults). The same operations on the same values: the same bits."""
    m, d = Y.shape
    augmented = np.empty((m, d + 2), dtype=np.result_type(Y.dtype, mean.dtype))
    centred = augmented[:, :d]
    np.subtract(Y, mean, out=centred)
    norms = np.einsum("ij,ij->i", centred, centred)
    centred *= -2
    augmented[:, d] = 1
    augmented[:, d + 1] = norms
    return augmented, norms


@overflow_quietly
def prepare_reference(Y: Any, *, xp: ModuleType, shift: Any = None, gemm: bool = True) -> Reference:
    """Centre ``Y`` by its mean (accumulated in float64) and lay it out for the L2 GEMM.

    ``shift``: centre by this float64 ``(1, d)`` row instead, a :func:`centring_shift` of a
    larger set that ``Y`` is part of (so that parts give the distances the whole would).
    ``gemm=False``: leave the GEMM layout until a query needs it."""
    if shift is None:
        shift = centring_shift(xp.sum(Y, axis=0, keepdims=True, dtype=xp.float64), Y.shape[0])
    mean = xp.astype(xp.asarray(shift, device=array_api_compat.device(Y)), Y.dtype)
    ref = Reference(Y, mean)
    if gemm:
        ref.gemm_layout()
    return ref


def centring_shift(column_sums: Any, n_rows: int) -> Any:
    """The centring shift of rows whose float64 column sums are ``column_sums``: their mean
    on a coarse dyadic grid. Integer data (pixels) then stays on a grid of 2⁻⁸ whose products
    and sums float64 holds exactly, so exactly equal distances stay equal and the tie rules
    hold. Rounding the shift by at most 2⁻⁹ costs the centring nothing."""
    xp = array_api_compat.array_namespace(column_sums)
    return xp.round(column_sums / n_rows * _SHIFT_GRID) / _SHIFT_GRID


def _refine_cancelled(
    D2: Any, X: Any, x_norms: Any, ref: Reference, *, xp: ModuleType, budget_bytes: int
) -> None:
    """Recompute in float64, in place, the entries of ``D2`` the expansion may have lost."""
    tau = _REFINE_BELOW.get(itemsize(D2.dtype, xp=xp), _REFINE_BELOW[4])
    # A row can only hold such an entry if its smallest value is under its largest threshold.
    suspects = xp.nonzero(xp.min(D2, axis=1) < tau * (x_norms + ref.max_norm))[0]
    if suspects.shape[0] == 0:
        return
    rows_d2 = take_rows(D2, suspects, xp=xp)
    threshold = tau * (xp.take(x_norms, suspects)[:, None] + ref.norms[None, :])
    sub_rows, cols = xp.nonzero(rows_d2 < threshold)
    rows = xp.take(suspects, sub_rows)
    # GEMM distances are BLAS's rounding anyway: few pairs need no compiled loop
    exact = pair_sq_distances(
        X, ref.Y, rows, cols, xp=xp, budget_bytes=budget_bytes, compiled_from=1 << 20
    )
    scatter_set(D2, rows, cols, xp.astype(exact, D2.dtype), xp=xp)


def pair_sq_distances(
    X: Any,
    Y: Any,
    rows: Any,
    cols: Any,
    *,
    xp: ModuleType,
    budget_bytes: int,
    compiled_from: int = 0,
) -> Any:
    """``Σ (X[r] − Y[c])²`` in float64 for each pair ``(rows[p], cols[p])``, directly from the
    coordinates: a compiled loop on numpy float64 (no gathered copies), otherwise gathered
    in chunks that fit the budget. ``compiled_from``: fewer terms than this take the gathered
    path on numpy too (no compiler on a fresh machine); its sums are rounded in another
    order, so callers whose sums must not depend on how many pairs a call holds (the screen:
    one process and Dask chunks give the same bits) leave it at 0."""
    numpy64 = array_api_compat.is_numpy_namespace(xp) and X.dtype == Y.dtype == np.float64
    if numpy64 and rows.shape[0] * X.shape[1] >= compiled_from:
        from ..kernels import cpu

        out = np.empty(rows.shape[0], dtype=np.float64)
        cpu.pair_sq_distances(X, Y, rows, cols, out)
        return out
    out = xp.empty(rows.shape[0], dtype=xp.float64, device=array_api_compat.device(X))
    chunk = max(1, budget_bytes // (3 * 8 * X.shape[1]))
    for part in blocks(rows.shape[0], chunk):
        diff = xp.astype(take_rows(X, rows[part], xp=xp), xp.float64) - xp.astype(
            take_rows(Y, cols[part], xp=xp), xp.float64
        )
        out[part] = xp.sum(diff * diff, axis=1)
    return out


@overflow_quietly
def sq_l2_block(
    X: Any, ref: Reference, *, xp: ModuleType, budget_bytes: int, clamp: bool = True
) -> Any:
    """Squared L2 distances ``(n, m)`` from rows of ``X`` to the reference, clamped at 0.

    With ``clamp=False`` tiny negative values (rounding of zero distances the refinement did
    not catch) are left in; callers that rank rows and clamp their winners save a pass.

    Examples
    --------
    >>> import numpy as np, array_api_compat.numpy as xp
    >>> ref = prepare_reference(np.array([[0.0, 0.0], [3.0, 4.0]]), xp=xp)
    >>> sq_l2_block(np.array([[0.0, 0.0]]), ref, xp=xp, budget_bytes=2**20)
    array([[ 0., 25.]])
    """
    centred = X - ref.mean
    x_norms = row_sq_norms(centred, xp=xp)
    ones = xp.ones_like(x_norms)
    query = xp.concat([centred, x_norms[:, None], ones[:, None]], axis=1)
    D2 = query @ ref.augmented.T
    _refine_cancelled(D2, X, x_norms, ref, xp=xp, budget_bytes=budget_bytes)
    return clamp_min_(D2, 0, xp=xp) if clamp else D2


@overflow_quietly
def l1_block(X: Any, Y: Any, *, xp: ModuleType) -> Any:
    """L1 (Manhattan) distances ``(n, m)`` by broadcasting, in cache-sized tiles."""
    n, d = X.shape
    m = Y.shape[0]
    per_pair = d * itemsize(X.dtype, xp=xp)
    pairs = max(1, _L1_TILE_BYTES // per_pair)
    tile_m = min(m, pairs)
    tile_n = max(1, min(n, pairs // tile_m))
    out = xp.empty((n, m), dtype=X.dtype, device=array_api_compat.device(X))
    for i in blocks(n, tile_n):
        Xi = X[i, None, :]
        for j in blocks(m, tile_m):
            out[i, j] = xp.sum(xp.abs(Xi - Y[None, j, :]), axis=2)
    return out


def rows_per_block(n_cols: int, n_features: int, itemsize: int, budget_bytes: int) -> int:
    """Rows of a distance block whose temporaries fit the budget.

    Per row: the block itself and its selection indices (``n_cols × (itemsize + 16)``), plus
    three row-sized copies of the query (centred, scaled, squared).
    """
    per_row = n_cols * (itemsize + 16) + 3 * n_features * itemsize
    return max(1, budget_bytes // per_row)


def vectorized_distances(
    X: Any, ref: Reference, *, metric: str, squared: bool, xp: ModuleType, budget_bytes: int
) -> Any:
    """The full ``(n, m)`` matrix by the vectorized path, temporaries bounded per row block."""
    n, m = X.shape[0], ref.Y.shape[0]
    rows = rows_per_block(m, X.shape[1], itemsize(X.dtype, xp=xp), budget_bytes)

    def block(Xb: Any) -> Any:
        if metric == "l1":
            return l1_block(Xb, ref.Y, xp=xp)
        D2 = sq_l2_block(Xb, ref, xp=xp, budget_bytes=budget_bytes)
        return D2 if squared else xp.sqrt(D2)

    if rows >= n:
        return block(X)
    # Several blocks: write each into the result, so only one block is ever extra.
    out = xp.empty((n, m), dtype=X.dtype, device=array_api_compat.device(X))
    for part in blocks(n, rows):
        out[part, :] = block(X[part, ...])
    return out


def loop_distances(
    X: Any, Y: Any, *, method: str, metric: str, squared: bool, xp: ModuleType
) -> Any:
    """The full matrix by a Numba loop kernel: CPU loops, or CUDA kernels for CuPy arrays."""
    l1 = metric == "l1"
    if array_api_compat.is_cupy_namespace(xp):
        from ..kernels import cuda as kernels

        out = xp.empty((X.shape[0], Y.shape[0]), dtype=X.dtype, device=array_api_compat.device(X))
        getattr(kernels, method)(X, Y, out, l1, squared)
        return out
    from ..kernels import cpu as kernels

    Xh, Yh = to_numpy(X), to_numpy(Y)
    out = np.empty((Xh.shape[0], Yh.shape[0]), dtype=Xh.dtype)
    if method == "one_loop":
        kernels.one_loop(Xh, np.ascontiguousarray(Yh.T), out, l1, squared)
    else:
        kernels.two_loops(Xh, Yh, out, l1, squared)
    if array_api_compat.is_numpy_namespace(xp):
        return out
    return xp.asarray(out, device=array_api_compat.device(X))
