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
collects it); else ``saved`` under the working directory.

Files are written only inside that folder: a name that leads out of it (``../x.npy``, an
absolute path elsewhere, a link out) is a ``ValueError`` naming both, and saving creates at
most the folder itself (its parent must exist), never a chain of folders. The messages name
the full path. A model's ``load`` checks the file against the model (keys, shapes, dtypes)
before it replaces anything: see :func:`load_params`.

Examples
--------
>>> import tempfile, numpy as np
>>> from fastvr.saved import load_params, save_params, set_save_folder
>>> set_save_folder(tempfile.mkdtemp())
>>> save_params("w.npy", {"W": np.eye(2)})  # doctest: +ELLIPSIS
/.../w.npy saved.
>>> load_params("w.npy")["W"]  # doctest: +ELLIPSIS
/.../w.npy loaded.
array([[1., 0.],
       [0., 1.]])
>>> set_save_folder(None)
"""

from __future__ import annotations

import os
import tokenize
import warnings
from typing import Any, NamedTuple

import numpy as np

from ._backend import to_numpy
from ._validation import check_array, check_dict, check_path
from .data_utils import DAMAGED_PICKLE, UnsafePickleError, load_pickle

__all__ = ["load_params", "save_folder", "save_params", "set_save_folder"]

ENV = "FASTVR_SAVE_DIR"
_folder: str | None = None


def set_save_folder(folder: str | os.PathLike | None) -> None:
    """Save and load models in ``folder`` from now on (``None``: back to the default)."""
    global _folder
    _folder = None if folder is None else check_path(folder, "folder")


def save_folder() -> str:
    """The folder :func:`save_params` and :func:`load_params` use now (see the module doc)."""
    if _folder is not None:
        return _folder
    if os.environ.get(ENV):
        return os.environ[ENV]
    course = os.path.join("cs231n", "saved")
    return course if os.path.isdir(course) else "saved"


def _path(fname: str | os.PathLike) -> str:
    """``fname`` in the save folder (an absolute ``fname`` as it is)."""
    if not check_path(fname, "fname"):
        raise ValueError("fname must name a file; got an empty name")
    return os.path.join(save_folder(), os.fspath(fname))


def check_save_folder() -> bool:
    """Whether the save folder exists; when it does not, that it can be created (its parent
    exists), else ``NotADirectoryError`` / ``FileNotFoundError`` naming it and where it came
    from (``fastvr info`` reports the same)."""
    folder = os.path.realpath(save_folder())
    if os.path.isdir(folder):
        return True
    source = ENV if _folder is None and os.environ.get(ENV) else "folder"
    if os.path.exists(folder):
        raise NotADirectoryError(f"the save folder {folder} ({source}) is not a folder")
    parent = os.path.dirname(folder)
    if not os.path.isdir(parent):
        raise FileNotFoundError(
            f"the save folder {folder} ({source}) cannot be created: its parent {parent} "
            "does not exist, and fastvr creates only the save folder itself"
        )
    return False


def _writable_path(fname: str | os.PathLike) -> str:
    """``fname`` in the save folder, refused if it leads outside it; the folder is created
    when missing (only it: its parent must exist, and so must any folder inside it)."""
    path, folder = _path(fname), save_folder()
    inside, target = os.path.realpath(folder), os.path.realpath(path)
    if os.path.commonpath([inside, target]) != inside or target == inside:
        raise ValueError(
            f"fname {os.fspath(fname)!r} leads to {target}, outside the save folder {inside}: "
            "fastvr writes models only inside it (name a file there, or choose the folder "
            "with fastvr.set_save_folder or FASTVR_SAVE_DIR)"
        )
    if not check_save_folder():
        os.mkdir(inside)
    if not os.path.isdir(os.path.dirname(target)):
        raise FileNotFoundError(
            f"cannot save {os.fspath(fname)!r}: the folder {os.path.dirname(target)} does not "
            "exist (fastvr creates only the save folder itself)"
        )
    return target


def save_params(fname: str | os.PathLike, params: dict[str, Any]) -> None:
    """``np.save`` the dict ``params`` (host copies of its arrays) as ``fname`` in the save
    folder, printing ``<path> saved.`` (the course prints ``fname``; the full path says where).
    """
    check_dict(params, "params")
    for name, value in params.items():
        if not isinstance(name, str):
            raise TypeError(f"params must be keyed by names (str); got the key {name!r}")
        check_array(value, f"params[{name!r}]")
    path = _writable_path(fname)
    np.save(path, {name: np.asarray(to_numpy(value)) for name, value in params.items()})
    print(f"{path} saved.")


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


def load_params(
    fname: str | os.PathLike, like: dict[str, Any] | None = None, *, model: str = "model"
) -> dict[str, Any] | None:
    """The dict saved as ``fname`` in the save folder, printing ``<path> loaded.``; when the
    file does not exist, prints ``<fname> not available.`` and returns None (the course's
    ``load`` then returns False).

    With ``like`` (a model's current parameters), the file must hold exactly its names, each
    a real floating array of the same shape; otherwise a ``ValueError`` names the file, the
    key, the expected and the found, before anything is printed as loaded. The arrays come
    back in ``like``'s dtypes.
    """
    path = _path(fname)
    if not os.path.exists(path):
        print(f"{os.fspath(fname)} not available.")
        return None
    content = read_saved_dict(path)
    if like is not None:
        content = _matching(content, like, path, model)
    print(f"{path} loaded.")
    return content


def _matching(content: dict[str, Any], like: dict[str, Any], path: str, model: str) -> dict:
    missing = [name for name in like if name not in content]
    extra = [name for name in content if name not in like]
    if missing or extra:
        found = ", ".join(sorted(content)) or "nothing"
        wanted = ", ".join(sorted(like))
        raise ValueError(
            f"{path} does not fit this {model}: it holds {found}; the {model} has {wanted}"
            + (f" (missing: {', '.join(missing)})" if missing else "")
            + (f" (not in the {model}: {', '.join(extra)})" if extra else "")
        )
    matched = {}
    for name, expected in like.items():
        value, shape = content[name], tuple(expected.shape)
        wanted = " x ".join("any" if n is None else str(n) for n in shape) or "()"
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            kind = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
            raise ValueError(
                f"{path}: {name!r} holds {kind}; this {model} needs a floating array of "
                f"shape ({wanted})"
            )
        fits = value.ndim == len(shape) and all(
            n is None or n == m for n, m in zip(shape, value.shape, strict=True)
        )
        if not fits or 0 in value.shape:
            raise ValueError(
                f"{path}: {name!r} has shape {value.shape}; this {model}'s {name} has "
                f"shape ({wanted})"
            )
        dtype = value.dtype if expected.dtype is None else np.dtype(expected.dtype)
        matched[name] = value.astype(dtype, copy=False)
    return matched


class Slot(NamedTuple):
    """What :func:`load_params` accepts for a parameter a model has no value for yet:
    ``None`` in ``shape`` matches any length; a ``dtype`` of ``None`` keeps the file's."""

    shape: tuple[int | None, ...]
    dtype: Any = None
