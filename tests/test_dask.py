"""Scale-out on Dask (issue 13): on a LocalCluster of worker processes, every answer equals
the single-process one, ties across chunk boundaries and chunks smaller than k included; a
worker killed mid-run is survived; bad chunks fail as one process fails, naming the chunk.

The oracle is fastvr's own single-process result on numpy (itself tested against exact
arithmetic, scikit-learn and the course's loops elsewhere).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import fastvr  # noqa: E402
from fastvr.classifiers import KNearestNeighbor  # noqa: E402
from fastvr.neighbors import last_screen_stats  # noqa: E402
from fastvr.tuning import cross_validate_k, train_linear_grid, train_two_layer_grid  # noqa: E402


@contextlib.contextmanager
def two_workers():
    """Two worker processes, one thread each: every chunk crosses a process boundary."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(autouse=True)
def screened():
    """The exactness these tests check is the screen's; "auto" screens only references of
    2^20 entries or more, and these are small."""
    with fastvr.screening(True):
        yield


@pytest.fixture(scope="module")
def client():
    with two_workers() as client:
        yield client


def one_process(function, *args, **kwargs):
    """The single-process answer on numpy (whatever backend the run rehearses)."""
    with fastvr.backend("numpy"):
        return function(*args, **kwargs)


def data(kind, rng, n=30, m=400, d=24):
    """Queries and training rows of one kind; duplicates sit in both halves of Y, so equal
    distances straddle every chunk boundary."""
    if kind == "pixels":
        Y = rng.integers(0, 256, (m, d)).astype(float)
        Y[m // 2 :] = Y[: m - m // 2]
        return rng.integers(0, 256, (n, d)).astype(float), Y
    Y = rng.normal(size=(m, d)) * 50
    if kind in ("duplicates", "near_ties", "last_bits"):
        Y[m // 2 :] = Y[: m - m // 2]
    if kind == "near_ties":  # closer than float64 sums resolve: settled by exact arithmetic
        Y[m // 2 :] *= 1 + 1e-15 * rng.standard_normal((m - m // 2, 1))
    if kind == "last_bits":
        Y[m // 2 :, 0] = np.nextafter(Y[m // 2 :, 0], np.inf)
    X = Y[rng.integers(0, m, n)] + (
        0 if kind in ("last_bits", "near_ties") else rng.normal(size=(n, d))
    )
    return X, Y


KINDS = ["pixels", "gaussian", "duplicates", "near_ties", "last_bits"]
CHUNKS = [9, 37, 250]  # smaller than k = 12, uneven, two chunks


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rows", CHUNKS)
def test_kneighbors_equals_one_process_exactly(client, kind, rows, rng):
    X, Y = data(kind, rng)
    for k in (1, 5, 12):
        want = one_process(fastvr.kneighbors, X, Y, k=k)
        got = fastvr.kneighbors(X, da.from_array(Y, chunks=(rows, -1)), k=k)
        assert all(isinstance(a, np.ndarray) for a in got)  # numpy queries, numpy answers
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(got[0], want[0])


def test_near_ties_are_settled_exactly_across_chunks(client, rng):
    """The data really needs exact arithmetic, and the chunked search gets it right."""
    X, Y = data("near_ties", rng)
    want = one_process(fastvr.kneighbors, X, Y, k=3)
    assert last_screen_stats().exact_rows > 0
    got = fastvr.kneighbors(X, da.from_array(Y, chunks=(37, -1)), k=3)
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[0], want[0])


@pytest.mark.parametrize("metric", ["l2", "l1"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_path_and_lazy_queries(client, metric, dtype, rng):
    """Dask queries give lazy Dask answers. The GEMM paths (float32, and float64 with the
    screen off) centre every chunk by the whole set's shift: the same neighbours, distances
    to the GEMM's rounding (BLAS sums a product of another shape in another order)."""
    X, Y = (a.astype(dtype) for a in data("gaussian", rng))
    for screening in (True, False):
        with fastvr.screening(screening):
            want = one_process(fastvr.kneighbors, X, Y, k=4, metric=metric)
            lazy = fastvr.kneighbors(
                da.from_array(X, chunks=(7, -1)),
                da.from_array(Y, chunks=(37, -1)),
                k=4,
                metric=metric,
            )
            assert all(isinstance(a, da.Array) for a in lazy)
            dist, idx = dask.compute(*lazy)
        np.testing.assert_array_equal(idx, want[1])
        assert dist.dtype == want[0].dtype
        exact = metric == "l1" or (dtype == np.float64 and screening)
        if exact:
            np.testing.assert_array_equal(dist, want[0])
        else:
            np.testing.assert_allclose(dist, want[0], rtol=1e-5 if dtype == np.float32 else 1e-13)


def test_in_memory_training_set_with_dask_queries(client, rng):
    X, Y = data("pixels", rng)
    dist, idx = fastvr.kneighbors(da.from_array(X, chunks=(8, -1)), Y, k=5)
    want = one_process(fastvr.kneighbors, X, Y, k=5)
    np.testing.assert_array_equal(idx.compute(), want[1])
    np.testing.assert_array_equal(dist.compute(), want[0])


@pytest.mark.parametrize("method", ["vectorized", "one_loop", "two_loops"])
def test_pairwise_distances_is_a_lazy_matrix(client, method, rng):
    X, Y = data("gaussian", rng)
    got = fastvr.pairwise_distances(X, da.from_array(Y, chunks=(37, -1)), method=method)
    assert isinstance(got, da.Array) and got.shape == (X.shape[0], Y.shape[0])
    want = one_process(fastvr.pairwise_distances, X, Y, method=method)
    if method == "vectorized":  # the GEMM expansion, to its rounding
        np.testing.assert_allclose(got.compute(), want, rtol=1e-13)
    else:  # direct sums of each pair
        np.testing.assert_array_equal(got.compute(), want)


@pytest.mark.parametrize("kind", ["pixels", "near_ties"])
def test_knearestneighbor_on_a_dask_training_set(client, kind, rng):
    X, Y = data(kind, rng)
    y = rng.integers(0, 4, Y.shape[0])
    here = KNearestNeighbor()
    one_process(here.train, X=Y, y=y)
    there = KNearestNeighbor()
    there.train(da.from_array(Y, chunks=(37, -1)), da.from_array(y, chunks=50))
    for k in (1, 4, 9):
        for loops in (0, 1, 2):
            want = one_process(here.predict, X, k=k, num_loops=loops)
            np.testing.assert_array_equal(there.predict(X, k=k, num_loops=loops), want)
    lazy = there.predict(da.from_array(X, chunks=(11, -1)), k=4)
    assert isinstance(lazy, da.Array)
    np.testing.assert_array_equal(lazy.compute(), one_process(here.predict, X, k=4))
    for got, want in zip(
        there.kneighbors(X, k=6), one_process(here.kneighbors, X, k=6), strict=True
    ):
        np.testing.assert_array_equal(got, want)
    dists = one_process(here.compute_distances_two_loops, X)
    np.testing.assert_array_equal(there.compute_distances_two_loops(X).compute(), dists)
    for rows in (dists, da.from_array(dists, chunks=(13, 60))):
        got = there.predict_labels(rows, k=5)
        got = got.compute() if isinstance(got, da.Array) else got
        np.testing.assert_array_equal(got, one_process(here.predict_labels, dists, k=5))


@pytest.mark.parametrize("kind", ["pixels", "gaussian", "duplicates"])
def test_cross_validation_tables_are_equal(client, kind, rng):
    _, Y = data(kind, rng, m=300)
    y = rng.integers(0, 5, Y.shape[0])
    ks = [1, 3, 5, 8, 10, 20]
    want = one_process(cross_validate_k, Y, y, ks, num_folds=5)
    for rows in (16, 64):
        got = cross_validate_k(da.from_array(Y, chunks=(rows, -1)), da.from_array(y, rows), ks)
        assert got == want
    assert cross_validate_k(da.from_array(Y, chunks=(64, -1)), y, ks, metric="l1") == one_process(
        cross_validate_k, Y, y, ks, metric="l1"
    )


def _same_grids(a, b):
    assert a.results == b.results and a.diverged == b.diverged
    assert a.best_params == b.best_params
    for combo in a.results:
        np.testing.assert_allclose(a.histories[combo], b.histories[combo], rtol=1e-12)
        pa = getattr(a.models[combo], "params", {"W": getattr(a.models[combo], "W", None)})
        pb = getattr(b.models[combo], "params", {"W": getattr(b.models[combo], "W", None)})
        for name in pa:
            np.testing.assert_allclose(pa[name], pb[name], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("model", ["svm", "softmax"])
def test_linear_grid_split_across_workers(client, model, rng):
    """Shares of the grid on two workers: the same grid as one batched run (to rounding:
    products of another width), and numpy's random state left where one run leaves it."""
    X, y = rng.normal(size=(240, 12)), rng.integers(0, 3, 240)
    args = (model, X, y, X[:60], y[:60], [1e-3, 1e-2, 1e-1], [0.0, 0.5, 5.0])
    np.random.seed(3)
    want = one_process(train_linear_grid, *args, num_iters=60, batch_size=24)
    after = np.random.rand()
    np.random.seed(3)
    got = train_linear_grid(*args, num_iters=60, batch_size=24, parts=4)
    assert np.random.rand() == after
    _same_grids(want, got)
    np.random.seed(3)
    lazy_inputs = (da.from_array(X, chunks=50), da.from_array(y, chunks=50))
    _same_grids(
        want, train_linear_grid(model, *lazy_inputs, *args[3:], num_iters=60, batch_size=24)
    )


def test_two_layer_grid_split_across_workers(client, rng):
    X, y = rng.normal(size=(200, 10)), rng.integers(0, 3, 200)
    args = (X, y, X[:50], y[:50], 16, [1e-2, 1e-1], [0.0, 1e-3, 1e-2])
    np.random.seed(5)
    want = one_process(train_two_layer_grid, *args, num_iters=80, batch_size=20)
    np.random.seed(5)
    got = train_two_layer_grid(*args, num_iters=80, batch_size=20, parts=3)
    _same_grids(want, got)
    assert got.stats == want.stats


def test_a_chunk_with_nan_fails_as_one_process_fails_naming_it(client, rng):
    X, Y = data("gaussian", rng)
    Y[100, 3] = np.nan
    with pytest.raises(ValueError, match=r"^Y contains NaN or infinity$"):
        one_process(fastvr.kneighbors, X, Y, k=3)
    with pytest.raises(ValueError, match=r"^Y \(chunk 2, rows 74:111\) contains NaN or infinity$"):
        fastvr.kneighbors(X, da.from_array(Y, chunks=(37, -1)), k=3)


def test_a_query_block_with_nan_is_named(client, rng):
    X, Y = data("gaussian", rng)
    X[12, 0] = np.nan
    lazy = fastvr.kneighbors(da.from_array(X, chunks=(10, -1)), da.from_array(Y, chunks=(37, -1)))
    with pytest.raises(ValueError, match=r"^X \(chunk 1, rows 10:20\) contains NaN or infinity$"):
        dask.compute(*lazy)
    distances = fastvr.pairwise_distances(da.from_array(X, chunks=(10, -1)), Y)
    with pytest.raises(ValueError, match=r"^X \(chunk 1, rows 10:20\) contains NaN or infinity$"):
        distances.compute()


def test_a_chunk_with_the_wrong_feature_count_is_named(client, rng):
    X, Y = data("gaussian", rng, d=8)
    bad = dask.delayed(lambda: Y[:50, :7])()  # says (50, 8), holds (50, 7)
    parts = [da.from_array(Y[50:], chunks=(50, -1)), da.from_delayed(bad, (50, 8), dtype=float)]
    with pytest.raises(ValueError, match=r"X has 8 features but Y \(chunk 7, rows 350:400\) has 7"):
        fastvr.kneighbors(X, da.concatenate(parts), k=3)


def test_without_dask_the_error_says_what_to_install(monkeypatch, rng):
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 2, 30)
    for name in [m for m in sys.modules if m == "dask" or m.startswith(("dask.", "distributed"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ImportError, match=r"pip install 'fastvr\[dask\]'"):
        train_linear_grid("svm", X, y, X, y, [1e-3], [0.0], num_iters=2, batch_size=5, parts=2)


# -- faults -----------------------------------------------------------------------------------


@pytest.fixture
def fragile_client():
    """A cluster of its own, since its workers get killed."""
    with two_workers() as client:
        yield client


def _slow_rows(Y, start, stop):
    time.sleep(0.15)  # a chunk read from a slow disk: the run lasts long enough to be hit
    return Y[start:stop]


def _kill_a_busy_worker(client, after):
    """Kill (SIGKILL) a worker process that is running a task, ``after`` seconds from now."""
    pids = client.run(os.getpid)
    killed = []

    def kill():
        time.sleep(after)
        busy = [w for w, tasks in client.processing().items() if tasks]
        victim = pids[busy[0]] if busy else next(iter(pids.values()))
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    thread = threading.Thread(target=kill)
    thread.start()
    return thread, killed


def test_a_worker_killed_mid_knn_is_survived(fragile_client, rng):
    X, Y = data("near_ties", rng, n=20, m=1200)
    parts = [
        da.from_delayed(dask.delayed(_slow_rows)(Y, a, a + 40), (40, Y.shape[1]), dtype=float)
        for a in range(0, 1200, 40)
    ]
    want = one_process(fastvr.kneighbors, X, Y, k=5)
    thread, killed = _kill_a_busy_worker(fragile_client, after=0.6)
    got = fastvr.kneighbors(X, da.concatenate(parts), k=5)
    thread.join()
    assert killed  # the run was hit, and still finished
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[0], want[0])


def test_a_worker_killed_mid_grid_is_survived(fragile_client, rng):
    X, y = rng.normal(size=(400, 40)), rng.integers(0, 4, 400)
    args = ("softmax", X, y, X[:80], y[:80], [1e-3, 1e-2, 3e-2, 1e-1], [0.0, 1e-2, 1e-1])
    np.random.seed(7)
    want = one_process(train_linear_grid, *args, num_iters=3000, batch_size=64)
    np.random.seed(7)
    thread, killed = _kill_a_busy_worker(fragile_client, after=0.8)
    got = train_linear_grid(*args, num_iters=3000, batch_size=64, parts=4)
    thread.join()
    assert killed
    _same_grids(want, got)
