"""Backend selection: which array library (and which GPU) host data is computed on.

The choice is held in a :class:`contextvars.ContextVar`, so ``with fastvr.backend(...)``
is thread- and task-local. Nothing here imports CuPy until CuPy is actually asked for.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

BACKEND_NAMES = ("auto", "numpy", "cupy")
_ENV_VAR = "FASTVR_BACKEND"


class BackendUnavailableError(RuntimeError):
    """A backend was asked for that this machine cannot provide (e.g. CuPy without a GPU)."""


@dataclass(frozen=True)
class Backend:
    """A resolved compute backend: ``name`` is ``"numpy"`` or ``"cupy"``; ``device`` a GPU id."""

    name: str
    device: int | None = None

    def __str__(self) -> str:
        return self.name if self.device is None else f"{self.name} (GPU {self.device})"


@dataclass(frozen=True)
class _Request:
    name: str
    device: int | None


_NOT_SET = _Request("", None)
_requested: contextvars.ContextVar[_Request] = contextvars.ContextVar(
    "fastvr_backend", default=_NOT_SET
)


def _check_request(name: object, device: object) -> _Request:
    if not isinstance(name, str):
        raise TypeError(f"backend name must be a str, one of {BACKEND_NAMES}; got {name!r}")
    key = name.strip().lower()
    if key not in BACKEND_NAMES:
        raise ValueError(f"backend name must be one of {BACKEND_NAMES}; got {name!r}")
    if device is not None and (isinstance(device, bool) or not isinstance(device, int)):
        raise TypeError(f"device must be an int GPU id or None; got {device!r}")
    if device is not None and key == "numpy":
        raise ValueError(f"device={device} only applies to the 'cupy' backend")
    return _Request(key, device)


def import_cupy() -> ModuleType:
    """Import CuPy, or raise :class:`BackendUnavailableError` saying how to install it."""
    try:
        import cupy
    except ImportError as exc:  # the message is the point of this function
        raise BackendUnavailableError(
            "the 'cupy' backend needs CuPy, which is not installed; install fastvr with "
            "the extra matching your CUDA toolkit: pip install 'fastvr[cuda12]' or "
            "pip install 'fastvr[cuda13]'"
        ) from exc
    return cupy


@functools.cache
def cuda_device_count() -> int:
    """Number of usable CUDA devices seen by CuPy (0 when CuPy or a driver is missing).

    Cached: ``"auto"`` is resolved on every call, and a failed ``import cupy`` is slow.
    """
    try:
        cupy = import_cupy()
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # no driver, no device, broken install: all mean "no GPU here"
        return 0


_NUMPY = Backend("numpy")


def _resolve(request: _Request) -> Backend:
    if request.name == "numpy":
        return _NUMPY
    if request.name == "auto":
        return Backend("cupy", request.device or 0) if cuda_device_count() else _NUMPY
    cupy = import_cupy()
    count = cuda_device_count()
    device = request.device or 0
    if count == 0:
        raise BackendUnavailableError(
            "the 'cupy' backend is installed but no CUDA device is usable here; "
            "use fastvr.use('numpy') or 'auto'"
        )
    if device >= count:
        raise BackendUnavailableError(
            f"device={device} does not exist: CuPy {cupy.__version__} sees {count} device(s)"
        )
    return Backend("cupy", device)


def _current_request() -> _Request:
    request = _requested.get()
    return _environment_request() if request is _NOT_SET else request


def _environment_request() -> _Request:
    """The backend ``FASTVR_BACKEND`` asks for: unset or empty is ``"auto"``; another value
    is a one-line ``ValueError`` naming the variable and its values. Read at every call
    (a notebook may set it late), parsed once per value."""
    return _request_named_by_environment(os.environ.get(_ENV_VAR, ""))


@functools.lru_cache(maxsize=8)  # (a refused value raises again each time: not cached)
def _request_named_by_environment(value: str) -> _Request:
    if not value.strip():
        return _Request("auto", None)
    if value.strip().lower() not in BACKEND_NAMES:
        names = ", ".join(repr(name) for name in BACKEND_NAMES)
        raise ValueError(
            f"{_ENV_VAR}={value!r} is not one of {names} (empty means 'auto'); "
            f"fix or unset it, or choose in code with fastvr.use(...)"
        )
    return _check_request(value, None)


def environment_backend() -> str:
    """What ``FASTVR_BACKEND`` resolves to here, as text: the backend, or why it cannot be
    used (``fastvr info`` reports it rather than failing)."""
    try:
        return str(_resolve(_environment_request()))
    except (ValueError, BackendUnavailableError) as error:
        return f"error: {error}"


def current_backend() -> Backend:
    """The backend that host (numpy) inputs are computed on right now.

    Examples
    --------
    >>> import fastvr
    >>> with fastvr.backend("numpy"):
    ...     fastvr.current_backend().name
    'numpy'
    """
    return _resolve(_current_request())


def use(name: str = "auto", device: int | None = None) -> Backend:
    """Select the backend for the rest of the program (or of the current context).

    Parameters
    ----------
    name : {"auto", "numpy", "cupy"}
        ``"auto"`` picks CuPy when a CUDA device is usable and numpy otherwise.
    device : int, optional
        GPU id for the ``"cupy"`` backend (default 0).

    Returns
    -------
    Backend
        The resolved backend. Asking for CuPy where it cannot run raises
        :class:`BackendUnavailableError` here, not later.

    Examples
    --------
    >>> import fastvr
    >>> fastvr.use("numpy").name
    'numpy'
    >>> _ = fastvr.use("auto")
    """
    request = _check_request(name, device)
    resolved = _resolve(request)
    _requested.set(request)
    return resolved


@contextlib.contextmanager
def backend(name: str = "auto", device: int | None = None) -> Iterator[Backend]:
    """Context manager form of :func:`use`; the previous choice is restored on exit.

    Examples
    --------
    >>> import numpy as np, fastvr
    >>> with fastvr.backend("numpy"):
    ...     d = fastvr.pairwise_distances(np.zeros((2, 3)), np.ones((1, 3)))
    >>> d.shape
    (2, 1)
    """
    request = _check_request(name, device)
    resolved = _resolve(request)
    token = _requested.set(request)
    try:
        yield resolved
    finally:
        _requested.reset(token)
