"""Where a computation runs, and handing results back in the caller's array type.

The rule ("outputs follow inputs"): numpy in, numpy out, even when the work ran on the
GPU; CuPy (or any other array-API library's arrays) in, the same library out, with no
host round trip. Arrays of two libraries, or of two GPUs, in one call are an error.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np

from ._numpy_namespace import import_numpy_namespace
from ._select import Backend, current_backend, import_cupy

NUMPY_NAMESPACE = import_numpy_namespace()  # every host computation's xp


def library_of(x: Any) -> str:
    """Name of the array library that owns ``x``: ``"numpy"`` for host data and lists."""
    if isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)):
        return "numpy"
    if array_api_compat.is_cupy_array(x):
        return "cupy"
    if array_api_compat.is_array_api_obj(x):
        return type(x).__module__.split(".")[0]
    raise TypeError(f"expected an array (numpy, CuPy or array-API), got {type(x).__name__}")


def _cupy_device_id(x: Any) -> int:
    return int(x.device.id)


def to_numpy(x: Any) -> np.ndarray:
    """Copy (or view) any supported array as a numpy array on the host.

    Examples
    --------
    >>> import fastvr
    >>> fastvr.to_numpy([1.0, 2.0])
    array([1., 2.])
    """
    library = library_of(x)
    if library == "numpy":
        return np.asarray(x)
    if library == "cupy":
        return x.get()
    try:  # other array-API libraries on the CPU (array-api-strict, ...) speak DLPack
        return np.from_dlpack(x)
    except (TypeError, RuntimeError, BufferError):
        return np.asarray(x)


@dataclass(frozen=True)
class Placement:
    """Where one call computes (``xp`` on ``device``) and what the caller gets back.

    ``device`` is the GPU id for CuPy, the arrays' own device object for other array-API
    libraries and None on the host. ``host_caller`` is true when the caller handed in numpy
    arrays: results then go back to the host even if the work ran on a GPU.
    """

    library: str
    xp: ModuleType
    device: Any
    host_caller: bool

    def put(self, x: Any) -> Any:
        """Move a host or same-library array to this placement (no copy when already there)."""
        if self.library == "numpy":
            return np.asarray(x)
        if self.library == "cupy":
            cupy = import_cupy()
            with cupy.cuda.Device(self.device):
                return cupy.asarray(x)
        if library_of(x) == "numpy":  # another array-API library: onto its arrays' device
            return self.xp.asarray(np.asarray(x), device=self.device)
        return x

    def give_back(self, x: Any) -> Any:
        """Return a result in the caller's array type."""
        if self.host_caller and self.library != "numpy":
            return to_numpy(x)
        return x

    def __reduce__(self) -> tuple:
        # Namespaces are modules, which do not pickle: rebuild this one by library name.
        return (_placement_of_library, (self.library, self.device, self.host_caller))

    def active(self) -> contextlib.AbstractContextManager:
        """Make this placement's GPU the current one while computing (no-op on the CPU)."""
        if self.library == "cupy":
            return import_cupy().cuda.Device(self.device)
        return _NOWHERE_TO_GO


_NOWHERE_TO_GO = contextlib.nullcontext()  # reusable; a generator-based one cost ~1.5 us a call


def _placement_of_library(library: str, device: Any, host_caller: bool) -> Placement:
    if library == "numpy":
        xp = NUMPY_NAMESPACE
    elif library == "cupy":
        xp = array_api_compat.array_namespace(import_cupy().empty(0))
    else:
        xp = importlib.import_module(library)
    return Placement(library, xp, device, host_caller)


@functools.cache
def _host_placement() -> Placement:
    # one frozen object for every host call: the namespace look-up cost ~3 us a call
    return Placement("numpy", NUMPY_NAMESPACE, None, host_caller=True)


def _placement_of_backend(resolved: Backend) -> Placement:
    if resolved.name == "cupy":
        cupy = import_cupy()
        return Placement(
            "cupy",
            array_api_compat.array_namespace(cupy.empty(0)),
            resolved.device,
            host_caller=True,
        )
    return _host_placement()


def _describe(library: str, device: Any) -> str:
    if device is None:
        return library
    return f"{library} (GPU {device})" if library == "cupy" else f"{library} ({device!r})"


def _device_of(x: Any, library: str) -> Any:
    if library == "numpy":
        return None
    return _cupy_device_id(x) if library == "cupy" else array_api_compat.device(x)


