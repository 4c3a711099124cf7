"""A quick, self-contained k-NN speed report (what ``fastvr bench`` prints).

The full reports are the pytest-benchmark suites in ``benchmarks/``; this module needs no
test tooling, so it runs right after ``pip install fastvr``. Every ratio compares entries
timed in the same run, best of ``repeat`` calls, with GPU work synchronised inside each call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._backend import Placement, import_cupy, placement_for, to_numpy
from ._config import screening
from .classifiers import KNearestNeighbor
from .neighbors import last_screen_stats

SIZES = {"course": (500, 5000, 3072), "small": (100, 1000, 3072)}
PYTHON_ROWS = 2  # the pure-Python two-loop is timed on this many test rows, then scaled
K = 10


@dataclass(frozen=True)
class Timing:
    """One entry of the report: best seconds (scaled to the full shape) and what it ran."""

    dtype: str
    name: str
    seconds: float
    note: str = ""


def _best_of(fn: Callable[[], Any], repeat: int, sync: Callable[[], None]) -> float:
    fn()  # warm-up: JIT compilation, BLAS threads, GPU kernels
    sync()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def _synchroniser(place: Placement) -> Callable[[], None]:
    if place.library == "cupy":
        return import_cupy().cuda.Device(place.device).synchronize
    return lambda: None


def _course_python_loop(X: np.ndarray, X_train: np.ndarray) -> np.ndarray:
    """The course's two-loop body, verbatim."""
    dists = np.zeros((X.shape[0], X_train.shape[0]))
    for i in range(X.shape[0]):
        for j in range(X_train.shape[0]):
            dists[i, j] = np.sqrt(np.sum(np.square(X_train[j, :] - X[i, :])))
    return dists


def _peers(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray) -> Iterator[tuple]:
    """Optional reference implementations, when installed (name, callable, note).

    scikit-learn runs before faiss is first imported: once faiss (with its own OpenBLAS and
    OpenMP) is loaded, a scikit-learn k-NN that has not run yet runs about 1.9x slower.
    """
    try:
        from sklearn.neighbors import KNeighborsClassifier

        model = KNeighborsClassifier(n_neighbors=K, algorithm="brute").fit(X_train, y_train)
        yield "scikit-learn brute predict k=10", lambda: model.predict(X_test), ""
    except ImportError:
        pass
    try:
        import faiss

        if X_train.dtype == np.float32:
            index = faiss.IndexFlatL2(X_train.shape[1])
            index.add(X_train)
            yield "faiss IndexFlatL2 search k=10", lambda: index.search(X_test, K), ""
    except ImportError:
        pass


def knn_report(
    size: str = "course",
    dtypes: tuple[str, ...] = ("float32", "float64"),
    repeat: int = 3,
    progress: Callable[[Timing], None] | None = None,
) -> list[Timing]:
    """Time the k-NN paths on CIFAR-shaped data on the selected backend.

    Parameters
    ----------
    size : {"course", "small"}
        ``"course"`` is the assignment's 500 test x 5000 training x 3072 features.
    dtypes : tuple of str
    repeat : int
        Timed calls per entry (best is kept), after one warm-up call.
    progress : callable, optional
        Called with each :class:`Timing` as soon as it is measured.

    Returns
    -------
    list of Timing

    Examples
    --------
    >>> from fastvr.speed import knn_report
    >>> rows = knn_report("small", ("float32",), repeat=1)  # doctest: +SKIP
    """
    rng = np.random.default_rng(231)
    timings: list[Timing] = []

    def record(timing: Timing) -> None:
        timings.append(timing)
        if progress is not None:
            progress(timing)

    for dtype in dtypes:
        _time_one_dtype(SIZES[size], dtype, repeat, rng, record)
    return timings


def _time_one_dtype(
    shape: tuple[int, int, int],
    dtype: str,
    repeat: int,
    rng: np.random.Generator,
    record: Callable[[Timing], None],
) -> None:
    num_test, num_train, dim = shape
    X_train = rng.integers(0, 256, (num_train, dim)).astype(dtype)
    X_test = rng.integers(0, 256, (num_test, dim)).astype(dtype)
    y_train = rng.integers(0, 10, num_train)
    place = placement_for(X_train)
    sync = _synchroniser(place)
    Xd, yd, Td = place.put(X_train), place.put(y_train), place.put(X_test)
    knn = KNearestNeighbor()
    knn.train(Xd, yd)

    def entry(
        name: str, fn: Callable[[], Any], times: int = repeat, note: str = "", scale: float = 1.0
    ) -> None:
        record(Timing(dtype, name, _best_of(fn, times, sync) * scale, note))

    entry("bare GEMM X @ Y.T", lambda: Td @ Xd.T, note="the ceiling")
    # The two-loop kernel (float64 sums) is the reference the other paths are checked against.
    reference = to_numpy(knn.compute_distances_two_loops(Td))
    entry("Numba two_loops", lambda: knn.compute_distances_two_loops(Td), 1, "the reference")
    for label, method, times in (
        ("Numba one_loop", knn.compute_distances_one_loop, 1),
        ("vectorized (no_loops)", knn.compute_distances_no_loops, repeat),
    ):
        error = np.max(np.abs(to_numpy(method(Td)) - reference)) / np.max(reference)
        entry(label, lambda m=method: m(Td), times, f"max diff {error:.1e} of max distance")
    before = last_screen_stats()
    seconds = _best_of(lambda: knn.predict(Td, k=K), repeat, sync)
    stats = last_screen_stats()
    if stats is before:  # not screened (float32, or screening off)
        record(Timing(dtype, "predict k=10", seconds))
    else:
        note = (
            f"certified float32 screen: {stats.mean_candidates:.1f} candidates per row "
            f"(max {stats.max_candidates}), {stats.fallback_rows} rows fell back"
        )
        record(Timing(dtype, "predict k=10", seconds, note))
        with screening(False):
            entry("predict k=10, screening off", lambda: knn.predict(Td, k=K), note="float64 GEMM")
    rows = X_test[:PYTHON_ROWS]
    entry(
        "course pure-Python two_loops",
        lambda: _course_python_loop(rows, X_train),
        1,
        f"timed on {PYTHON_ROWS} rows, scaled",
        scale=num_test / PYTHON_ROWS,
    )
    for name, fn, note in _peers(X_train, y_train, X_test):
        entry(name, fn, note=note)


def format_report(timings: list[Timing]) -> str:
    """A Markdown table with every entry's ratio to the bare GEMM of its dtype."""
    gemm = {t.dtype: t.seconds for t in timings if t.name.startswith("bare GEMM")}
    lines = ["| dtype | entry | time | x GEMM | note |", "|---|---|---:|---:|---|"]
    for t in timings:
        lines.append(
            f"| {t.dtype} | {t.name} | {t.seconds * 1e3:.1f} ms | "
            f"{t.seconds / gemm[t.dtype]:.2f} | {t.note} |"
        )
    return "\n".join(lines)
