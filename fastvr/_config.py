"""Library-wide settings: the working-memory budget for temporary blocks, the memory the
machine has for what cannot be chunked, and the k-NN screening switch."""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
from collections.abc import Iterator

DEFAULT_WORKING_MEMORY_MIB = 1024.0

_working_memory: contextvars.ContextVar[float] = contextvars.ContextVar(
    "fastvr_working_memory", default=DEFAULT_WORKING_MEMORY_MIB
)


def _check_mib(working_memory: object) -> float:
    if isinstance(working_memory, bool) or not isinstance(working_memory, (int, float)):
        raise TypeError(f"working_memory must be a number of MiB; got {working_memory!r}")
    if not math.isfinite(working_memory) or working_memory <= 0:
        raise ValueError(f"working_memory must be a positive number of MiB; got {working_memory}")
    return float(working_memory)


def get_working_memory() -> float:
    """The budget, in MiB, for temporary blocks such as a slice of a distance matrix.

    Examples
    --------
    >>> import fastvr
    >>> fastvr.get_working_memory()
    1024.0
    """
    return _working_memory.get()


def set_working_memory(working_memory: float) -> None:
    """Set the working-memory budget in MiB (default 1024, i.e. 1 GiB).

    Examples
    --------
    >>> import fastvr
    >>> fastvr.set_working_memory(256)
    >>> fastvr.set_working_memory(1024)
    """
    _working_memory.set(_check_mib(working_memory))


@contextlib.contextmanager
def working_memory(working_memory: float) -> Iterator[None]:
    """Temporarily use another working-memory budget (MiB).

    Examples
    --------
    >>> import fastvr
    >>> with fastvr.working_memory(64):
    ...     fastvr.get_working_memory()
    64.0
    """
    token = _working_memory.set(_check_mib(working_memory))
    try:
        yield
    finally:
        _working_memory.reset(token)


def budget_bytes(working_memory_mib: float | None = None) -> int:
    """The budget in bytes: the given MiB, or the current setting."""
    mib = get_working_memory() if working_memory_mib is None else _check_mib(working_memory_mib)
    return int(mib * 2**20)


def machine_bytes() -> int | None:
    """The memory this process could have now: the machine's available memory (Linux's
    ``MemAvailable``; elsewhere its physical memory), or its container's limit (cgroups)
    when lower; ``None`` where the system does not say.

    The working-memory budget shapes how work is chunked; this bounds what cannot be
    chunked (a network's weights, a minibatch the caller asked for).

    Examples
    --------
    >>> from fastvr._config import machine_bytes
    >>> machine_bytes() is None or machine_bytes() > 2**20
    True
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows)
        return None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    total = min(total, int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(limit_file) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():  # "max": no limit
            total = min(total, int(text))
    return total


# -- exact k-NN screening (fastvr.ops.screen) ---------------------------------------------------

_screening: contextvars.ContextVar[bool | str] = contextvars.ContextVar(
    "fastvr_screening", default="auto"
)


def _check_screening(enabled: object) -> bool | str:
    if enabled != "auto" and not isinstance(enabled, bool):
        raise TypeError(
            f"enabled (the screening setting) must be True, False or 'auto'; got {enabled!r}"
        )
    return enabled


def get_screening() -> bool | str:
    """Whether L2 k-NN is screened in lower precision and certified (:mod:`fastvr.ops.screen`).

    ``"auto"`` (the default): float64 data on numpy, where it is measured faster, for
    references of at least 2**20 entries (rows x features; smaller ones are quicker on
    the GEMM path, which needs no compiled kernel on a fresh machine); ``True``:
    float64 data on every backend, and float32 data off the host (a GPU, where TF32 products
    under ``CUPY_TF32=1`` are cheaper than float32 ones); ``False``: never (one GEMM in the
    data's precision, as before). Screened answers are the exact neighbours of the data.

    Examples
    --------
    >>> import fastvr
    >>> fastvr.get_screening()
    'auto'
    """
    return _screening.get()


def set_screening(enabled: bool | str) -> None:
    """Turn the certified float32 screen of float64 k-NN on (``True``), off (``False``) or
    back to ``"auto"``.

    Examples
    --------
    >>> import fastvr
    >>> fastvr.set_screening(False)
    >>> fastvr.set_screening("auto")
    """
    _screening.set(_check_screening(enabled))


@contextlib.contextmanager
def screening(enabled: bool | str) -> Iterator[None]:
    """Temporarily set :func:`set_screening`.

    Examples
    --------
    >>> import fastvr
    >>> with fastvr.screening(False):
    ...     fastvr.get_screening()
    False
    """
    token = _screening.set(_check_screening(enabled))
    try:
        yield
    finally:
        _screening.reset(token)
