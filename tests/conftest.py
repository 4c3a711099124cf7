"""Shared fixtures: every backend through one ``xp`` fixture, and the oracles' data."""

from __future__ import annotations

import numpy as np
import pytest

import fastvr
from fastvr._backend import cuda_device_count


def _cupy_or_skip():
    if cuda_device_count() == 0:
        pytest.skip("CuPy with a usable CUDA device is not available")
    import cupy

    return cupy


@pytest.fixture(params=["numpy", "array_api_strict", "cupy"])
def xp(request):
    """The array library a test's inputs are made in (its outputs must follow)."""
    if request.param == "numpy":
        return np
    if request.param == "array_api_strict":
        return pytest.importorskip("array_api_strict")
    return _cupy_or_skip()


@pytest.fixture(params=["numpy", "cupy"])
def host_backend(request):
    """Each backend that numpy inputs can be computed on (outputs must stay numpy)."""
    if request.param == "cupy":
        _cupy_or_skip()
    with fastvr.backend(request.param):
        yield request.param


@pytest.fixture
def rng():
    return np.random.default_rng(231)


def to_xp(xp, a):
    """A numpy array as an array of library ``xp``."""
    if xp is np:
        return np.asarray(a)
    return xp.asarray(np.asarray(a))


def library_name(x) -> str:
    return type(x).__module__.split(".")[0]
