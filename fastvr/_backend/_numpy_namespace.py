"""array-api-compat's numpy namespace, imported without the numpy submodules it never uses.

The namespace copies every public name of numpy (``from numpy import *`` and each name of
``dir(numpy)``), and numpy loads its submodules lazily on first access: that copy imports
``numpy.f2py`` (the Fortran wrapper generator), ``numpy.testing`` and ``numpy.ma``, 0.1 s of
a notebook's first second (measured 140 ms against 30 ms without them, on a 2-core EPYC),
and ``numpy.random``, ``numpy.polynomial`` and six smaller ones, another 10-15 ms. None of
them is part of the array API. While the namespace is imported, numpy's ``__all__`` and
``__dir__`` leave out the ones not yet loaded; the namespace then hands them out on first
access, as numpy does (``xp.random`` is ``numpy.random``), and they import as usual for
whoever asks numpy for them.
"""

from __future__ import annotations

import sys
from types import ModuleType

import numpy as np

_UNUSED = (
    "f2py",
    "testing",
    "ma",
    "random",
    "polynomial",
    "ctypeslib",
    "typing",
    "rec",
    "char",
    "strings",
    "core",
)


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
    if skipped and not hasattr(xp, "__getattr__"):
        xp.__getattr__ = _forward_to_numpy(xp.__name__, frozenset(skipped))
    return xp


def _forward_to_numpy(module: str, names: frozenset[str]):
    """A module ``__getattr__`` (PEP 562) that hands out the skipped submodules from numpy
    when first asked for, and raises the usual ``AttributeError`` for anything else."""

    def __getattr__(name: str) -> ModuleType:
        if name in names:
            return getattr(np, name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
