"""Compile the CPU kernels before a notebook needs them.

A Numba kernel is compiled on its first call, and even with Numba's on-disk cache warm the
first kernel of a process costs ~0.6 s of Numba's own start-up (its import, ~0.3 s, and its
CPU target, ~0.3 s). On a fresh machine (every Colab session) the course's first cells would
wait seconds for compilers. So ``import fastvr`` starts one background thread that:

1. starts a Python process at the lowest CPU priority that compiles every kernel missing
   from Numba's cache into it (with the cache warm it only loads them), the k-NN loops
   first: they are what a course notebook calls first, and the data it loads before them
   (CIFAR-10: 1.5 s and more) gives that process time to cache them. Compiling in a thread
   of the notebook's own process took the interpreter lock from the notebook's cells for
   seconds (measured: the example notebooks' Python-heavy cells ran up to 4x slower);
2. once that process has cached the k-NN loops and top-k (~1.2 s), starts Numba in this process
   (imports it and sets up its CPU target, ~0.6 s), so that no call pays Numba's start-up:
   a course notebook is reading CIFAR-10 then, mostly without the interpreter lock. Not
   earlier: that work shares the interpreter lock with the notebook's next cells, and made
   the example notebooks' short first cell 0.3 s slower when it started with the import;
3. when the process has finished, loads every kernel from the cache (~40 ms).

Each kernel runs once on tiny data, with the argument types the notebook's calls pass (so
the signatures compiled are the ones the notebook needs): k-NN, the naive losses, the
features. A call that needs a kernel before it is ready compiles or loads it itself, as
without the warm-up: answers never depend on it.

``FASTVR_WARMUP=off`` (or ``0``) turns it off; it is off in processes started by
``multiprocessing`` (Dask workers compile what their tasks call). :func:`warmup` does the
work in the caller's thread and reports what each step cost (``fastvr warmup``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

ENV = "FASTVR_WARMUP"
_ON, _OFF = ("background", "on", "1"), ("off", "0")

_ALL_CACHED, _COMPILED = 0, 3  # the compiling process's exit statuses
_thread: threading.Thread | None = None
_failure: BaseException | None = None


# The steps call the kernels directly, with the argument types the library's calls pass
# (tests/test_warmup.py checks that no call compiles anything after them): the compiling
# process then needs neither fastvr nor its imports, only numpy and the kernels' file.


def _losses(cpu: ModuleType) -> None:
    import numpy as np

    W, X, y = np.ones((4, 3)), np.ones((5, 4)), np.arange(5) % 3
    cpu.svm_loss_naive(W, X, y, 0.1)
    cpu.softmax_loss_naive(W, X, y, 0.1)


def _knn_loops(cpu: ModuleType) -> None:
    import numpy as np

    X, out = (np.arange(96.0).reshape(12, 8) * 7) % 11, np.empty((3, 12))
    cpu.two_loops(X[:3], X, out, False, False)
    cpu.one_loop(X[:3], np.ascontiguousarray(X.T), out, False, False)
    cpu.smallest_k(out, np.empty((3, 2)), np.empty((3, 2), dtype=np.int64))


def _knn_screen(cpu: ModuleType) -> None:
    import numpy as np

    X = (np.arange(96.0).reshape(12, 8) * 7) % 11
    pairs, found = np.arange(3, dtype=np.int64), np.empty(3)
    cpu.pair_sq_distances(X, X, pairs, pairs, found)
    # the certified screen: lowered copies, candidates, exact sums from the copies
    mean, norms, flags = X.mean(axis=0), np.empty(12), np.zeros(2, dtype=np.bool_)
    lowered = np.empty((12, 8), dtype=np.float32)
    cpu.lower_reference(X, mean, lowered, norms, 2.0**20, flags)
    queries = np.empty((3, 8), dtype=np.float32)
    cpu.lower_queries(X[:3], mean, queries, np.empty(3))
    S, norms32 = queries @ lowered.T, norms.astype(np.float32)
    cols, counts = np.empty((3, 6), dtype=np.int64), np.full(3, 2, dtype=np.int64)
    cpu.screen_candidates(S, norms32, norms32[:3], norms32 * 0, np.zeros(3), cols, counts)
    cpu.pair_sq_distances_lowered(queries, lowered, pairs, pairs, found)


def _features(cpu: ModuleType) -> None:
    import numpy as np

    imgs = (np.arange(2 * 16 * 16 * 3, dtype=np.float64).reshape(2, 16, 16, 3) * 37) % 256
    cpu.hog_cells(imgs, np.array([0.299, 0.587, 0.144]), np.empty((2, 2, 2, 9)))
    cpu.hue_histograms(imgs, np.linspace(0, 255, 11), 255.0, np.empty((2, 10)))


# The order: each notebook's first kernels first (every notebook of the assignment is a new
# process, on Colab a new machine). The k-NN notebook's loops and the top-k of its
# predict_labels; the naive losses, the first kernels of the SVM and softmax notebooks
# (after their data and its preprocessing, seconds); the screen of KNearestNeighbor.predict,
# which the k-NN notebook first calls in its cross-validation, after the timing cells (tens
# of seconds of loops); then the features.
STEPS: dict[str, Callable[[ModuleType], None]] = {
    "k-NN loops and top-k": _knn_loops,
    "naive SVM and softmax losses": _losses,
    "k-NN screen": _knn_screen,
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
    from .kernels import cpu

    return _run_steps(cpu)


def _run_steps(cpu: ModuleType, done: Callable[[str], object] | None = None) -> dict[str, float]:
    """Run every step (and ``done(name)`` after each); the seconds each took."""
    seconds = {}
    for name, step in STEPS.items():
        start = time.perf_counter()
        step(cpu)
        seconds[name] = time.perf_counter() - start
        if done is not None:
            done(name)
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
    """Start the warm-up thread once, unless turned off or in a multiprocessing child.

    ``fastvr/__init__.py`` calls it as its last line: the thread then never imports alongside
    ``import fastvr`` itself, and the package's import is not slowed by its start.
    """
    global _thread
    kernels = kernels_file()  # in a checkout that is not installed: an ImportError saying so
    # (a multiprocessing child imported multiprocessing before us; its import costs 4 ms)
    multiprocessing = sys.modules.get("multiprocessing")
    if _thread is not None or (multiprocessing and multiprocessing.parent_process() is not None):
        return
    if setting() == "off":
        return
    _thread = threading.Thread(
        target=_run_quietly, args=(kernels,), name="fastvr-warmup", daemon=True
    )
    _thread.start()


def kernels_file() -> str:
    """The file of the CPU kernels (found, not imported: no Numba yet), or an ImportError
    that says how to get them: ``kernels/`` becomes ``fastvr.kernels`` only through an
    install, so a checkout imported as it is has none."""
    try:
        spec = importlib.util.find_spec(f"{__package__}.kernels.cpu")
    except ModuleNotFoundError:  # no fastvr.kernels at all
        spec = None
    if spec is None or spec.origin is None:
        package = os.path.dirname(os.path.abspath(__file__))
        raise ImportError(
            f"fastvr was imported from {package}, which has no fastvr.kernels (a checkout's "
            "kernels/ folder becomes fastvr.kernels only through an install). Install this "
            f"checkout (pip install -e {os.path.dirname(package)}), or import fastvr from "
            "another folder to use the one installed."
        )
    return spec.origin


def _run_quietly(kernels: str) -> None:
    """The background run: a failure here is only remembered (:func:`status`); the call
    that needs the kernel compiles it again and raises where the caller sees it."""
    global _failure
    try:
        compiling = _start_compiling(kernels)
        try:
            compiling.stdout.readline()  # its first step is done (or it ended)
            cpu = _start_numba()
        finally:
            compiling.communicate()
            status = compiling.returncode
        if cpu is not None and status in (_ALL_CACHED, _COMPILED):  # else: at the first call
            _run_steps(cpu)  # loads from the cache (~40 ms); compiles nothing it holds
    except BaseException as error:
        _failure = error


def _start_numba() -> ModuleType | None:
    """Import Numba (through the kernels' module) and set up its CPU target, as the first
    kernel call of a process otherwise does; None if another thread kept importing."""
    # Numba's modules import each other in cycles: a thread that imports Numba (or one of its
    # modules) while this one does can be handed a half-initialised module and fail. fastvr's
    # own calls import it through the kernels' module, whose lock serialises them; for
    # anyone else's import, this one runs only while no other import is under way and keeps
    # new ones waiting (a notebook's next import waits ~0.3 s at most, instead of failing).
    with _imports_to_ourselves(timeout=10.0) as alone:
        if not alone:
            return None  # the first call that needs a kernel starts Numba instead
        from .kernels import cpu

    _hold_compiler_across_fork()
    from numba.core.compiler_lock import global_compiler_lock
    from numba.core.registry import cpu_target

    with global_compiler_lock:  # what a compilation in another thread would set up too
        cpu_target.typing_context.refresh()
        cpu_target.target_context.refresh()
    return cpu


@contextlib.contextmanager
def _imports_to_ourselves(timeout: float) -> Iterator[bool]:
    """Hold Python's global import lock while no other thread is inside an import: other
    threads' new imports then wait until the block ends. Yields whether it got there within
    ``timeout`` seconds (False too where this Python's import machinery is not the one
    known here). Imports of modules already loaded never wait."""
    import _imp
    from importlib import _bootstrap

    locks = getattr(_bootstrap, "_module_locks", None)
    me, deadline = threading.get_ident(), time.monotonic() + timeout
    while locks is not None:
        _imp.acquire_lock()  # new module locks are handed out under this lock only
        try:
            held = [ref() for ref in list(locks.values())]
            if not any(getattr(lock, "owner", None) not in (None, me) for lock in held):
                yield True
                return
        finally:
            _imp.release_lock()
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    yield False


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


def _start_compiling(kernels: str) -> Any:
    """Start a Python process that compiles everything into the cache; it exits with
    ``_ALL_CACHED`` or ``_COMPILED`` (anything else: it failed). It loads this file and the
    kernels' file by path, not fastvr (which would cost it a third of a second first)."""
    import subprocess  # here, in the thread: 4 ms less of ``import fastvr``

    code = (
        "import importlib.util as u\n"
        f"spec = u.spec_from_file_location('fastvr_warmup', {__file__!r})\n"
        "warmup = u.module_from_spec(spec)\n"
        "spec.loader.exec_module(warmup)\n"
        f"warmup.compile_yielding({kernels!r})\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, ENV: "off"},  # fastvr imported there starts no warm-up
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,  # one line per step done
        stderr=subprocess.DEVNULL,
    )


def _hold_compiler_across_fork() -> None:
    """A child forked while the thread compiles would inherit Numba's compiler lock held by
    a thread it does not have, and hang at its first compilation: forking waits for the
    current compilation and holds the lock across the fork instead."""
    from numba.core.compiler_lock import global_compiler_lock as lock

    if not hasattr(os, "register_at_fork"):  # no fork there (Windows spawns processes)
        return
    os.register_at_fork(
        before=lock.acquire, after_in_parent=lock.release, after_in_child=lock.release
    )


def compile_yielding(kernels: str) -> None:
    """The process of step 1: at the lowest priority, so it takes only CPU time nothing
    else wants; with the cache warm it only loads the kernels (about a second). Loads the
    kernels' file ``kernels`` under its own module name (Numba's cache files are named
    after it). Exits with status ``_COMPILED`` when it compiled anything."""
    if hasattr(os, "nice"):
        os.nice(19)
    spec = importlib.util.spec_from_file_location("fastvr.kernels.cpu", kernels)
    cpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cpu)
    from numba.core.registry import CPUDispatcher

    _run_steps(cpu, done=lambda name: print(name, flush=True))
    dispatchers = [k for k in vars(cpu).values() if isinstance(k, CPUDispatcher)]
    if any(sum(k.stats.cache_misses.values()) for k in dispatchers):
        sys.exit(_COMPILED)
