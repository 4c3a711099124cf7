"""The course's own code in plain numpy, at fastvr's module paths.

``benchmarks/notebook_cells.py`` runs an example notebook twice: as written (``fastvr``) and
with ``fastvr`` replaced by ``cs231n_plain`` in every cell, so each cell runs the course's
code instead. The functions follow the course's solved assignment (both editions); the
few conveniences of fastvr the example notebooks use (``cross_validate_k``,
``train_linear_grid``, ``plots``, ``load_digits``) are written as the course's notebook
cells write the same steps. Independent of fastvr: nothing here imports it.
"""

from __future__ import annotations

SAVE_FOLDER = "."


def use(name: str) -> None:
    """fastvr's device choice: the course's code runs on numpy only."""


def set_save_folder(path: str) -> None:
    global SAVE_FOLDER
    SAVE_FOLDER = path
