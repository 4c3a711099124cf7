"""The loop kernels: Numba CPU directly, Numba-CUDA under the simulator (or a real GPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fastvr._backend import cuda_device_count
from fastvr.kernels import cpu

from .oracles import distances_loop

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = [(1, 1, 1), (5, 7, 3), (33, 9, 17)]  # (n, m, d): edges of the 32 x 8 thread blocks


@pytest.mark.parametrize(("n", "m", "d"), CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_kernels_match_float64_loop(n, m, d, dtype, rng):
    X = rng.normal(size=(n, d)).astype(dtype)
    Y = rng.normal(size=(m, d)).astype(dtype)
    for l1 in (False, True):
        want = distances_loop(X, Y, "l1" if l1 else "l2")
        for squared in (False, True):
            expected = want if (l1 or not squared) else want**2
            two = np.empty((n, m), dtype)
            cpu.two_loops(X, Y, two, l1, squared)
            one = np.empty((n, m), dtype)
            cpu.one_loop(X, np.ascontiguousarray(Y.T), one, l1, squared)
            rtol = 1e-6 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(two, expected, rtol=rtol)
            np.testing.assert_allclose(one, expected, rtol=rtol)


_CUDA_SCRIPT = textwrap.dedent(
    """
    import json, numpy as np
    from fastvr.kernels import cuda
    from tests import oracles
    rng = np.random.default_rng(7)
    errors = {}
    for n, m, d in %r:
        X, Y = rng.normal(size=(n, d)), rng.normal(size=(m, d))
        for l1 in (False, True):
            diff = X[:, None, :] - Y[None, :, :]
            want = np.abs(diff).sum(-1) if l1 else np.sqrt((diff * diff).sum(-1))
            for name in ("two_loops", "one_loop"):
                out = np.full((n, m), np.nan)
                getattr(cuda, name)(X, Y, out, l1, False)
                errors[f"{name}-l1={l1}-{n}x{m}x{d}"] = float(np.nanmax(np.abs(out - want)
                    + np.isnan(out)))
    W, X, y = rng.normal(size=(6, 4)), rng.normal(size=(37, 6)), rng.integers(0, 4, 37)
    for name in ("svm", "softmax"):
        loss, dW = np.zeros(1), np.zeros((6, 4))
        getattr(cuda, f"{name}_loss_sums")(W, X, y, loss, dW)
        want_loss, want_dW = getattr(oracles, f"{name}_loss_loop")(W, X, y, 0.0)
        errors[f"{name}-loss"] = abs(loss[0] / 37 - want_loss)
        errors[f"{name}-dW"] = float(np.max(np.abs(dW / 37 - want_dW)))
    # top-k: heavy ties, infinities, a row of nothing else, k across the kernel capacities
    D = rng.integers(0, 4, size=(4, 150)).astype(np.float32)
    D[1, :9], D[2] = np.inf, np.inf
    for k in (1, 8, 9, 33, 64):
        values, indices = np.empty((4, k), np.float32), np.empty((4, k), np.int64)
        cuda.smallest_k(D, values, indices)
        want = np.argsort(D, axis=1, kind="stable")[:, :k]
        errors[f"smallest_k-{k}"] = float(np.sum(indices != want)) + float(
            np.sum(values != np.take_along_axis(D, want, axis=1)))
    print(json.dumps(errors))
    """
) % (CASES,)


@pytest.mark.cudasim
def test_cuda_kernels_under_the_simulator():
    """Runs in a subprocess: the simulator is chosen when Numba is first imported."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _CUDA_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=True,
        cwd=_REPO,
    ).stdout
    errors = json.loads(out)
    assert len(errors) == 2 * 2 * len(CASES) + 4 + 5
    assert max(errors.values()) < 1e-12, errors


