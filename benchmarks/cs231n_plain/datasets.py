"""The UCI digits, read from fastvr's bundled file without importing fastvr."""

from __future__ import annotations

import gzip
import pathlib

import numpy as np

_FILE = pathlib.Path(__file__).parents[2] / "fastvr" / "datasets" / "data" / "digits.csv.gz"


def load_digits():
    with gzip.open(_FILE, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.float64)
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
