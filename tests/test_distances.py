"""Distances on every path and backend against float64 loops and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import fastvr

from .conftest import placed, to_xp
from .oracles import distances_loop

METHODS = ["vectorized", "one_loop", "two_loops"]


def _rel_to_max(got, want):
    return np.max(np.abs(fastvr.to_numpy(got) - want)) / np.max(want)


@pytest.mark.parametrize("metric", ["l2", "l1"])
@pytest.mark.parametrize("method", METHODS)
def test_every_path_matches_float64_loop(xp, metric, method, rng):
    X = rng.normal(size=(13, 29))
    Y = rng.normal(size=(17, 29))
    got = fastvr.pairwise_distances(to_xp(xp, X), to_xp(xp, Y), metric=metric, method=method)
    assert placed(got) == placed(to_xp(xp, X))
    assert got.shape == (13, 17)
    assert _rel_to_max(got, distances_loop(X, Y, metric)) < 1e-9


def test_vectorized_matches_scikit_learn(rng):
    from sklearn.metrics.pairwise import euclidean_distances, manhattan_distances

    X, Y = rng.random((40, 100)) * 255, rng.random((60, 100)) * 255
    np.testing.assert_allclose(
        fastvr.pairwise_distances(X, Y), euclidean_distances(X, Y), rtol=1e-10
    )
    np.testing.assert_allclose(
        fastvr.pairwise_distances(X, Y, metric="l1"), manhattan_distances(X, Y), rtol=1e-12
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(method, dtype, rng):
    X = rng.random((5, 8)).astype(dtype)
    assert fastvr.pairwise_distances(X, X, method=method).dtype == dtype


def test_mixed_float_dtypes_promote(rng):
    X = rng.random((5, 8)).astype(np.float32)
    assert fastvr.pairwise_distances(X, X.astype(np.float64)).dtype == np.float64


def test_uint8_images_do_not_wrap_around():
    a = np.zeros((1, 4), dtype=np.uint8)
    b = np.full((1, 4), 255, dtype=np.uint8)
    for method in METHODS:
        got = fastvr.pairwise_distances(a, b, method=method)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, [[510.0]])  # sqrt(4 * 255²); wrap-around gives 2
        np.testing.assert_allclose(
            fastvr.pairwise_distances(b, a, method=method, metric="l1"), [[1020.0]]
        )


def test_squared(rng):
    X, Y = rng.random((6, 5)), rng.random((4, 5))
    for method in METHODS:
        np.testing.assert_allclose(
            fastvr.pairwise_distances(X, Y, method=method, squared=True),
            distances_loop(X, Y) ** 2,
            rtol=1e-12,
        )


def test_y_defaults_to_x(rng):
    X = rng.random((7, 3))
    d = fastvr.pairwise_distances(X)
    np.testing.assert_allclose(d, distances_loop(X, X), atol=1e-12)
    assert np.all(np.diag(d) == 0.0)


# -- precision where the expansion ‖a‖² + ‖b‖² − 2a·b cancels --------------------------------


def _near_duplicates(rng, dtype, offset):
    """Rows with a large common offset and pairs that differ by tiny perturbations."""
    base = offset + rng.normal(size=(20, 3072)) * 10.0
    near = base + rng.normal(size=base.shape) * 1e-2  # distances ~0.5 against norms ~1e6+
    X = np.concatenate([base[:10], near[10:]]).astype(dtype)
    Y = np.concatenate([near[:10], base[10:], base[:3]]).astype(dtype)  # exact duplicates too
    return X, Y


@pytest.mark.parametrize("offset", [0.0, 1e4])
@pytest.mark.parametrize(("dtype", "rtol"), [(np.float32, 1e-4), (np.float64, 1e-10)])
def test_vectorized_is_accurate_on_near_duplicates_and_large_norms(xp, dtype, rtol, offset, rng):
    X, Y = _near_duplicates(rng, dtype, offset)
    want = distances_loop(X, Y)  # the float32 inputs, exactly, in float64
    got = fastvr.to_numpy(fastvr.pairwise_distances(to_xp(xp, X), to_xp(xp, Y)))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0)
    # the exact duplicates come out exactly zero
    assert np.all(got[np.arange(3), 20 + np.arange(3)] == 0.0)


def test_naive_expansion_would_fail_that_test(rng):
    """The precision test above has teeth: plain float32 expansion breaks it badly."""
    X, Y = _near_duplicates(rng, np.float32, 1e4)
    naive = np.sqrt(np.maximum((X * X).sum(1)[:, None] + (Y * Y).sum(1)[None, :] - 2 * X @ Y.T, 0))
    want = distances_loop(X, Y)
    assert np.max(np.abs(naive - want) / np.maximum(want, 1e-30)) > 1e-2


@pytest.mark.slow
def test_cifar_scale_course_check(rng):
    """The course's check: Frobenius norm of loop vs vectorized difference < 1e-3."""
    X = rng.integers(0, 256, size=(100, 3072)).astype(np.float64)
    Y = rng.integers(0, 256, size=(1000, 3072)).astype(np.float64)
    two = fastvr.pairwise_distances(X, Y, method="two_loops")
    for method in ("one_loop", "vectorized"):
        assert np.linalg.norm(two - fastvr.pairwise_distances(X, Y, method=method)) < 1e-3


