"""Certified float32 screening of float64 k-NN (issue 12): the neighbours must be exactly
those of exact arithmetic on the float64 inputs, whatever the screen's precision.

The oracle ranks every pair by its exact squared distance (rational arithmetic on the
float64 values, written here), lower training index first on equal distances.
"""

from __future__ import annotations

from fractions import Fraction

import array_api_compat.numpy as xp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastvr
from fastvr import neighbors
from fastvr.classifiers import KNearestNeighbor
from fastvr.ops.distances import prepare_reference
from fastvr.ops.screen import ScreenedReference, ScreenStats, screen_beta, screened_kneighbors
from fastvr.tuning import cross_validate_k

from .conftest import compute_off_host


def exact_kneighbors(X, Y, k):
    """Indices and exact squared distances (as floats) of the k nearest, by rationals."""
    Yf = [[Fraction(v) for v in row] for row in Y.tolist()]
    idx, d2 = [], []
    for x in X.tolist():
        xf = [Fraction(v) for v in x]
        dist = [sum((a - b) ** 2 for a, b in zip(xf, y, strict=True)) for y in Yf]
        order = sorted(range(len(Yf)), key=lambda j: (dist[j], j))[:k]
        idx.append(order)
        d2.append([float(dist[j]) for j in order])
    return np.array(idx), np.array(d2)


