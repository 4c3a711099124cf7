"""Loading CIFAR-10 (the course's ``data_utils``) without executing what the pickles contain.

The course reads its batches with ``pickle.load``, which runs any code a tampered file asks
for. Here a restricted unpickler builds only plain data: dicts, lists, tuples, strings, bytes,
numbers and numpy arrays. Any other reference in the file is refused with
:class:`UnsafePickleError` before anything is built from it.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from ._validation import check_flag, check_int, check_path

CIFAR_BATCH_ROWS = 10000
CIFAR_ROW = 3 * 32 * 32
TRAIN_BATCHES = tuple(f"data_batch_{b}" for b in range(1, 6))
TEST_BATCH = "test_batch"
_CIFAR_HELP = (
    "the python version of CIFAR-10 (cifar-10-python.tar.gz from "
    "https://www.cs.toronto.edu/~kriz/cifar.html), unpacked"
)


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle referenced something other than plain data, so it was not loaded."""


def _numpy_globals() -> dict[tuple[str, str], Any]:
    reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's own _reconstruct
    scalar = np.float64(0).__reduce__()[0]
    allowed = {}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[module, "_reconstruct"] = reconstruct
        allowed[module, "scalar"] = scalar
    for module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[module, "ndarray"] = np.ndarray
        allowed[module, "dtype"] = np.dtype
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]  # protocol 5: numpy's own _frombuffer
    for module in ("numpy.core.numeric", "numpy._core.numeric"):
        allowed[module, "_frombuffer"] = frombuffer
    return allowed


# Everything a plain-data pickle (numpy arrays included) may reference, and nothing else.
_ALLOWED = {
    **_numpy_globals(),
    ("_codecs", "encode"): __import__("codecs").encode,  # bytes in protocol-2 pickles
    # plain containers and numbers; Python 2 pickles name the module __builtin__
    **{
        (module, kind.__name__): kind
        for module in ("builtins", "__builtin__")
        for kind in (bytearray, set, frozenset, complex)
    },
}


# What reading a truncated, bit-flipped or hand-made pickle of plain data can raise (besides
# UnsafePickleError): each is reported as the file being damaged.
DAMAGED_PICKLE = (
    EOFError,
    pickle.UnpicklingError,
    ValueError,
    TypeError,
    AttributeError,
    OverflowError,  # a length field past what the platform can address
    MemoryError,  # a length field asking for more than there is
    LookupError,  # a damaged codec name in a protocol-2 bytes object
    SystemError,  # numpy refusing a damaged array or dtype state
)


class _PlainDataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[module, name]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load {module}.{name}: only plain data (dicts, lists, strings, "
                "bytes, numbers, numpy arrays) is allowed"
            ) from None


def load_pickle(f: BinaryIO) -> Any:
    """Read one pickled object of plain data from the open binary file ``f``.

    Python 2 pickles (the CIFAR batches) are read with ``encoding="latin1"``, as the course
    does. Raises :class:`UnsafePickleError` if the file references anything else.

    Examples
    --------
    >>> import io, pickle, numpy as np
    >>> from fastvr.data_utils import load_pickle
    >>> load_pickle(io.BytesIO(pickle.dumps({"a": np.arange(3)})))["a"]
    array([0, 1, 2])
    """
    return _PlainDataUnpickler(f, encoding="latin1").load()


def _field(batch: Mapping, name: str) -> Any:
    for key in (name, name.encode()):
        if key in batch:
            return batch[key]
    raise KeyError(name)


