"""Checks at the public boundary: every one raises before any work, naming the argument."""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

import array_api_compat
import numpy as np

from ._backend import (
    Placement,
    blas_readable,
    blas_ready,
    float_dtype_for,
    library_of,
    native_namespace,
    to_numpy,
)
from ._config import machine_bytes


def _as_array(x: Any, name: str) -> Any:
    """Lists and scalars become numpy arrays; other arrays are left where they are."""
    try:
        library = library_of(x)
    except TypeError:
        raise TypeError(f"{name} must be an array; got {type(x).__name__}") from None
    if library != "numpy":
        return x
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{name} must be a numeric array; got an array of Python objects")
    return arr


def check_array(x: Any, name: str, *, kinds: Any = ("real floating", "integral")) -> Any:
    """The namespace of ``x``, an array (not a list or a scalar: for functions that work on
    the caller's own array) of one of the dtype ``kinds``; ``TypeError`` naming it otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> check_array(np.ones(2), "w", kinds="real floating").__name__
    'array_api_compat.numpy'
    """
    if not array_api_compat.is_array_api_obj(x) or isinstance(x, np.generic):
        raise TypeError(f"{name} must be an array; got {type(x).__name__}")
    xp = array_api_compat.array_namespace(x)
    if not xp.isdtype(x.dtype, kinds):
        numbers = "floating" if kinds == "real floating" else "real"
        raise TypeError(f"{name} must hold {numbers} numbers; got dtype {x.dtype}")
    return xp


_NUMPY_KINDS = {"b": "bool", "c": "complex floating", "f": "real floating"}


def _kind(x: Any) -> str:
    """The dtype kind of ``x``, read where ``x`` lives (host data is checked before it moves)."""
    if isinstance(x, np.ndarray):  # the common case, without a namespace look-up (~5 us)
        code = x.dtype.kind
        return "integral" if code in "iu" else _NUMPY_KINDS.get(code, str(x.dtype))
    xp = array_api_compat.array_namespace(x)
    for kind in ("bool", "complex floating", "real floating", "integral"):
        if xp.isdtype(x.dtype, kind):
            return kind
    return str(x.dtype)


def check_samples(
    X: Any,
    name: str,
    place: Placement,
    *,
    ndim: int = 2,
    layout: str = "(n_samples, n_features)",
    finite: bool = True,
    products: bool = True,
) -> Any:
    """``X`` as a finite, non-empty floating array of ``ndim`` dimensions on ``place``.

    Integer data (uint8 images included) is converted to float64 before any arithmetic,
    so nothing wraps around; floating data keeps its dtype. ``finite=False`` leaves the
    NaN/inf check (a pass over the data) to the caller, see :func:`check_finite`. A layout
    a matrix product cannot read in place is copied once (see ``blas_ready``), unless
    ``products=False``: data that is only gathered row by row (training minibatches).
    The caller's array is never modified.
    """
    if (  # the common case, a float32/float64 numpy array as it should be (~4 us less)
        type(X) is np.ndarray
        and place.library == "numpy"
        and X.dtype.char in "fd"
        and X.ndim == ndim
        and X.size
        and (not products or X.flags.c_contiguous or X.flags.f_contiguous)
    ):
        if finite:
            check_finite(X, name, xp=place.xp)
        return X
    X = _as_array(X, name)
    check_sample_kind(X, name)
    if isinstance(X, np.ndarray) and X.dtype == np.float16:
        # Half precision has no BLAS on the CPU and no place in the array API standard:
        # computed in float32 (numpy's float16 products are ~100x slower).
        X = X.astype(np.float32)
    check_ndim(X, name, ndim, layout)
    check_not_empty(X, name)
    X, xp = place.put(X), place.xp
    X = xp.astype(X, float_dtype_for(X.dtype, xp=xp), copy=False)
    if products:
        X = blas_ready(X, xp=xp)
    if finite:
        check_finite(X, name, xp=xp)
    return X


# The metadata checks of check_samples and check_labels, one at a time: a Dask array's
# (fastvr._dask.chunks) go through the same ones, its lazy sizes computed in between.


