"""Every layout a notebook passes gives the contiguous array's answers, costs what its rows
cost, and is never modified (issue: views, slices, Fortran order, memory maps)."""

from __future__ import annotations

import functools
import tracemalloc

import array_api_compat.numpy as xp_numpy
import numpy as np
import pytest

import fastvr
from fastvr import to_numpy
from fastvr._backend import blas_ready, rows_for_gathers, take_rows
from fastvr.classifiers import KNearestNeighbor, LinearSVM, Softmax
from fastvr.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from fastvr.classifiers.neural_net import TwoLayerNet
from fastvr.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
from fastvr.features import color_histogram_hsv, extract_features, hog_feature
from fastvr.tuning import cross_validate_k, train_linear_grid, train_two_layer_grid

from .layouts import ROW_LAYOUTS, in_layout


@pytest.fixture(params=ROW_LAYOUTS)
def layout(request):
    return request.param


def _data(n=240, d=17, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, classes, n)


def _same_after(call, X, layout, tmp_path):
    """``call`` on ``X`` in ``layout`` and on ``X`` itself, from the same seed; checks that the
    layout's array is left exactly as it was (values and flags)."""
    arranged = in_layout(X, layout, tmp_path)
    before, writeable = np.array(arranged), arranged.flags.writeable
    np.random.seed(1)
    got = call(arranged)
    np.random.seed(1)
    expected = call(X)
    np.testing.assert_array_equal(np.asarray(arranged), before)
    assert arranged.flags.writeable == writeable
    return got, expected


