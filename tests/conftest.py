"""Shared fixtures: every backend through one ``xp`` fixture, and the oracles' data."""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest

import fastvr
from fastvr._backend import Placement, _arrays, _select, cuda_device_count


def _cupy_or_skip():
    if cuda_device_count() == 0:
        pytest.skip("CuPy with a usable CUDA device is not available")
    import cupy

    return cupy


class StrictOffHost:
    """array-api-strict with its arrays on a second device: a GPU stand-in for CPU-only runs.

    Like CuPy arrays, these refuse implicit conversion to numpy and refuse to combine with
    host-device arrays, so a host round trip or an array created without ``device=`` fails.
    """

    def __init__(self):
        self.module = pytest.importorskip("array_api_strict")
        self.device = self.module.Device("device1")

    def asarray(self, obj, **kwargs):
        kwargs.setdefault("device", self.device)
        return self.module.asarray(obj, **kwargs)

    def __getattr__(self, name):
        return getattr(self.module, name)


@pytest.fixture(params=["numpy", "array_api_strict", "strict_off_host", "cupy"])
def xp(request):
    """The array library a test's inputs are made in (its outputs must follow)."""
    if request.param == "numpy":
        return np
    if request.param == "array_api_strict":
        return pytest.importorskip("array_api_strict")
    if request.param == "strict_off_host":
        return StrictOffHost()
    return _cupy_or_skip()


def compute_off_host(monkeypatch) -> str:
    """Make calls on host inputs compute on the off-host stand-in, as "auto" with a GPU would.

    An explicit ``"numpy"`` choice still computes on numpy.
    """
    stand_in = StrictOffHost()
    place = Placement("array_api_strict", stand_in.module, stand_in.device, host_caller=True)
    on_host = _arrays._placement_of_backend

    def placement_of_backend(resolved):
        return on_host(resolved) if _select._current_request().name == "numpy" else place

    monkeypatch.setattr(_arrays, "_placement_of_backend", placement_of_backend)
    return place.library


def pytest_addoption(parser):
    parser.addoption(
        "--off-host-backend",
        action="store_true",
        help="compute every call on host inputs on array-api-strict's second device, a "
        "CPU-only rehearsal of FASTVR_BACKEND=cupy",
    )


@pytest.fixture(autouse=True)
def _off_host_backend(request, monkeypatch):
    if request.config.getoption("--off-host-backend"):
        compute_off_host(monkeypatch)


@pytest.fixture(params=["numpy", "strict_off_host", "cupy"])
def host_backend(request, monkeypatch):
    """Each backend that numpy inputs can be computed on (outputs must stay numpy).

    Yields the library the work runs in.
    """
    if request.param == "strict_off_host":
        yield compute_off_host(monkeypatch)
        return
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


def placed(x) -> tuple:
    """The library and device an array lives on (outputs must follow their inputs' place)."""
    return library_name(x), array_api_compat.device(x)


def computed_in(x) -> str:
    """The library fastvr computes in (and keeps fitted state in) for input ``x``."""
    if library_name(x) != "numpy":
        return library_name(x)
    return library_name(fastvr.asarray(np.empty(0)))  # host data: the selected backend's