def test_blocks_under_a_tiny_budget_give_the_same_matrix(rng):
    X, Y = rng.random((50, 16)), rng.random((30, 16))
    whole = fastvr.pairwise_distances(X, Y)
    with fastvr.working_memory(0.001):  # ~1 KiB: one row per block
        # equal up to rounding: BLAS picks other kernels for a one-row product
        np.testing.assert_allclose(fastvr.pairwise_distances(X, Y), whole, rtol=1e-14)


# -- properties ------------------------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64)


def _pairs(max_rows=8, max_cols=6):
    return st.integers(1, max_cols).flatmap(
        lambda d: st.tuples(
            arrays(np.float64, st.tuples(st.integers(1, max_rows), st.just(d)), elements=finite),
            arrays(np.float64, st.tuples(st.integers(1, max_rows), st.just(d)), elements=finite),
        )
    )


@settings(max_examples=60, deadline=None)
@given(_pairs(), st.sampled_from(["l2", "l1"]))
def test_symmetric_and_non_negative(pair, metric):
    X, Y = pair
    dxy = fastvr.pairwise_distances(X, Y, metric=metric)
    dyx = fastvr.pairwise_distances(Y, X, metric=metric)
    assert np.all(dxy >= 0)
    scale = max(1.0, float(np.max(dxy)))
    np.testing.assert_allclose(dxy, dyx.T, atol=1e-9 * scale)


@settings(max_examples=60, deadline=None)
@given(_pairs(), st.sampled_from(["l2", "l1"]))
def test_zero_self_distance(pair, metric):
    X, _ = pair
    assert np.all(np.diag(fastvr.pairwise_distances(X, X, metric=metric)) == 0.0)


@settings(max_examples=60, deadline=None)
@given(_pairs(), st.floats(-1e4, 1e4, allow_nan=False), st.sampled_from(["l2", "l1"]))
def test_translation_invariant(pair, shift, metric):
    X, Y = pair
    d = fastvr.pairwise_distances(X, Y, metric=metric)
    moved = fastvr.pairwise_distances(X + shift, Y + shift, metric=metric)
    scale = max(1.0, float(np.max(np.abs(X))), float(np.max(np.abs(Y))), abs(shift))
    np.testing.assert_allclose(moved, d, atol=1e-9 * scale * np.sqrt(X.shape[1]))


@settings(max_examples=40, deadline=None)
@given(_pairs(max_rows=5, max_cols=4), st.sampled_from(["l2", "l1"]))
def test_loop_paths_agree_with_vectorized(pair, metric):
    X, Y = pair
    want = distances_loop(X, Y, metric)
    scale = max(1.0, float(np.max(want)))
    for method in METHODS:
        got = fastvr.pairwise_distances(X, Y, metric=metric, method=method)
        np.testing.assert_allclose(got, want, atol=1e-9 * scale)