def check_sample_kind(X: Any, name: str) -> None:
    """A ``TypeError`` unless ``X`` holds real numbers (floating or integer)."""
    if _kind(X) not in ("real floating", "integral"):
        raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype}")


def check_ndim(X: Any, name: str, ndim: int = 2, layout: str = "(n_samples, n_features)") -> None:
    """A ``ValueError`` unless ``X`` has ``ndim`` dimensions (``layout`` names them)."""
    if X.ndim != ndim:
        expected = layout if ndim == 2 else f"{ndim} dimensions"
        raise ValueError(f"{name} must be a {ndim}-D array {expected}; got shape {X.shape}")


def check_not_empty(X: Any, name: str) -> None:
    """A ``ValueError`` when a dimension of ``X`` is 0."""
    if any(s == 0 for s in X.shape):
        raise ValueError(f"{name} must not be empty; got shape {X.shape}")


def check_label_kind(y: Any, name: str) -> None:
    """A ``TypeError`` unless ``y`` holds integers, and a ``ValueError`` unless it is 1-D."""
    if _kind(y) != "integral":
        raise TypeError(f"{name} must hold integer class labels; got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of labels; got shape {y.shape}")


def check_label_count(y: Any, name: str, n_samples: int) -> None:
    """A ``ValueError`` unless ``y`` has one label per sample."""
    if y.shape[0] != n_samples:
        rows = name.replace("y", "X", 1) if name.startswith("y") else "the data"
        raise ValueError(
            f"{name} must have one label per sample of {rows} ({n_samples}); got {y.shape[0]}"
        )


def check_image(im: Any, name: str, *, colour: bool, batch: bool = False) -> Any:
    """One image for the per-image feature functions: a finite, non-empty real array of shape
    (H, W, 3+) or, unless ``colour``, (H, W); with ``batch``, N such images (N, H, W[, 3+]).
    Stays in its own library (numpy, CuPy, ...)."""
    im = _as_array(im, name)
    if _kind(im) not in ("real floating", "integral"):
        raise TypeError(f"{name} must hold real pixel values; got dtype {im.dtype}")
    lead = int(batch)
    rgb = im.ndim == 3 + lead and im.shape[-1] >= 3
    if not (rgb or (im.ndim == 2 + lead and not colour)):
        n = "N, " if batch else ""
        expected = f"RGB image{'s' * batch} ({n}H, W, 3)"
        if not colour:
            expected = f"image{'s' * batch} ({n}H, W) or ({n}H, W, 3)"
        expected = expected if batch else f"an {expected}"
        raise ValueError(f"{name} must be {expected}; got shape {im.shape}")
    if any(s == 0 for s in im.shape):
        raise ValueError(f"{name} must not be empty; got shape {im.shape}")
    xp = array_api_compat.array_namespace(im)
    if _kind(im) == "real floating":
        check_finite(im, name, xp=xp)
    return im


_SMALL = 1 << 14  # entries: a minibatch of a small net, a layer's gradient check


def check_finite(X: Any, name: str, *, xp: Any) -> None:
    """``ValueError`` if ``X`` holds NaN or ±inf.

    One pass: a sum is finite whenever every entry is (barring overflow), and NaN or ±inf
    in the data always makes it non-finite. Only a non-finite sum pays for the exact test.
    The row sums of a matrix are one matrix-vector product: BLAS reads any layout at memory
    speed on every core, about twice as fast as a reduction here.
    """
    native = native_namespace(xp) is not None
    if native and X.size <= _SMALL:  # one fused test: the passes below cost 30 us to set up
        if not bool(native_namespace(xp).isfinite(X).all()):
            raise ValueError(f"{name} contains NaN or infinity")
        return
    if X.ndim == 2 and native:
        # finiteness ignores order: read reversed axes forwards, so BLAS can
        X = X[:: -1 if X.strides[0] < 0 else 1, :: -1 if X.strides[1] < 0 else 1]
    with np.errstate(invalid="ignore", over="ignore"):  # what they signal is reported below
        if X.ndim == 2 and (not native or blas_readable(X)):
            ones = xp.ones(X.shape[1], dtype=X.dtype, device=array_api_compat.device(X))
            total = xp.sum(X @ ones)
        else:
            total = xp.sum(X)
    if bool(xp.isfinite(total)):
        return
    # min and max propagate NaN and expose ±inf; a finite pair means the sum overflowed.
    if not bool(xp.isfinite(xp.min(X)) & xp.isfinite(xp.max(X))):
        raise ValueError(f"{name} contains NaN or infinity")