def _data(kind, rng, n, m, d):
    if kind == "pixels":
        return rng.integers(0, 256, (n, d)).astype(float), rng.integers(0, 256, (m, d)).astype(
            float
        )
    Y = rng.normal(size=(m, d)) * 50
    if kind == "centred":
        Y = Y - Y.mean(axis=0)
    if kind in ("duplicates", "near_ties", "last_bits"):
        Y[m // 2 :] = Y[: m - m // 2]  # every row twice
    if kind == "near_ties":  # closer than float32 resolves: 1e-12 relative nudges
        Y[m // 2 :] *= 1 + 1e-12 * rng.standard_normal((m - m // 2, 1))
    if kind == "last_bits":  # the copies differ from the originals in the last float64 bit
        Y[m // 2 :, 0] = np.nextafter(Y[m // 2 :, 0], np.inf)
    X = Y[rng.integers(0, m, n)] + (0 if kind == "last_bits" else rng.normal(size=(n, d)))
    return X, Y


KINDS = ["pixels", "gaussian", "centred", "duplicates", "near_ties", "last_bits"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mantissa", [24, 11, 8])  # float32, and TF32 / bf16 inputs
def test_screened_neighbours_are_the_exact_ones(kind, mantissa, rng):
    X, Y = _data(kind, rng, 7, 40, 12)
    ref = prepare_reference(Y, xp=xp)
    screened = ScreenedReference.build(ref, mantissa=mantissa, xp=xp)
    stats = ScreenStats()
    d2, idx = screened_kneighbors(
        X, screened, 5, xp=xp, budget_bytes=2**20, max_candidates=40, stats=stats
    )
    want_idx, want_d2 = exact_kneighbors(X, Y, 5)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_allclose(d2, want_d2, rtol=1e-14)
    assert stats.rows == 7 and stats.candidates >= 7 * 5


def test_the_bound_holds_for_every_entry(rng):
    """The certificate itself: |d² − s| <= β (nᵢ + nⱼ), checked against exact distances."""
    X, Y = rng.normal(size=(6, 30)) * 1e3, rng.normal(size=(50, 30)) * 1e3
    ref = prepare_reference(Y, xp=xp)
    screened = ScreenedReference.build(ref, mantissa=24, xp=xp)
    lowered = (X - ref.mean).astype(np.float32)
    x_norms = np.sum(lowered.astype(np.float64) ** 2, axis=1)
    s = (lowered @ screened.lowered.T + screened.norms32) + x_norms.astype(np.float32)[:, None]
    exact = np.array(
        [
            [
                float(sum((Fraction(a) - Fraction(b)) ** 2 for a, b in zip(x, y, strict=True)))
                for y in Y
            ]
            for x in X
        ]
    )
    bound = screen_beta(30) * (x_norms[:, None] + screened.norms[None, :])
    error = np.abs(exact - s.astype(np.float64))
    assert (error <= bound).all()
    assert error.max() > 0  # the screen does round: the check is not vacuous


def test_rows_with_too_many_candidates_fall_back_and_stay_exact(rng):
    X, Y = _data("duplicates", rng, 5, 30, 6)
    ref = prepare_reference(Y, xp=xp)
    screened = ScreenedReference.build(ref, mantissa=8, xp=xp)
    stats = ScreenStats()
    # a row always has at least k candidates: a budget below k sends every row to float64
    _, idx = screened_kneighbors(
        X, screened, 4, xp=xp, budget_bytes=2**20, max_candidates=3, stats=stats
    )
    np.testing.assert_array_equal(idx, exact_kneighbors(X, Y, 4)[0])
    assert stats.fallback_rows == 5


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    kind=st.sampled_from(KINDS),
    n=st.integers(1, 6),
    m=st.integers(2, 30),
    d=st.integers(1, 10),
    k=st.integers(1, 30),
    seed=st.integers(0, 2**16),
)
def test_property_public_kneighbors_equals_exact(kind, n, m, d, k, seed):
    k = min(k, m)
    X, Y = _data(kind, np.random.default_rng(seed), n, m, d)
    with fastvr.screening(True):
        dist, idx = fastvr.kneighbors(X, Y, k)
    want_idx, want_d2 = exact_kneighbors(X, Y, k)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_allclose(dist**2, want_d2, rtol=1e-12, atol=1e-300)


def test_predict_votes_and_cross_validation_are_unchanged(rng):
    X, y = rng.integers(0, 256, (120, 48)).astype(float), rng.integers(0, 4, 120)
    Xte = rng.integers(0, 256, (30, 48)).astype(float)
    knn = KNearestNeighbor()
    knn.train(X, y)
    for k in (1, 5, 10):
        with fastvr.screening(True):
            screened = knn.predict(Xte, k=k)
            assert neighbors.last_screen_stats().rows == 30
        with fastvr.screening(False):
            np.testing.assert_array_equal(screened, knn.predict(Xte, k=k))
        idx = exact_kneighbors(Xte, X, k)[0]
        counts = np.stack([np.bincount(y[row], minlength=4) for row in idx])
        np.testing.assert_array_equal(screened, np.argmax(counts, axis=1))  # ties: smaller
    with fastvr.screening(True):
        on = cross_validate_k(X, y, k_choices=[1, 3, 5, 8], num_folds=4)
    with fastvr.screening(False):
        off = cross_validate_k(X, y, k_choices=[1, 3, 5, 8], num_folds=4)
    assert on == off


def test_screening_is_one_switch_and_off_uses_the_float64_gemm(rng):
    X = rng.normal(size=(20, 5))
    with fastvr.screening(False):
        before = neighbors.last_screen_stats()
        fastvr.kneighbors(X, X, 2)
        assert neighbors.last_screen_stats() is before  # no screened query ran
    with pytest.raises(
        TypeError, match=r"enabled \(the screening setting\) must be True, False or 'auto'"
    ):
        fastvr.set_screening("yes")
    # float32 data are never screened on the host (nothing cheaper than SGEMM on a CPU)
    with fastvr.screening(True), fastvr.backend("numpy"):
        before = neighbors.last_screen_stats()
        fastvr.kneighbors(X.astype(np.float32), X.astype(np.float32), 2)
        assert neighbors.last_screen_stats() is before


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mantissa", [24, 11, 8])  # float32, and TF32 / bf16 inputs
def test_float32_data_screened_are_the_exact_ones(kind, mantissa, rng):
    """Float32 inputs (a GPU's TF32 or bf16 screen, emulated by rounding the inputs): the
    neighbours of exact arithmetic on the float32 values, re-ranked from float64 sums."""
    X, Y = (a.astype(np.float32) for a in _data(kind, rng, 7, 40, 12))
    screened = ScreenedReference.build(prepare_reference(Y, xp=xp), mantissa=mantissa, xp=xp)
    for max_candidates in (40, 3):  # 3 < k: every row falls back to ranking every column
        stats = ScreenStats()
        d2, idx = screened_kneighbors(
            X, screened, 5, xp=xp, budget_bytes=2**20, max_candidates=max_candidates, stats=stats
        )
        want_idx, want_d2 = exact_kneighbors(X, Y, 5)
        np.testing.assert_array_equal(idx, want_idx)
        np.testing.assert_allclose(d2, want_d2, rtol=1e-14)
        assert (stats.fallback_rows == 7) == (max_candidates == 3)


def test_float32_data_are_screened_off_the_host_when_asked(monkeypatch, rng):
    """Through the public API on the GPU stand-in: ``True`` screens float32 data there;
    ``"auto"`` leaves them to the float32 GEMM."""
    compute_off_host(monkeypatch)
    X, Y = (a.astype(np.float32) for a in _data("duplicates", rng, 6, 50, 9))
    with fastvr.screening(True):
        dist, idx = fastvr.kneighbors(X, Y, 4)
        assert neighbors.last_screen_stats().rows == 6
    want_idx, want_d2 = exact_kneighbors(X, Y, 4)
    np.testing.assert_array_equal(idx, want_idx)
    assert dist.dtype == np.float32
    np.testing.assert_allclose(dist.astype(float) ** 2, want_d2, rtol=1e-6)
    before = neighbors.last_screen_stats()
    fastvr.kneighbors(X, Y, 4)
    assert neighbors.last_screen_stats() is before


@pytest.mark.parametrize("max_candidates", [40, 3])  # 3 < k: every row falls back
def test_a_fold_screen_gathered_from_the_whole_is_exact(max_candidates, rng):
    """cross_validate_k's screens: the rows of one shared screen, fallback included."""
    X, Y = _data("near_ties", rng, 6, 40, 9)
    subset = np.sort(rng.choice(40, 25, replace=False))
    whole = ScreenedReference.build(prepare_reference(Y, xp=xp), mantissa=24, xp=xp)
    _, idx = screened_kneighbors(
        X,
        whole.rows_of(subset, xp=xp),
        4,
        xp=xp,
        budget_bytes=2**20,
        max_candidates=max_candidates,
    )
    np.testing.assert_array_equal(idx, exact_kneighbors(X, Y[subset], 4)[0])


@pytest.mark.parametrize("kind", ["gaussian", "duplicates"])
def test_cross_validation_screened_equals_unscreened(kind, rng):
    _, X = _data(kind, rng, 1, 90, 12)
    y = rng.integers(0, 3, 90)
    with fastvr.screening(True):
        on = cross_validate_k(X, y, k_choices=[1, 2, 5, 9], num_folds=3)
    with fastvr.screening(False):
        off = cross_validate_k(X, y, k_choices=[1, 2, 5, 9], num_folds=3)
    assert on == off
