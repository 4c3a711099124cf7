"""Dask, found or explained, and computing from anywhere (a caller or a worker's task)."""

from __future__ import annotations

from typing import Any

import array_api_compat

INSTALL_HINT = "pip install 'fastvr[dask]'"


def is_dask(x: Any) -> bool:
    """Whether ``x`` is a Dask array (without importing Dask)."""
    return array_api_compat.is_dask_array(x)


def any_dask(*arrays: Any) -> bool:
    """Whether any of ``arrays`` is a Dask array."""
    return any(is_dask(a) for a in arrays)


def require_dask(what: str) -> Any:
    """The ``dask`` module (with ``dask.array`` loaded), or an ImportError saying what
    to install."""
    try:
        import dask
        import dask.array
    except ImportError as error:
        raise ImportError(f"{what} needs Dask: {INSTALL_HINT}") from error
    return dask


def compute_here(*collections: Any) -> Any:
    """``dask.compute`` on the caller's scheduler, which also works inside a task running on
    a ``distributed`` worker (it then asks the cluster, instead of blocking a worker slot)."""
    dask = require_dask("computing Dask arrays")
    try:
        from distributed import get_worker, worker_client

        get_worker()
    except (ImportError, ValueError):  # no distributed, or not inside a worker's task
        result = dask.compute(*collections)
    else:
        with worker_client() as client:
            result = client.compute(list(collections), sync=True)
    return result[0] if len(collections) == 1 else result
