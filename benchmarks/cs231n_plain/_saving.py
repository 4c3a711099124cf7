"""The 2025 course's ``save``/``load`` of a params dict (``np.save`` of a dict)."""

from __future__ import annotations

import os

import numpy as np


def save(fname, params):
    from . import SAVE_FOLDER

    os.makedirs(SAVE_FOLDER, exist_ok=True)
    np.save(os.path.join(SAVE_FOLDER, fname), params)
    print(f"{fname} saved.")


def load(fname):
    from . import SAVE_FOLDER

    path = os.path.join(SAVE_FOLDER, fname)
    if not os.path.exists(path):
        print(f"{fname} not available.")
        return None
    params = np.load(path, allow_pickle=True).item()
    print(f"{fname} loaded.")
    return params