def placement_for(
    *arrays: Any, fitted: Placement | None = None, where_given: bool = False
) -> Placement:
    """Decide where a call on ``arrays`` runs.

    Host inputs run on the fitted state's placement if there is one, else on the selected
    backend, or on the host with ``where_given=True`` (for user code, such as a subclass's
    own loss, that was written for the arrays it is handed). Non-host inputs run where they
    live. Mixing libraries or GPUs raises :class:`TypeError` naming both sides.
    """
    if fitted is None and all(type(x) is np.ndarray for x in arrays):  # the common case
        return _host_placement() if where_given else _placement_of_backend(current_backend())
    found: dict[tuple[str, Any], None] = {}
    for x in arrays:
        try:
            library = library_of(x)
        except TypeError:  # not an array: the argument's own check names it
            continue
        found[(library, _device_of(x, library))] = None
    native = [key for key in found if key[0] != "numpy"]
    if len(native) > 1 or (native and ("numpy", None) in found):
        sides = " and ".join(_describe(*key) for key in found)
        raise TypeError(
            f"arrays from different libraries or devices in one call: {sides}; "
            "move them explicitly with fastvr.to_numpy(x) or fastvr.asarray(x)"
        )
    if not native:
        if fitted is not None:
            return Placement(fitted.library, fitted.xp, fitted.device, host_caller=True)
        return _host_placement() if where_given else _placement_of_backend(current_backend())
    library, device = native[0]
    if fitted is not None and (fitted.library, fitted.device) != (library, device):
        raise TypeError(
            f"this model was fitted on {_describe(fitted.library, fitted.device)} but got "
            f"{_describe(library, device)} input; move it with fastvr.to_numpy(x) or "
            "fastvr.asarray(x) first"
        )
    xp = array_api_compat.array_namespace(*(x for x in arrays if x is not None))
    return Placement(library, xp, device, host_caller=False)


def asarray(x: Any, dtype: Any = None) -> Any:
    """Move ``x`` to the selected backend's device (a CuPy array under ``"cupy"``).

    Examples
    --------
    >>> import fastvr
    >>> with fastvr.backend("numpy"):
    ...     fastvr.asarray([1, 2]).tolist()
    [1, 2]
    """
    place = _placement_of_backend(current_backend())
    library = library_of(x)
    try:
        out = place.put(x if library in ("numpy", place.library) else to_numpy(x))
    except TypeError as exc:  # e.g. strings or objects, which the device library cannot hold
        raise TypeError(f"x cannot be moved to {place.library}: {exc}") from None
    return out if dtype is None else _cast(out, dtype, place.xp)


def _cast(x: Any, dtype: Any, xp: Any) -> Any:
    """``x`` as ``dtype``, refusing what a silent cast would damage: complex to real (drops
    the imaginary part), values beyond the new dtype's range (would become inf)."""
    shown = dtype
    if isinstance(dtype, (str, type, np.dtype)):  # numpy's spellings: 'float32', np.float32
        try:
            shown = np.dtype(dtype).name
        except TypeError:
            raise TypeError(f"dtype {dtype!r} is not a data type") from None
        if not hasattr(xp, shown):
            raise TypeError(f"dtype {shown} is not one of {xp.__name__}'s") from None
        dtype = getattr(xp, shown)
    try:
        to_real = not xp.isdtype(dtype, "complex floating")
    except (TypeError, ValueError, AttributeError):
        raise TypeError(f"dtype {dtype!r} is not a data type of {xp.__name__}") from None
    if to_real and xp.isdtype(x.dtype, "complex floating"):
        raise TypeError(f"x is complex: casting it to {shown} would drop the imaginary part")
    try:
        with np.errstate(over="raise", invalid="raise"):
            return xp.astype(x, dtype)
    except FloatingPointError:
        raise ValueError(f"x holds values beyond the range of {shown}") from None
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot make x ({x.dtype}) an array of dtype {shown}: {exc}") from None


def placement_with_state(*arrays: Any, state: tuple = (), where_given: bool = False) -> Placement:
    """Placement for a call on ``arrays`` by a model holding ``state`` arrays (weights).

    State on the host is movable: it follows the arrays (or the selected backend, unless
    ``where_given``, see :func:`placement_for`). State on a device pins the call there: host
    arrays move to it, other devices are an error.
    """
    on_device = [
        s for s in state if s is not None and type(s) is not np.ndarray and library_of(s) != "numpy"
    ]
    if not on_device:
        return placement_for(*arrays, where_given=where_given)
    return placement_for(*arrays, fitted=placement_for(*on_device))