def _assert_equal_trees(got, expected):
    if isinstance(expected, dict):
        assert got.keys() == expected.keys()
        for key in expected:
            _assert_equal_trees(got[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            _assert_equal_trees(a, b)
    else:
        np.testing.assert_array_equal(to_numpy(got), to_numpy(expected))


@pytest.mark.parametrize("cls", [LinearSVM, Softmax])
def test_linear_training_equals_contiguous(layout, cls, tmp_path):
    X, y = _data()

    def train(Xs):
        model = cls()
        history = model.train(Xs, y, learning_rate=1e-2, reg=1e-3, num_iters=30, batch_size=16)
        return history, model.W, model.predict(Xs)

    _assert_equal_trees(*_same_after(train, X, layout, tmp_path))


def test_two_layer_net_training_equals_contiguous(layout, tmp_path):
    X, y = _data()

    def train(Xs):
        net = TwoLayerNet(X.shape[1], 8, 4)
        stats = net.train(Xs, y, Xs[:50], y[:50], learning_rate=1e-1, num_iters=30, batch_size=16)
        return stats, net.params, net.predict(Xs)

    _assert_equal_trees(*_same_after(train, X, layout, tmp_path))


def test_grids_equal_contiguous(layout, tmp_path):
    X, y = _data()

    def grids(Xs):
        rates, regs = [1e-2, 1e-1], [0.0, 1e-2]
        linear = train_linear_grid("softmax", Xs, y, Xs, y, rates, regs, 20, 16)
        nets = train_two_layer_grid(Xs, y, Xs, y, 6, rates, regs, num_iters=20, batch_size=16)
        return linear.results, nets.results

    _assert_equal_trees(*_same_after(grids, X, layout, tmp_path))


def test_neighbours_equal_contiguous(layout, tmp_path):
    X = np.random.default_rng(2).integers(0, 5, (150, 9)).astype(float)  # many exact ties
    y = np.random.default_rng(3).integers(0, 3, 150)

    def neighbours(Xs):
        knn = KNearestNeighbor()
        knn.train(Xs[:100], y[:100])
        queries = Xs[100:]
        dists = [knn.compute_distances_no_loops(queries), knn.compute_distances_one_loop(queries)]
        return dists, knn.predict(queries, k=5), cross_validate_k(Xs, y, [1, 4, 9], num_folds=3)

    _assert_equal_trees(*_same_after(neighbours, X, layout, tmp_path))


@pytest.mark.parametrize(
    "loss", [svm_loss_vectorized, softmax_loss_vectorized, svm_loss_naive, softmax_loss_naive]
)
def test_losses_equal_contiguous(layout, loss, tmp_path):
    X, y = _data()
    W = np.random.default_rng(4).standard_normal((X.shape[1], 4)) * 1e-2
    got, expected = _same_after(lambda Xs: loss(W, Xs, y, 1e-2), X, layout, tmp_path)
    assert got[0] == pytest.approx(expected[0], rel=1e-12, abs=0)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-12, atol=1e-15)


FEATURE_LAYOUTS = ["contiguous", "fortran", "reversed rows", "read-only", "memmap"]


@pytest.mark.parametrize("layout", FEATURE_LAYOUTS)
def test_features_equal_contiguous(layout, tmp_path):
    imgs = np.random.default_rng(5).integers(0, 256, (6, 32, 32, 3)).astype(float)
    fns = [hog_feature, functools.partial(color_histogram_hsv, nbin=25)]
    got, expected = _same_after(lambda x: extract_features(x, fns), imgs, layout, tmp_path)
    # numpy's fused kernels read every layout alike; the portable path's reductions may
    # add in another order when the layout differs
    np.testing.assert_allclose(to_numpy(got), to_numpy(expected), rtol=1e-13, atol=0)


def test_take_rows_reads_only_the_rows():
    """A zero-stride view of 10⁹ rows (1.2 TB if copied): gathering 3 rows must not copy it,
    as ``np.take`` would before gathering."""
    row = np.arange(154.0)
    huge = np.broadcast_to(row, (10**9, 154))
    got = take_rows(huge, np.array([5, 10**9 - 1, 0]), xp=xp_numpy)
    np.testing.assert_array_equal(got, np.stack([row] * 3))


def _peak_bytes(fn) -> int:
    """Peak bytes numpy allocated while computing ``fn()`` on the host."""
    tracemalloc.start()
    try:
        with fastvr.backend("numpy"):  # also under --off-host-backend
            fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("layout", ["column slice", "reversed rows", "read-only", "memmap"])
def test_training_on_a_row_major_view_copies_nothing(layout, tmp_path):
    """Each step gathers its minibatch only: the whole training set is never copied."""
    X, y = _data(n=20000, d=50)
    arranged = in_layout(X, layout, tmp_path)
    peak = _peak_bytes(lambda: LinearSVM().train(arranged, y, num_iters=50, batch_size=100))
    assert peak < X.nbytes / 10, (peak, X.nbytes)


@pytest.mark.parametrize("layout", ["fortran", "column step"])
def test_strided_rows_are_copied_at_most_once_per_training_call(layout, tmp_path):
    X, y = _data(n=20000, d=50)
    F = in_layout(X, layout, tmp_path)
    many = _peak_bytes(lambda: LinearSVM().train(F, y, num_iters=100, batch_size=200))
    assert X.nbytes <= many < 1.5 * X.nbytes  # one row-major copy for 20000 gathered rows
    few = _peak_bytes(lambda: LinearSVM().train(F, y, num_iters=2, batch_size=100))
    assert few < X.nbytes / 10  # 200 strided rows cost less than a copy


@pytest.mark.parametrize("layout", ["reversed rows", "column step"])
def test_layouts_blas_cannot_read_are_copied_once_per_product(layout, tmp_path):
    X, y = _data(n=20000, d=50)
    arranged = in_layout(X, layout, tmp_path)
    W = np.zeros((50, 4))
    assert (
        X.nbytes <= _peak_bytes(lambda: svm_loss_vectorized(W, arranged, y, 0.0)) < 1.5 * X.nbytes
    )
    svm = LinearSVM()
    svm.W = W
    assert X.nbytes <= _peak_bytes(lambda: svm.predict(arranged)) < 1.5 * X.nbytes


def test_blas_ready_keeps_what_blas_reads():
    X = np.zeros((100, 7))
    for view in (X, X[:, :-1], np.asfortranarray(X), X[::3], X[:1, ::2], X[:, :1]):
        assert blas_ready(view, xp=xp_numpy) is view
    for view in (X[::-1], X[:, ::2], X[::-2, ::2], X[:1, ::-1]):
        copied = blas_ready(view, xp=xp_numpy)
        assert copied.flags.c_contiguous
        np.testing.assert_array_equal(copied, view)


def test_rows_for_gathers_keeps_row_major_arrays():
    X = np.zeros((100, 7))
    for view in (X, X[:, :-1], X[::-1], X[::3]):
        assert rows_for_gathers(view, 10**6, xp=xp_numpy) is view
    copied = rows_for_gathers(np.asfortranarray(X), 100, xp=xp_numpy)
    assert copied.flags.c_contiguous
