"""Compile the CPU kernels before a notebook needs them.

A Numba kernel is compiled on its first call, and even with Numba's on-disk cache warm the
first kernel of a process costs ~0.4 s (Numba's own start-up). On a fresh machine (every
Colab session) the course's first cells would wait seconds for compilers. So
``import fastvr`` starts one background thread that runs each kernel once, on tiny data,
through the same public calls a notebook makes (so the signatures compiled are the ones the
notebook needs), in the order the notebooks need them: k-NN, the naive losses, the
features. It usually finishes while the notebook loads its data; a call that needs a kernel
still being compiled waits for it (Numba's compiler lock), so answers never depend on it.

``FASTVR_WARMUP=off`` (or ``0``) turns it off; it is off in processes started by
``multiprocessing`` (Dask workers compile what their tasks call). :func:`warmup` does the
same work in the caller's thread and reports what each step cost (``fastvr warmup``).
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable

ENV = "FASTVR_WARMUP"
_ON, _OFF = ("background", "on", "1"), ("off", "0")

_thread: threading.Thread | None = None
_failure: BaseException | None = None


def _knn() -> None:
    import numpy as np

    from .classifiers import KNearestNeighbor

    # integer-valued rows with a duplicate: the GEMM path refines a zero distance exactly
    X = (np.arange(96, dtype=np.float64).reshape(12, 8) * 7) % 11
    X[5] = X[2]
    y = np.arange(12) % 3
    knn = KNearestNeighbor()
    knn.train(X, y)
    knn.compute_distances_two_loops(X[:3])
    knn.compute_distances_one_loop(X[:3])
    knn.predict_labels(knn.compute_distances_no_loops(X[:3]), k=2)
    knn.predict(X[:3] + 0.5, k=2)  # the screen, re-ranked from exact float32 copies
    knn.predict(X[:3] / 3, k=2)  # the screen, re-ranked from the float64 rows


def _losses() -> None:
    import numpy as np

    from .classifiers.linear_svm import svm_loss_naive
    from .classifiers.softmax import softmax_loss_naive

    W = np.linspace(-1, 1, 12).reshape(4, 3)
    X, y = np.linspace(0, 1, 20).reshape(5, 4), np.arange(5) % 3
    svm_loss_naive(W, X, y, 0.1)
    softmax_loss_naive(W, X, y, 0.1)


def _features() -> None:
    import numpy as np

    from .features import color_histograms_hsv, hog_features

    imgs = (np.arange(2 * 16 * 16 * 3, dtype=np.float64).reshape(2, 16, 16, 3) * 37) % 256
    hog_features(imgs)
    color_histograms_hsv(imgs, nbin=10)


STEPS: dict[str, Callable[[], None]] = {
    "k-NN (distances, top-k, screen)": _knn,
    "naive SVM and softmax losses": _losses,
    "HOG and hue histograms": _features,
}


def warmup() -> dict[str, float]:
    """Compile every CPU kernel a course notebook calls (or load it from Numba's cache), in
    this thread; the seconds each group took.

    Returns
    -------
    dict
        Seconds per group of kernels, in the order they ran.

    Examples
    --------
    >>> from fastvr._warmup import warmup
    >>> sorted(warmup())[0]
    'HOG and hue histograms'
    """
    seconds = {}
    for name, step in STEPS.items():
        start = time.perf_counter()
        step()
        seconds[name] = time.perf_counter() - start
    return seconds


def setting() -> str:
    """``"background"`` or ``"off"`` from ``FASTVR_WARMUP`` (unset or empty: background);
    an unknown value warns, naming the variable and its values, and means off."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in ("", *_ON):
        return "background"
    if value in _OFF:
        return "off"
    warnings.warn(
        f"{ENV}={os.environ[ENV]!r} is not one of 'background', 'off' (empty means "
        "'background'); the kernels compile when first called instead",
        RuntimeWarning,
        stacklevel=3,
    )
    return "off"


def start_in_background() -> None:
    """Start the warm-up thread once, unless turned off or in a multiprocessing child."""
    global _thread
    import multiprocessing

    if _thread is not None or multiprocessing.parent_process() is not None:
        return
    if setting() == "off":
        return
    # fastvr's own modules are imported here, in the caller's thread: two threads importing
    # modules that import each other can deadlock (Python then raises in one of them). The
    # thread itself imports only Numba and the kernels, which import nothing of fastvr.
    from .classifiers import k_nearest_neighbor, linear_svm, softmax  # noqa: F401
    from .features import hog_features  # noqa: F401

    _thread = threading.Thread(target=_run_quietly, name="fastvr-warmup", daemon=True)
    _thread.start()


def _run_quietly() -> None:
    """The background run: a failure here is only remembered (:func:`status`); the call
    that needs the kernel compiles it again and raises where the caller sees it."""
    global _failure
    try:
        _hold_compiler_across_fork()
        warmup()
    except BaseException as error:
        _failure = error


def status() -> str:
    """What the background warm-up is doing: ``"off"``, ``"running"``, ``"done"`` or
    ``"failed: <error>"``.

    Examples
    --------
    >>> from fastvr._warmup import status
    >>> status() in {"off", "running", "done"}
    True
    """
    if _thread is None:
        return "off"
    if _thread.is_alive():
        return "running"
    return "done" if _failure is None else f"failed: {_failure!r}"


def wait(timeout: float | None = None) -> bool:
    """Wait for the background warm-up; whether it has finished."""
    if _thread is not None:
        _thread.join(timeout)
    return _thread is None or not _thread.is_alive()


def _hold_compiler_across_fork() -> None:
    """A child forked while the thread compiles would inherit Numba's compiler lock held by
    a thread it does not have, and hang at its first compilation: forking waits for the
    current compilation and holds the lock across the fork instead."""
    from numba.core.compiler_lock import global_compiler_lock as lock

    os.register_at_fork(
        before=lock.acquire, after_in_parent=lock.release, after_in_child=lock.release
    )
