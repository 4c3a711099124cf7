"""Small real datasets bundled with fastvr, so the demo and examples work offline."""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The UCI handwritten digits: 1797 grey 8 x 8 images (pixels 0..16) and labels 0..9.

    Bundled with fastvr (CC BY 4.0, Alpaydin and Kaynak 1998; see
    ``fastvr/datasets/data/DIGITS-LICENSE.txt``); nothing is downloaded.

    Returns
    -------
    images : ndarray, shape (1797, 8, 8), float64
    labels : ndarray, shape (1797,), int64

    Examples
    --------
    >>> from fastvr.datasets import load_digits
    >>> images, labels = load_digits()
    >>> images.shape, labels.shape, int(images.max()), sorted(set(labels.tolist()))[-1]
    ((1797, 8, 8), (1797,), 16, 9)
    """
    source = resources.files(__package__).joinpath("data", "digits.csv.gz")
    with source.open("rb") as raw, gzip.open(raw, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.float64)
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
