"""Saving and loading models in the course's file format (2025+), safely, in a settable folder.

The course's ``save(fname)`` writes ``np.save`` of a dict (``{"W": W}`` for a linear
classifier, the ``params`` dict for a network) into its own package folder
``cs231n/saved/``; ``load`` reads it back with ``allow_pickle=True``, which runs whatever a
tampered file asks for. fastvr writes the same files, so they move both ways between the
course's code and fastvr, but reads them through the restricted unpickler of
:mod:`fastvr.data_utils`: plain data only, anything else is refused naming the file.

Where files go (first that applies): the folder given to :func:`set_save_folder`; the
environment variable ``FASTVR_SAVE_DIR``; ``cs231n/saved`` under the working directory when
that folder exists (a notebook run from the assignment folder, whose submission script
collects it); else ``saved`` under the working directory. An absolute ``fname`` is used as is.

Examples
--------
>>> import tempfile, numpy as np
>>> from fastvr.saved import load_params, save_params, set_save_folder
>>> set_save_folder(tempfile.mkdtemp())
>>> save_params("w.npy", {"W": np.eye(2)})
w.npy saved.
>>> load_params("w.npy")["W"]
w.npy loaded.
array([[1., 0.],
       [0., 1.]])
>>> set_save_folder(None)
"""

from __future__ import annotations

import os
import tokenize
import warnings
from typing import Any

import numpy as np

from ._backend import to_numpy
from ._validation import check_array, check_dict, check_path
from .data_utils import DAMAGED_PICKLE, UnsafePickleError, load_pickle

__all__ = ["load_params", "save_folder", "save_params", "set_save_folder"]

_folder: str | None = None


def set_save_folder(folder: str | os.PathLike | None) -> None:
    """Save and load models in ``folder`` from now on (``None``: back to the default)."""
    global _folder
    _folder = None if folder is None else check_path(folder, "folder")


def save_folder() -> str:
    """The folder :func:`save_params` and :func:`load_params` use now (see the module doc)."""
    if _folder is not None:
        return _folder
    if os.environ.get("FASTVR_SAVE_DIR"):
        return os.environ["FASTVR_SAVE_DIR"]
    course = os.path.join("cs231n", "saved")
    return course if os.path.isdir(course) else "saved"


def _path(fname: str | os.PathLike) -> str:
    if not check_path(fname, "fname"):
        raise ValueError("fname must name a file; got an empty name")
    return os.path.join(save_folder(), os.fspath(fname))


def save_params(fname: str | os.PathLike, params: dict[str, Any]) -> None:
    """``np.save`` the dict ``params`` (host copies of its arrays) as ``fname`` in the save
    folder, printing ``<fname> saved.`` as the course does."""
    path = _path(fname)
    check_dict(params, "params")
    for name, value in params.items():
        if not isinstance(name, str):
            raise TypeError(f"params must be keyed by names (str); got the key {name!r}")
        check_array(value, f"params[{name!r}]")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    np.save(path, {name: np.asarray(to_numpy(value)) for name, value in params.items()})
    print(f"{os.fspath(fname)} saved.")


def read_saved_dict(path: str) -> dict[str, Any]:
    """The dict a course ``save`` wrote to ``path``, read without executing anything.

    Raises ``ValueError`` for a truncated file or one that is not a saved dict, and
    :class:`fastvr.data_utils.UnsafePickleError` for one that references anything but plain
    data; both name the file.
    """
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy format version {version}")
            with warnings.catch_warnings():  # numpy parses the header as a Python literal
                warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))
                shape, _, dtype = read_header(f)
            if shape != () or dtype != np.dtype(object):
                raise ValueError(f"holds a {dtype} array of shape {shape}, not a saved dict")
            saved = load_pickle(f)
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{path}: {exc}") from None
    # a damaged .npy header fails as a Python literal would (numpy parses it as one)
    except (*DAMAGED_PICKLE, SyntaxError, tokenize.TokenError) as exc:
        raise ValueError(f"{path} is not a model saved by the course or fastvr: {exc}") from None
    content = saved.item() if isinstance(saved, np.ndarray) and saved.shape == () else saved
    if not isinstance(content, dict) or not all(isinstance(k, str) for k in content):
        raise ValueError(f"{path} is not a model saved by the course or fastvr: no dict inside")
    return content


def load_params(fname: str | os.PathLike) -> dict[str, Any] | None:
    """The dict saved as ``fname`` in the save folder, printing ``<fname> loaded.``; when the
    file does not exist, prints ``<fname> not available.`` and returns None (the course's
    ``load`` then returns False)."""
    path = _path(fname)
    if not os.path.exists(path):
        print(f"{os.fspath(fname)} not available.")
        return None
    content = read_saved_dict(path)
    print(f"{os.fspath(fname)} loaded.")
    return content
