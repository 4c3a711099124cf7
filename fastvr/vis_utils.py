"""The course's image-grid helpers (``visualize_grid``, ``vis_grid``)."""

from __future__ import annotations

from math import ceil, sqrt
from typing import Any

import numpy as np

from ._validation import check_fits, check_host_values, check_int, check_real


def visualize_grid(Xs: Any, ubound: float = 255.0, padding: int = 1) -> np.ndarray:
    """Tile images ``Xs`` (N, H, W, C) in a square grid, each rescaled to ``[0, ubound]``.

    An image whose pixels are all equal becomes 0 (the course's code divides by zero there).

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.vis_utils import visualize_grid
    >>> visualize_grid(np.random.default_rng(0).random((5, 4, 4, 3))).shape  # 3 x 3 grid
    (14, 14, 3)
    """
    Xs = check_host_values(Xs, "Xs", ndim=4)
    ubound = check_real(ubound, "ubound")
    padding = check_int(padding, "padding", low=0)
    N, H, W, C = Xs.shape
    grid_size = ceil(sqrt(N))
    shape = (
        H * grid_size + padding * (grid_size - 1),
        W * grid_size + padding * (grid_size - 1),
        C,
    )
    check_fits(8 * shape[0] * shape[1] * C, f"the grid with padding = {padding}")
    grid = np.zeros(shape)
    for i in range(N):
        y0, x0 = (i // grid_size) * (H + padding), (i % grid_size) * (W + padding)
        img = Xs[i]
        low, high = np.min(img), np.max(img)
        if high > low:
            grid[y0 : y0 + H, x0 : x0 + W] = ubound * _unit(img, low, high)
    return grid


def _unit(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """``(x - low) / (high - low)``, halved first so no difference of finite values
    overflows (halving is exact in binary floating point but for subnormals)."""
    return (x / 2 - low / 2) / (high / 2 - low / 2)


def vis_grid(Xs: Any) -> np.ndarray:
    """Tile images ``Xs`` (N, H, W, C) with one-pixel gaps, the whole grid scaled to [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.vis_utils import vis_grid
    >>> g = vis_grid(np.arange(4 * 2 * 2 * 1, dtype=float).reshape(4, 2, 2, 1))
    >>> g.shape, float(g.min()), float(g.max())
    ((6, 6, 1), 0.0, 1.0)
    """
    Xs = check_host_values(Xs, "Xs", ndim=4)
    N, H, W, C = Xs.shape
    A = ceil(sqrt(N))
    G = np.full((A * H + A, A * W + A, C), np.min(Xs), dtype=Xs.dtype)
    for n in range(N):
        y, x = divmod(n, A)
        G[y * H + y : (y + 1) * H + y, x * W + x : (x + 1) * W + x, :] = Xs[n]
    low, high = G.min(), G.max()
    return _unit(G, low, high) if high > low else np.zeros_like(G, dtype=float)
