"""Library-wide settings (today: the working-memory budget for temporary blocks)."""

from __future__ import annotations

import contextlib
import contextvars
import math
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