def load_CIFAR_batch(filename: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Load one CIFAR-10 batch: ``X`` (10000, 32, 32, 3) float64 and ``Y`` (10000,) int64.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file is truncated, not a CIFAR batch, or has the wrong shapes (the message names
        the file and what was expected).
    UnsafePickleError
        The file references something other than plain data.

    Examples
    --------
    >>> import os, pickle, tempfile, numpy as np
    >>> from fastvr.data_utils import load_CIFAR_batch
    >>> path = os.path.join(tempfile.mkdtemp(), "data_batch_1")
    >>> with open(path, "wb") as f:  # the course's format: a dict of bytes keys
    ...     pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 7]}, f)
    >>> X, y = load_CIFAR_batch(path)
    >>> X.shape, y.tolist()
    ((2, 32, 32, 3), [3, 7])
    """
    filename = check_path(filename, "filename")
    try:
        with open(filename, "rb") as f:
            datadict = load_pickle(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"CIFAR-10 batch not found: {filename}") from None
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{filename}: {exc}") from None
    except DAMAGED_PICKLE as exc:
        raise ValueError(f"{filename} is truncated or not a pickle: {exc!r}") from None
    try:
        if not isinstance(datadict, Mapping):
            raise TypeError(type(datadict).__name__)
        X = np.asarray(_field(datadict, "data"))
        Y = np.asarray(_field(datadict, "labels"))
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"{filename} is not a CIFAR-10 batch: expected a dict with 'data' and 'labels'"
        ) from None
    if (
        X.ndim != 2
        or X.shape[1] != CIFAR_ROW
        or Y.shape != (X.shape[0],)
        or not np.issubdtype(X.dtype, np.number)
        or not np.issubdtype(Y.dtype, np.integer)
    ):
        raise ValueError(
            f"{filename} has data of shape {X.shape} ({X.dtype}) and labels of shape {Y.shape} "
            f"({Y.dtype}); expected (N, {CIFAR_ROW}) pixels and N integer labels"
        )
    X = X.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype("float")
    return X, Y.astype(np.int64)


def load_CIFAR10(ROOT: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load all of CIFAR-10 from the folder ``ROOT`` (``data_batch_1..5`` and ``test_batch``).

    Returns
    -------
    Xtr : ndarray (50000, 32, 32, 3) float64
    Ytr : ndarray (50000,) int64
    Xte : ndarray (10000, 32, 32, 3) float64
    Yte : ndarray (10000,) int64

    Examples
    --------
    >>> from fastvr.data_utils import load_CIFAR10
    >>> X_train, y_train, X_test, y_test = load_CIFAR10("cifar-10-batches-py")  # doctest: +SKIP
    >>> X_train.shape, X_test.shape  # doctest: +SKIP
    ((50000, 32, 32, 3), (10000, 32, 32, 3))
    """
    ROOT = check_path(ROOT, "ROOT")
    if not os.path.isdir(ROOT):
        raise FileNotFoundError(f"no such folder: {ROOT} (expected {_CIFAR_HELP})")
    names = (*TRAIN_BATCHES, TEST_BATCH)
    if not any(os.path.exists(os.path.join(ROOT, n)) for n in names):
        raise FileNotFoundError(
            f"no CIFAR-10 batches in {ROOT}: expected data_batch_1..5 and test_batch, {_CIFAR_HELP}"
        )
    xs, ys = zip(*(load_CIFAR_batch(os.path.join(ROOT, n)) for n in TRAIN_BATCHES), strict=True)
    Xte, Yte = load_CIFAR_batch(os.path.join(ROOT, TEST_BATCH))
    return np.concatenate(xs), np.concatenate(ys), Xte, Yte


CIFAR10_ENV = "FASTVR_CIFAR10_DIR"
_COURSE_CIFAR10 = os.path.join("cs231n", "datasets", "cifar-10-batches-py")