def test_cuda_kernels_on_a_real_gpu(rng):
    if cuda_device_count() == 0:
        pytest.skip("needs a CUDA device")
    import cupy

    import fastvr

    X, Y = rng.normal(size=(70, 40)), rng.normal(size=(90, 40))
    for method in ("two_loops", "one_loop"):
        for metric in ("l2", "l1"):
            got = fastvr.pairwise_distances(
                cupy.asarray(X), cupy.asarray(Y), method=method, metric=metric
            )
            assert isinstance(got, cupy.ndarray)
            np.testing.assert_allclose(got.get(), distances_loop(X, Y, metric), rtol=1e-12)
    # top-k on the device: the kernel equals the partition route, ties and all
    from array_api_compat import array_namespace

    from fastvr.ops.neighbors import smallest_k, smallest_k_by_partition

    D = cupy.asarray(rng.integers(0, 6, size=(300, 2000)).astype(np.float32))
    xp = array_namespace(D)
    for k in (1, 10, 64):
        got, want = smallest_k(D, k, xp=xp), smallest_k_by_partition(D, k, xp=xp)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a.get(), b.get())


_COURSE_SIGNATURES = """
import numpy as np
from fastvr.classifiers import KNearestNeighbor
from fastvr.classifiers.linear_svm import svm_loss_naive
from fastvr.classifiers.softmax import softmax_loss_naive
from fastvr.features import color_histogram_hsv, extract_features, hog_feature
from fastvr.kernels import cpu

rng = np.random.default_rng(0)
W, X, y = rng.standard_normal((7, 3)), rng.standard_normal((20, 7)), rng.integers(0, 3, 20)
for loss in (svm_loss_naive, softmax_loss_naive):
    loss(W, X, y, 5e-6)  # the notebooks' float64 dev set
    loss(W.astype(np.float32), X.astype(np.float32), y, 5e-6)
    loss(W, np.hstack([X, X])[:, :7], y, 5e-6)  # a sliced view
knn = KNearestNeighbor()
knn.train(X, y)
for num_loops in (0, 1, 2):
    knn.predict(X[:5], k=3, num_loops=num_loops)
imgs = rng.random((2, 32, 32, 3)) * 255
extract_features(imgs, [hog_feature, lambda im: color_histogram_hsv(im, nbin=25)])
extract_features(imgs, [hog_feature])
misses = {
    name: sum(kernel.stats.cache_misses.values())
    for name, kernel in vars(cpu).items()
    if hasattr(kernel, "stats")
}
print(sorted(name for name, count in misses.items() if count))
"""


@pytest.mark.slow
def test_course_signatures_load_from_numbas_disk_cache(tmp_path):
    """A fresh process finds every kernel the course's notebooks call in the on-disk cache:
    after the first run on a machine, no notebook pays for a compilation again."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    run = [sys.executable, "-c", _COURSE_SIGNATURES]
    first = subprocess.run(run, env=env, capture_output=True, text=True, check=True)
    assert first.stdout.strip() != "[]"  # a fresh cache folder: the first run compiles
    again = subprocess.run(run, env=env, capture_output=True, text=True, check=True)
    assert again.stdout.strip() == "[]", again.stdout


def test_split_over_threads_gives_the_same_bits_as_one_thread(monkeypatch, rng):
    """Each row is computed by the same code whichever thread runs it: splitting the rows
    over 3 threads (forced, on tiny inputs) changes nothing, and an error reaches the caller."""
    X, Y = rng.normal(size=(13, 40)), rng.normal(size=(29, 40))
    imgs = rng.random((7, 16, 16, 3)) * 255

    def run():
        two, one = np.empty((13, 29)), np.empty((13, 29))
        cpu.two_loops(X, Y, two, False, False)
        cpu.one_loop(X, np.ascontiguousarray(Y.T), one, True, False)
        hog, hue = np.empty((7, 2, 2, 9)), np.empty((7, 10))
        cpu.hog_cells(imgs, np.array([0.299, 0.587, 0.144]), hog)
        cpu.hue_histograms(imgs, np.linspace(0, 255, 11), 255.0, hue)
        rows, found = np.arange(13, dtype=np.int64), np.empty(13)
        cpu.pair_sq_distances(X, Y, rows, rows, found)
        return two, one, hog, hue, found

    alone = run()
    monkeypatch.setattr(cpu, "_MIN_WORK_PER_THREAD", 1)
    monkeypatch.setattr(cpu, "thread_count", lambda: 3)
    for a, b in zip(alone, run(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="boom"):
        cpu.over_rows(9, 9, lambda start, stop: (_ for _ in ()).throw(ValueError("boom")))
