"""Backend selection, transfers and the import contract (SPEC §2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import array_api_compat
import numpy as np
import pytest

import fastvr
from fastvr._backend import cuda_device_count

from .conftest import StrictOffHost, to_xp

NO_GPU = cuda_device_count() == 0


def _run(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
        timeout=300,
    )
    return result.stdout


def test_import_is_light():
    """``import fastvr`` loads neither CuPy nor Numba (so it stays fast without a GPU; the
    background warm-up starts Numba's CPU target after it, never CUDA)."""
    out = _run(
        "import sys, json, fastvr; "
        "print(json.dumps({'cupy': 'cupy' in sys.modules, "
        "'cuda': any(m.startswith('numba.cuda') for m in sys.modules), "
        "'numba': 'numba' in sys.modules}))",
        FASTVR_WARMUP="off",
    )
    assert json.loads(out) == {"cupy": False, "cuda": False, "numba": False}


def test_course_imports_leave_heavy_modules_for_later():
    """A notebook's imports load no Numba or Dask, and array-api-compat's numpy namespace
    comes without numpy's f2py, testing, ma and polynomial (~0.1 s its import would otherwise
    pull in), then or after a computation; array-api-extra (~20 ms) waits for a library
    other than numpy or CuPy. The namespace works, hands those modules out when
    asked for them, and numpy's own modules still import for whoever asks numpy."""
    out = _run(
        "import sys, json, numpy as np\n"
        "import fastvr\n"
        "from fastvr.classifiers import KNearestNeighbor, LinearSVM, Softmax, TwoLayerNet\n"
        "from fastvr.classifiers.fc_net import FullyConnectedNet\n"
        "from fastvr import data_utils, features, gradient_check, layers, optim, solver\n"
        "heavy = ('numba', 'dask', 'numpy.f2py', 'numpy.testing', 'numpy.ma', 'numpy.polynomial', "
        "'array_api_extra')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "knn = KNearestNeighbor()\n"
        "knn.train(np.eye(3), np.arange(3))\n"
        "labels = knn.predict(np.eye(3)).tolist()\n"
        "after = [m for m in heavy[2:] if m in sys.modules]\n"
        "import array_api_compat.numpy as xp\n"
        "total = float(xp.sum(xp.asarray([1.0, 2.0])))\n"
        "np.testing.assert_equal(np.ma.masked_array([1], mask=[0]).sum(), 1)\n"
        "forwarded = xp.polynomial is np.polynomial and xp.random.rand is np.random.rand\n"
        "print(json.dumps({'loaded': loaded, 'after': after, 'labels': labels, "
        "'total': total, 'forwarded': forwarded,"
        "'all_kept': 'testing' in np.__all__ and 'f2py' in dir(np)}))",
        FASTVR_WARMUP="off",
    )
    assert json.loads(out) == {
        "loaded": [],
        "after": [],
        "labels": [0, 1, 2],
        "total": 3.0,
        "forwarded": True,
        "all_kept": True,
    }


def test_numpy_backend_by_name_and_context():
    with fastvr.backend("numpy") as chosen:
        assert chosen == fastvr.Backend("numpy")
        assert fastvr.current_backend().name == "numpy"
        assert isinstance(fastvr.asarray([1.0, 2.0]), np.ndarray)


def test_context_restores_the_previous_choice():
    before = fastvr.current_backend()
    with fastvr.backend("numpy"):
        pass
    assert fastvr.current_backend() == before


def test_auto_is_numpy_without_a_gpu():
    if not NO_GPU:
        pytest.skip("a GPU is present")
    with fastvr.backend("auto") as chosen:
        assert chosen.name == "numpy"


def test_environment_variable_selects_the_backend():
    out = _run("import fastvr; print(fastvr.current_backend().name)", FASTVR_BACKEND="numpy")
    assert out.strip() == "numpy"
    bad = subprocess.run(
        [sys.executable, "-c", "import fastvr; fastvr.current_backend()"],
        capture_output=True,
        text=True,
        env={**os.environ, "FASTVR_BACKEND": "tpu"},
    )
    assert bad.returncode != 0 and "FASTVR_BACKEND='tpu' is not one of" in bad.stderr


def test_unknown_backend_names():
    with pytest.raises(ValueError, match=r"backend name must be one of .*got 'torch'"):
        fastvr.use("torch")
    with pytest.raises(TypeError, match=r"backend name must be a str"):
        fastvr.use(3)
    with pytest.raises(ValueError, match=r"device=1 only applies to the 'cupy' backend"):
        fastvr.use("numpy", device=1)
    with pytest.raises(TypeError, match=r"device must be an int"):
        fastvr.backend("cupy", device="0").__enter__()


@pytest.mark.skipif(not NO_GPU, reason="CuPy with a GPU is present")
def test_asking_for_cupy_without_it_says_how_to_install():
    with pytest.raises(
        fastvr.BackendUnavailableError,
        match=r"fastvr\[cuda12\].*fastvr\[cuda13\]|"
        r"no CUDA device is usable",
    ):
        fastvr.use("cupy")
    assert fastvr.current_backend().name == "numpy"  # the failed call changed nothing


def test_to_numpy_from_every_library(xp):
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(fastvr.to_numpy(xp.asarray(a)), a)
    np.testing.assert_array_equal(fastvr.to_numpy([[0.0, 1.0]]), [[0.0, 1.0]])


def test_outputs_follow_numpy_inputs_on_every_backend(host_backend, rng):
    X = rng.normal(size=(4, 3))
    d = fastvr.pairwise_distances(X)
    assert isinstance(d, np.ndarray)
    i = fastvr.kneighbors(X, X, k=2)[1]
    assert isinstance(i, np.ndarray)
    np.testing.assert_array_equal(i[:, 0], np.arange(4))


def test_working_memory_context():
    assert fastvr.get_working_memory() == 1024.0
    with fastvr.working_memory(8):
        assert fastvr.get_working_memory() == 8.0
    assert fastvr.get_working_memory() == 1024.0


def test_rejects_non_arrays():
    with pytest.raises(TypeError, match=r"X must be an array; got dict"):
        fastvr.pairwise_distances({"a": 1})


def test_array_helpers_match_loops_on_every_backend(xp, rng):
    """The helpers for what the standard lacks: native fast paths and portability paths."""
    from fastvr._backend import _extras

    ns = array_api_compat.array_namespace(to_xp(xp, np.zeros(1)))
    values = rng.integers(0, 7, 200)
    weights = rng.random(200)
    want = np.zeros(9)
    for v, w in zip(values, weights, strict=True):
        want[v] += w
    got = _extras.bincount(to_xp(xp, values), to_xp(xp, weights), 9, xp=ns)
    np.testing.assert_allclose(fastvr.to_numpy(got), want, rtol=1e-12)  # bins 7, 8 stay 0

    rows = rng.normal(size=(6, 5))
    got = _extras.row_sq_norms(to_xp(xp, rows), xp=ns)
    np.testing.assert_allclose(fastvr.to_numpy(got), [sum(v * v for v in r) for r in rows])
    order = fastvr.to_numpy(_extras.argpartition(to_xp(xp, rows), 2, xp=ns))
    picked = np.take_along_axis(rows, order, axis=1)
    assert np.all(picked[:, :2] <= picked[:, 2:3]) and np.all(picked[:, 3:] >= picked[:, 2:3])
    np.testing.assert_array_equal(picked[:, 2], np.sort(rows, axis=1)[:, 2])

    target = to_xp(xp, np.zeros((3, 4)))
    _extras.scatter_set(
        target,
        to_xp(xp, np.array([0, 2])),
        to_xp(xp, np.array([1, 3])),
        to_xp(xp, [5.0, 6.0]),
        xp=ns,
    )
    _extras.scatter_rows(target, to_xp(xp, np.array([1])), to_xp(xp, np.ones((1, 4))), xp=ns)
    want = np.zeros((3, 4))
    want[0, 1], want[2, 3], want[1] = 5.0, 6.0, 1.0
    np.testing.assert_array_equal(fastvr.to_numpy(target), want)
    clamped = _extras.clamp_min_(to_xp(xp, np.array([-1.0, 2.0])), 0.0, xp=ns)
    np.testing.assert_array_equal(fastvr.to_numpy(clamped), [0.0, 2.0])


def test_bincount_portability_path_is_linear_in_memory(rng):
    """200000 values into 50000 bins: a one-hot formulation would need 80 GB."""
    from fastvr._backend import _extras

    stand_in = StrictOffHost()
    values = rng.integers(0, 50000, 200000)
    weights = rng.random(200000) * 300
    got = _extras.bincount(
        stand_in.asarray(values), stand_in.asarray(weights), 50000, xp=stand_in.module
    )
    want = np.bincount(values, weights=weights, minlength=50000)
    np.testing.assert_allclose(fastvr.to_numpy(got), want, rtol=1e-13)