def find_cifar10(cifar10_dir: str | os.PathLike | None = None) -> str:
    """The CIFAR-10 folder to read: ``cifar10_dir`` when given; else the environment variable
    ``FASTVR_CIFAR10_DIR``; else where the course keeps it, ``cs231n/datasets/
    cifar-10-batches-py`` under the working directory (a notebook run from the assignment
    folder), then ``cifar-10-batches-py`` there.

    Raises
    ------
    FileNotFoundError
        Nothing found: the message lists every place looked in and how to get the data.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastvr.data_utils import find_cifar10
    >>> folder = tempfile.mkdtemp()
    >>> find_cifar10(folder) == folder
    True
    """
    if cifar10_dir is not None:
        return check_path(cifar10_dir, "cifar10_dir")
    chosen = os.environ.get(CIFAR10_ENV, "")
    if chosen and not os.path.isdir(chosen):  # set, but wrong: never fall back silently
        raise FileNotFoundError(
            f"{CIFAR10_ENV}={chosen!r} is not a folder ({os.path.abspath(chosen)}); set it to "
            f"the folder of CIFAR-10's data_batch_* files, or unset it"
        )
    candidates = [(f"${CIFAR10_ENV}", chosen)]
    candidates += [("the course's folder", _COURSE_CIFAR10), ("here", "cifar-10-batches-py")]
    for _, path in candidates:
        if path and os.path.isdir(path):
            return path
    looked = "; ".join(
        f"{label}: {os.path.abspath(path) if path else '(not set)'}" for label, path in candidates
    )
    raise FileNotFoundError(
        f"CIFAR-10 not found. Looked in {looked}. Get {_CIFAR_HELP} (the course's "
        f"cs231n/datasets/get_datasets.sh does it), then pass its folder as cifar10_dir or set "
        f"{CIFAR10_ENV}"
    )


def get_CIFAR10_data(
    num_training: int = 49000,
    num_validation: int = 1000,
    num_test: int = 1000,
    subtract_mean: bool = True,
    cifar10_dir: str | os.PathLike | None = None,
) -> dict[str, np.ndarray]:
    """CIFAR-10 split and preprocessed as in the course (2021+): a dict of channel-first arrays.

    The validation set is ``num_validation`` images after the first ``num_training``; the test
    set is the first ``num_test`` test images; the mean training image is subtracted. The
    data are read from ``cifar10_dir``, or found as :func:`find_cifar10` says.

    Returns
    -------
    dict
        ``X_train``, ``y_train``, ``X_val``, ``y_val``, ``X_test``, ``y_test``; images as
        (N, 3, 32, 32) float64.

    Examples
    --------
    >>> from fastvr.data_utils import get_CIFAR10_data
    >>> data = get_CIFAR10_data()  # doctest: +SKIP
    >>> data["X_train"].shape, data["X_val"].shape  # doctest: +SKIP
    ((49000, 3, 32, 32), (1000, 3, 32, 32))
    """
    check_int(num_training, "num_training", low=1)  # its mean image is subtracted
    check_int(num_validation, "num_validation", low=0)
    check_int(num_test, "num_test", low=0)
    subtract_mean = check_flag(subtract_mean, "subtract_mean")
    cifar10_dir = find_cifar10(cifar10_dir)
    X_train, y_train, X_test, y_test = load_CIFAR10(cifar10_dir)
    if num_training + num_validation > X_train.shape[0] or num_test > X_test.shape[0]:
        raise ValueError(
            f"num_training + num_validation = {num_training + num_validation} and num_test = "
            f"{num_test} must fit in {X_train.shape[0]} training and {X_test.shape[0]} test "
            "images"
        )
    X_val = X_train[num_training : num_training + num_validation]
    y_val = y_train[num_training : num_training + num_validation]
    X_train, y_train = X_train[:num_training], y_train[:num_training]
    X_test, y_test = X_test[:num_test], y_test[:num_test]
    if subtract_mean:
        mean_image = np.mean(X_train, axis=0)
        X_train, X_val, X_test = X_train - mean_image, X_val - mean_image, X_test - mean_image
    return {
        "X_train": X_train.transpose(0, 3, 1, 2).copy(),
        "y_train": y_train,
        "X_val": X_val.transpose(0, 3, 1, 2).copy(),
        "y_val": y_val,
        "X_test": X_test.transpose(0, 3, 1, 2).copy(),
        "y_test": y_test,
    }