def check_distance_data(X: Any, name: str, metric: str, *, xp: Any) -> None:
    """:func:`check_finite` for k-NN data (N, D), and values small enough that no ``metric``
    distance between two rows overflows ``X``'s dtype: a ``ValueError`` naming the largest
    value and the limit, instead of infinite distances and wrong neighbours.

    One pass, as :func:`check_finite`: the sum of squares (one BLAS dot product) is finite
    and below the limit squared for all usual data, and NaN or ±inf make it non-finite.
    Only when it is not does a min/max pass tell bad values from huge ones.
    """
    d = X.shape[1]
    top = float(xp.finfo(X.dtype).max)
    # L2: squared differences and the GEMM's norms stay below top / 2 with this margin
    limit = math.sqrt(top / (8 * d)) if metric == "l2" else top / (4 * d)
    native = native_namespace(xp)
    if native is not None and X.flags.c_contiguous:
        flat = xp.reshape(X, (-1,))
        with np.errstate(invalid="ignore", over="ignore"):
            total = float(flat @ flat)
        if math.isfinite(total) and math.sqrt(total) <= limit:
            return
    low, high = float(xp.min(X)), float(xp.max(X))  # NaN propagates, ±inf shows
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{name} contains NaN or infinity")
    largest = max(abs(low), abs(high))
    if largest > limit:
        what = "squared distances" if metric == "l2" else "distances"
        raise ValueError(
            f"{name} holds values up to {largest:.3g}: their {metric} {what} would overflow "
            f"{X.dtype} (with {d} features k-NN takes |values| <= {limit:.3g}); divide the "
            "training and test data by one common scale first (neighbours do not change)"
        )


def check_real(value: Any, name: str, *, low: float | None = None) -> float:
    """A finite real number (optionally ``>= low``) as a Python float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be at least {low}; got {value}")
    return value


def check_labels(y: Any, name: str, n_samples: int, place: Placement) -> Any:
    """``y`` as a 1-D array of non-negative integer labels, one per sample, on ``place``."""
    if (  # the common case, numpy labels for a numpy computation (~3 us less)
        type(y) is np.ndarray
        and place.library == "numpy"
        and y.dtype.kind in "iu"
        and y.ndim == 1
        and y.shape[0] == n_samples
    ):
        if y.dtype.kind == "i" and y.size and y.min() < 0:
            raise ValueError(f"{name} must hold non-negative labels; got min {int(y.min())}")
        return y
    y = _as_array(y, name)
    check_label_kind(y, name)
    check_label_count(y, name, n_samples)
    y, xp = place.put(y), place.xp
    if bool(xp.any(y < 0)):
        raise ValueError(f"{name} must hold non-negative labels; got min {int(xp.min(y))}")
    return y


def check_class_count(top_label: int, dim: int, itemsize: int, name: str = "y") -> int:
    """The number of classes ``top_label + 1`` implies, unless its ``(dim, classes)`` weight
    matrix would outgrow the machine's memory: labels such as database ids instead of class
    indices then raise a ``ValueError`` naming the largest label and the memory it would
    take, instead of dying with ``MemoryError``.
    """
    classes = top_label + 1
    check_fits(
        dim * classes * itemsize,
        f"{name} holds label {top_label}: weights for {classes} classes ({dim} x {classes})",
        hint="labels must be class indices 0..C-1 (encode other ids first, e.g. with "
        "np.unique(y, return_inverse=True))",
    )
    return classes


def check_fits(nbytes: int, what: str, *, hint: str = "") -> None:
    """``ValueError`` when ``what`` would take more memory than this machine has available
    (or its container allows): an absurd size fails with its name instead of ``MemoryError``
    or the OOM killer. The working-memory budget is not the bound: it only shapes chunking, and
    this is for what cannot be chunked (weights, a minibatch the caller asked for)."""
    limit = machine_bytes()
    if limit is not None and nbytes > limit:
        raise ValueError(
            f"{what} would take {nbytes / 2**30:,.1f} GiB, more than this machine's available "
            f"memory ({limit / 2**30:,.1f} GiB)" + (f"; {hint}" if hint else "")
        )


def check_batch(batch_size: Any, dim: int, itemsize: int) -> int:
    """``batch_size`` as an int >= 1 whose minibatch of ``dim`` features fits the budget."""
    batch_size = check_int(batch_size, "batch_size", low=1)
    check_fits(batch_size * dim * itemsize, f"batch_size = {batch_size} (one minibatch)")
    return batch_size


def check_distance_columns(dists: Any, n_rows: int) -> None:
    """A ``ValueError`` unless ``dists`` (any array, Dask too) is a matrix with one column per
    training row."""
    if len(dists.shape) != 2 or dists.shape[1] != n_rows:
        raise ValueError(
            f"dists must have one column per training sample ({n_rows}); got shape {dists.shape}"
        )


def check_feature_count(
    X: Any, x_name: str, expected: int, source: str, *, unit: str = "", hint: str = ""
) -> None:
    """A ``ValueError`` unless ``X`` has ``expected`` columns, the number ``source`` has
    (``unit`` says of what: "X has 5 features but W has 4 rows; they must match")."""
    if X.shape[1] != expected:
        raise ValueError(
            f"{x_name} has {X.shape[1]} features but {source} has {expected}{unit}; "
            f"they must match{hint}"
        )


def check_same_features(X: Any, Y: Any, x_name: str, y_name: str) -> None:
    """A ``ValueError`` unless ``X`` and ``Y`` have the same number of columns."""
    check_feature_count(X, x_name, Y.shape[1], y_name)


def check_int(value: Any, name: str, *, low: int, high: int | None = None) -> int:
    """An integer in ``[low, high]``: ``TypeError`` if not integral, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f"at least {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"{name} must be {bound}; got {value}")
    return value


