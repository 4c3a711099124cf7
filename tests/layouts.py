"""The memory layouts notebooks pass, built from a C-contiguous array with the same values
(shared by the layout tests and benchmarks)."""

from __future__ import annotations

import numpy as np

ROW_LAYOUTS = [
    "contiguous",
    "column slice",
    "fortran",
    "reversed rows",
    "column step",
    "read-only",
    "memmap",
]


def in_layout(X: np.ndarray, layout: str, folder) -> np.ndarray:
    """The values of the C-contiguous ``X`` in ``layout``; ``folder`` holds a memmap's file."""
    if layout == "contiguous":
        return X
    if layout == "column slice":  # X_train_feats[:, :-1], as the features notebook does
        wider = np.empty((*X.shape[:-1], X.shape[-1] + 1), X.dtype)
        wider[..., :-1] = X
        return wider[..., :-1]
    if layout == "fortran":  # np.asfortranarray, or a transpose of the other order
        return np.asfortranarray(X)
    if layout == "reversed rows":
        return X[::-1].copy()[::-1]
    if layout == "column step":
        wider = np.empty((*X.shape[:-1], 2 * X.shape[-1]), X.dtype)
        wider[..., ::2] = X
        return wider[..., ::2]
    if layout == "read-only":
        view = X.copy()
        view.flags.writeable = False
        return view
    if layout == "memmap":
        path = folder / f"layout-{id(X)}.npy"
        np.save(path, X)
        return np.load(path, mmap_mode="r")
    raise ValueError(f"unknown layout {layout!r}")
