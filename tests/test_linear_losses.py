"""SVM and softmax losses: naive and vectorized against float64 loops, PyTorch, centred
differences and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastvr
from fastvr.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from fastvr.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
from fastvr.gradient_check import eval_numerical_gradient

from .conftest import placed, to_xp
from .oracles import softmax_loss_loop, svm_loss_loop

LOSSES = {
    "svm": (svm_loss_naive, svm_loss_vectorized, svm_loss_loop),
    "softmax": (softmax_loss_naive, softmax_loss_vectorized, softmax_loss_loop),
}
ALL = [(kind, i) for kind in LOSSES for i in (0, 1)]


def _problem(rng, n=40, d=30, c=7, scale=1.0):
    W = rng.normal(size=(d, c)) * 0.05 * scale
    X = rng.normal(size=(n, d))
    y = rng.integers(0, c, n)
    return W, X, y


@pytest.mark.parametrize(("kind", "which"), ALL)
def test_matches_float64_loop(xp, kind, which, rng):
    fn, oracle = LOSSES[kind][which], LOSSES[kind][2]
    W, X, y = _problem(rng)
    loss, dW = fn(to_xp(xp, W), to_xp(xp, X), to_xp(xp, y), 0.3)
    want_loss, want_dW = oracle(W, X, y, 0.3)
    assert isinstance(loss, float)
    assert placed(dW) == placed(to_xp(xp, W))
    assert dW.shape == W.shape
    assert loss == pytest.approx(want_loss, rel=1e-12)
    np.testing.assert_allclose(fastvr.to_numpy(dW), want_dW, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("kind", LOSSES)
@pytest.mark.parametrize("path", ["numpy rows", "compiled kernel"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_both_naive_paths_match_the_float64_loop(kind, path, dtype, rng, monkeypatch):
    # the naive losses loop in numpy below a size and in Numba above it: each path, forced
    # here by moving the threshold, against the oracle (with a margin of exactly 0 and a
    # sample with no positive margin among the rows)
    from fastvr.ops import losses

    monkeypatch.setattr(losses, "NAIVE_KERNEL_MIN_TERMS", 10**12 if path == "numpy rows" else 0)
    naive, oracle = LOSSES[kind][0], LOSSES[kind][2]
    W, X, y = _problem(rng)
    X[0], W[:, :2] = 0.0, 0.0  # row 0: every score 0, so every hinge margin is exactly 1
    W, X = W.astype(dtype), X.astype(dtype)
    loss, dW = naive(W, X, y, 0.3)
    want_loss, want_dW = oracle(W.astype(np.float64), X.astype(np.float64), y, 0.3)
    assert dW.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 1e-6
    assert loss == pytest.approx(want_loss, rel=tol)
    np.testing.assert_allclose(dW, want_dW, rtol=tol * 100, atol=tol)


def test_small_naive_losses_need_no_compiler():
    # the bundled digits' sizes loop in numpy: a fresh process computes both naive losses
    # without importing Numba (CIFAR's 500 x 3073 x 10 takes the kernel)
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from fastvr.classifiers.linear_svm import svm_loss_naive\n"
        "from fastvr.classifiers.softmax import softmax_loss_naive\n"
        "rng = np.random.default_rng(0)\n"
        "W, X, y = rng.normal(size=(65, 10)), rng.normal(size=(500, 65)), np.arange(500) % 10\n"
        "svm_loss_naive(W, X, y, 0.1); softmax_loss_naive(W, X, y, 0.1)\n"
        "print('numba' in sys.modules)\n"
    )
    env = {**__import__("os").environ, "FASTVR_WARMUP": "off"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("kind", LOSSES)
def test_naive_equals_vectorized_float32(kind, rng):
    naive, vectorized, _ = LOSSES[kind]
    W, X, y = (a.astype(np.float32) if a.dtype.kind == "f" else a for a in _problem(rng))
    l1, d1 = naive(W, X, y, 1e-2)
    l2, d2 = vectorized(W, X, y, 1e-2)
    assert d1.dtype == d2.dtype == np.float32
    assert l1 == pytest.approx(l2, rel=1e-5)
    np.testing.assert_allclose(d1, d2, rtol=1e-4, atol=1e-6)


def test_pytorch_oracle(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    W, X, y = _problem(rng, c=10)
    reg = 0.1
    for kind, data_loss in (
        ("softmax", lambda s, t: F.cross_entropy(s, t)),
        # the course's hinge sums over the wrong classes; multi_margin_loss averages over C
        ("svm", lambda s, t: s.shape[1] * F.multi_margin_loss(s, t, p=1, margin=1.0)),
    ):
        Wt = torch.tensor(W, requires_grad=True)
        total = data_loss(torch.tensor(X) @ Wt, torch.tensor(y)) + reg * (Wt * Wt).sum()
        total.backward()
        for fn in LOSSES[kind][:2]:
            loss, dW = fn(W, X, y, reg)
            assert loss == pytest.approx(total.item(), rel=1e-12)
            np.testing.assert_allclose(dW, Wt.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(("kind", "which"), ALL)
def test_centred_differences(kind, which, rng):
    fn = LOSSES[kind][which]
    W, X, y = _problem(rng, n=20, d=8, c=4)
    _, dW = fn(W, X, y, 0.5)
    numerical = eval_numerical_gradient(lambda w: fn(w, X, y, 0.5)[0], W.copy(), verbose=False)
    rel = np.abs(numerical - dW) / np.maximum(np.abs(numerical) + np.abs(dW), 1e-12)
    assert rel.max() < 1e-7


@pytest.mark.parametrize("fn", [softmax_loss_naive, softmax_loss_vectorized])
def test_softmax_is_stable_for_huge_scores(fn):
    W = np.array([[1e4, -1e4, 0.0], [0.0, 1e4, -1e4]])
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    loss, dW = fn(W, X, np.array([1, 0, 2]), 0.0)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))
    assert loss == pytest.approx((2e4 + 2e4 + 1e4) / 3)


def test_reg_zero_and_zero_weights_give_the_course_sanity_numbers(rng):
    """With W ≈ 0 the softmax loss is ≈ log(C) and every wrong class costs a margin of 1."""
    W, X, y = _problem(rng, c=10, scale=1e-6)
    assert softmax_loss_vectorized(W, X, y, 0.0)[0] == pytest.approx(np.log(10), rel=1e-4)
    assert svm_loss_vectorized(W, X, y, 0.0)[0] == pytest.approx(9.0, rel=1e-4)


# -- properties ------------------------------------------------------------------------------


@st.composite
def problems(draw):
    n, d, c = draw(st.integers(1, 6)), draw(st.integers(1, 5)), draw(st.integers(2, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(d, c)) * draw(st.sampled_from([1e-3, 1.0, 30.0])),
        rng.normal(size=(n, d)),
        rng.integers(0, c, n),
    )


@settings(max_examples=50, deadline=None)
@given(problems(), st.sampled_from(ALL))
def test_data_loss_is_non_negative(problem, case):
    W, X, y = problem
    assert LOSSES[case[0]][case[1]](W, X, y, 0.0)[0] >= 0.0


@settings(max_examples=50, deadline=None)
@given(problems(), st.floats(0.0, 10.0), st.sampled_from(ALL))
def test_regulariser_adds_reg_sum_w2_and_2_reg_w(problem, reg, case):
    W, X, y = problem
    fn = LOSSES[case[0]][case[1]]
    l0, d0 = fn(W, X, y, 0.0)
    l1, d1 = fn(W, X, y, reg)
    assert l1 - l0 == pytest.approx(reg * np.sum(W * W), rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(d1 - d0, 2 * reg * W, rtol=1e-9, atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(problems(), st.floats(-50.0, 50.0))
def test_softmax_ignores_a_constant_added_to_every_score(problem, shift):
    """Adding the same vector v to every column of W adds X @ v to every class's score."""
    W, X, y = problem
    v = np.linspace(-1.0, 1.0, W.shape[0])[:, None] * shift
    for fn in (softmax_loss_naive, softmax_loss_vectorized):
        assert fn(W + v, X, y, 0.0)[0] == pytest.approx(fn(W, X, y, 0.0)[0], rel=1e-8, abs=1e-9)


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "which"), ALL)
def test_bad_input(kind, which, rng):
    fn = LOSSES[kind][which]
    W, X, y = _problem(rng, n=6, d=4, c=3)
    with pytest.raises(ValueError, match=r"y holds label 3 but W has 3 columns"):
        fn(W, X, np.array([0, 1, 2, 3, 0, 1]), 0.0)
    with pytest.raises(ValueError, match=r"y must hold non-negative labels"):
        fn(W, X, np.array([0, 1, -1, 2, 0, 1]), 0.0)
    with pytest.raises(TypeError, match=r"y must hold integer class labels"):
        fn(W, X, y.astype(float), 0.0)
    with pytest.raises(ValueError, match=r"y must have one label per sample of X \(6\); got 5"):
        fn(W, X, y[:5], 0.0)
    with pytest.raises(ValueError, match=r"X has 4 features but W has 5 rows"):
        fn(np.zeros((5, 3)), X, y, 0.0)
    with pytest.raises(ValueError, match=r"W must be a 2-D array \(D, C\)"):
        fn(np.zeros(4), X, y, 0.0)
    for bad in (np.nan, np.inf):
        W_bad, X_bad = W.copy(), X.copy()
        W_bad[1, 1] = bad
        X_bad[2, 3] = bad
        with pytest.raises(ValueError, match=r"^W contains NaN or infinity"):
            fn(W_bad, X, y, 0.0)
        with pytest.raises(ValueError, match=r"^X contains NaN or infinity"):
            fn(W, X_bad, y, 0.0)
    with pytest.raises(ValueError, match=r"reg must be at least 0"):
        fn(W, X, y, -1.0)
    with pytest.raises(ValueError, match=r"reg must be finite"):
        fn(W, X, y, float("nan"))


def test_overflowing_scores_are_not_mistaken_for_bad_data():
    W = np.full((2, 3), 1e200)
    X = np.full((2, 2), 1e200)
    with pytest.warns(RuntimeWarning, match="the svm loss overflowed"):
        loss, _ = svm_loss_vectorized(W, X, np.array([0, 1]), 0.0)
    assert not np.isfinite(loss)  # numpy's answer and a warning, not an error about X