def check_path(value: Any, name: str) -> str:
    """A file or folder name (``str`` or ``os.PathLike``) as ``str``; ``TypeError`` naming it
    otherwise (bytes included: the course's files are named by text)."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a file name (str or os.PathLike); got {value!r}")
    return value


def check_dict(value: Any, name: str, *, required: tuple[str, ...] = ()) -> dict:
    """``value`` itself, a dict holding the ``required`` keys (the course's parameter dicts)."""
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict; got {type(value).__name__}")
    missing = [key for key in required if key not in value]
    if missing:
        raise ValueError(f"{name} must have the key(s) {', '.join(map(repr, missing))}")
    return value


def check_shape(
    x: Any,
    name: str,
    shape: tuple[int, ...],
    what: str,
    *,
    kinds: Any = ("real floating", "integral"),
) -> Any:
    """The namespace of ``x``, an array of the dtype ``kinds`` of exactly ``shape`` (that of
    ``what``)."""
    xp = check_array(x, name, kinds=kinds)
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name} has shape {tuple(x.shape)} but {what} is {tuple(shape)}")
    return xp


def check_host_values(
    x: Any, name: str, *, ndim: int, finite: bool = True, empty: bool = False
) -> np.ndarray:
    """A float64 host copy of ``x`` (an array or a list of real numbers, of ``ndim``
    dimensions) for the figures and image grids, which compute on the host."""
    x = _as_array(x, name)
    if _kind(x) not in ("real floating", "integral"):
        raise TypeError(f"{name} must hold real numbers; got dtype {x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s); got shape {tuple(x.shape)}")
    if not empty and 0 in x.shape:
        raise ValueError(f"{name} must not be empty; got shape {tuple(x.shape)}")
    values = np.asarray(to_numpy(x), dtype=np.float64)
    if finite and not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or infinity (or values beyond float64)")
    return values


def check_flag(value: Any, name: str) -> bool:
    """A yes/no argument (``verbose``, ``normalized``, ...): a bool, or an int as Python
    treats it; an array, a string or None is a ``TypeError`` (their truth is ambiguous)."""
    if not isinstance(value, (bool, np.bool_, numbers.Integral)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)
