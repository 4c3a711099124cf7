"""fastvr: the CS231n Assignment 1 toolkit, fast on numpy (CPU) and CuPy (NVIDIA GPUs).

A drop-in replacement for the course's ``cs231n`` package: replace ``cs231n`` by ``fastvr``
in a notebook's imports. Pick where host data is computed with :func:`use` or
:func:`backend`; results always come back in the caller's array type.

Examples
--------
>>> import numpy as np, fastvr
>>> fastvr.pairwise_distances(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]))
array([[5.]])
"""

from . import _warmup
from ._backend import (
    Backend,
    BackendUnavailableError,
    asarray,
    backend,
    current_backend,
    to_numpy,
    use,
)
from ._config import (
    get_screening,
    get_working_memory,
    screening,
    set_screening,
    set_working_memory,
    working_memory,
)
from ._training import DivergenceWarning
from ._version import __version__
from ._warmup import warmup
from .neighbors import kneighbors, pairwise_distances
from .saved import save_folder, set_save_folder

__all__ = [
    "Backend",
    "BackendUnavailableError",
    "DivergenceWarning",
    "__version__",
    "asarray",
    "backend",
    "current_backend",
    "get_screening",
    "get_working_memory",
    "kneighbors",
    "pairwise_distances",
    "save_folder",
    "screening",
    "set_save_folder",
    "set_screening",
    "set_working_memory",
    "to_numpy",
    "use",
    "warmup",
    "working_memory",
]

# Last, once the package is imported (its thread may import the kernels' module): started
# first, the thread and its process slowed a notebook's import cell by ~40 ms (0.12 s
# against 0.07 s with this order), to cache the kernels a few milliseconds sooner.
_warmup.start_in_background()  # see fastvr._warmup; FASTVR_WARMUP=off turns it off
