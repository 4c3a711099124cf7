"""Dask's own local schedulers, with no ``distributed`` cluster in the process (a module of
its own: the cluster of ``test_dask.py`` is gone by the time it runs)."""

from __future__ import annotations

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

import fastvr  # noqa: E402
from fastvr.tuning import cross_validate_k  # noqa: E402

from .test_dask import data, one_process  # noqa: E402


@pytest.mark.parametrize("scheduler", ["threads", "synchronous"])
def test_dask_local_schedulers(scheduler, rng):
    """No ``distributed`` client: Dask's own local schedulers, as the caller configures."""
    X, Y = data("duplicates", rng)
    y = rng.integers(0, 3, Y.shape[0])
    with dask.config.set(scheduler=scheduler):
        got = fastvr.kneighbors(X, da.from_array(Y, chunks=(37, -1)), k=6)
        table = cross_validate_k(da.from_array(Y, chunks=(50, -1)), y, [1, 4], num_folds=4)
    want = one_process(fastvr.kneighbors, X, Y, k=6)
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[0], want[0])
    assert table == one_process(cross_validate_k, Y, y, [1, 4], num_folds=4)
