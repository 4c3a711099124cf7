"""array-api-compat's numpy namespace, imported without the numpy submodules it never uses.

The namespace copies every public name of numpy (``from numpy import *`` and each name of
``dir(numpy)``), and numpy loads its submodules lazily on first access: that copy imports
``numpy.f2py`` (the Fortran wrapper generator), ``numpy.testing`` and ``numpy.ma``, 0.1 s of
a notebook's first second (measured 140 ms against 30 ms without them, on a 2-core EPYC).
None of them is part of the array API, and fastvr never reaches them through the namespace:
while it is imported, numpy's ``__all__`` and ``__dir__`` leave out the ones not yet loaded.
``numpy.f2py`` and the others still import as usual for whoever asks for them.
"""

from __future__ import annotations

import sys
from types import ModuleType

import numpy as np

_UNUSED = ("f2py", "testing", "ma")


def import_numpy_namespace() -> ModuleType:
    """``array_api_compat.numpy``, imported once (see the module's docstring)."""
    loaded = sys.modules.get("array_api_compat.numpy")
    if loaded is not None:
        return loaded
    skipped = {name for name in _UNUSED if f"numpy.{name}" not in sys.modules}
    all_names, list_names = np.__all__, np.__dir__
    np.__all__ = [name for name in all_names if name not in skipped]
    np.__dir__ = lambda: [name for name in list_names() if name not in skipped]
    try:
        import array_api_compat.numpy as xp
    finally:
        np.__all__, np.__dir__ = all_names, list_names
    return xp
