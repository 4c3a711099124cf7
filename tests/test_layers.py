"""fastvr.layers and layer_utils (2021–2026 course) against the notebooks' numbers, centred
differences written here, and PyTorch autograd on the CPU (optional)."""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest

import fastvr
from fastvr import layers
from fastvr.layer_utils import affine_relu_backward, affine_relu_forward

from .conftest import library_name, to_xp


def rel_error(x, y):
    """The notebooks' relative error."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))


def centred(f, x, df, h=1e-5):
    """Σ df · ∂f/∂x by centred differences, in float64 (the oracle)."""
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        plus = np.array(f(x), copy=True)
        x[ix] = old - h
        minus = np.array(f(x), copy=True)
        x[ix] = old
        grad[ix] = np.sum((plus - minus) * df) / (2 * h)
    return grad


def test_affine_forward_notebook_numbers():
    num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
    input_size = num_inputs * np.prod(input_shape)
    weight_size = output_dim * np.prod(input_shape)
    x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
    w = np.linspace(-0.2, 0.3, num=weight_size).reshape(np.prod(input_shape), output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)
    out, _ = layers.affine_forward(x, w, b)
    correct_out = np.array(
        [[1.49834967, 1.70660132, 1.91485297], [3.25553199, 3.5141327, 3.77273342]]
    )
    assert rel_error(out, correct_out) < 1e-9  # the notebook prints 9.769849468192957e-10


def test_affine_and_affine_relu_backward_match_centred_differences():
    np.random.seed(231)
    x, w, b = np.random.randn(10, 2, 3), np.random.randn(6, 5), np.random.randn(5)
    dout = np.random.randn(10, 5)
    _, cache = layers.affine_forward(x, w, b)
    dx, dw, db = layers.affine_backward(dout, cache)
    assert dx.shape == x.shape
    assert rel_error(dx, centred(lambda v: layers.affine_forward(v, w, b)[0], x, dout)) < 1e-9
    assert rel_error(dw, centred(lambda v: layers.affine_forward(x, v, b)[0], w, dout)) < 1e-9
    assert rel_error(db, centred(lambda v: layers.affine_forward(x, w, v)[0], b, dout)) < 1e-9
    np.random.seed(231)
    x, w, b = np.random.randn(2, 3, 4), np.random.randn(12, 10), np.random.randn(10)
    dout = np.random.randn(2, 10)
    _, cache = affine_relu_forward(x, w, b)
    dx, dw, db = affine_relu_backward(dout, cache)
    f = affine_relu_forward
    assert rel_error(dx, centred(lambda v: f(v, w, b)[0], x, dout)) < 1e-8
    assert rel_error(dw, centred(lambda v: f(x, v, b)[0], w, dout)) < 1e-8
    assert rel_error(db, centred(lambda v: f(x, w, v)[0], b, dout)) < 1e-8


def test_relu_notebook_numbers():
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    out, _ = layers.relu_forward(x)
    correct_out = np.array(
        [
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.04545455, 0.13636364],
            [0.22727273, 0.31818182, 0.40909091, 0.5],
        ]
    )
    assert rel_error(out, correct_out) < 1e-7  # the notebook: 4.999999798022158e-08
    np.random.seed(231)
    x, dout = np.random.randn(10, 10), np.random.randn(10, 10)
    dx = layers.relu_backward(dout, layers.relu_forward(x)[1])
    assert rel_error(dx, centred(lambda v: layers.relu_forward(v)[0], x, dout)) < 1e-10


def test_loss_layers_notebook_numbers():
    np.random.seed(231)
    num_classes, num_inputs = 10, 50
    x = 0.001 * np.random.randn(num_inputs, num_classes)
    y = np.random.randint(num_classes, size=num_inputs)
    svm, dx_svm = layers.svm_loss(x, y)
    softmax, dx_softmax = layers.softmax_loss(x, y)
    assert svm == pytest.approx(8.999602749096233, abs=1e-12)
    assert softmax == pytest.approx(2.3025458445007376, abs=1e-12)
    for fn, dx in ((layers.svm_loss, dx_svm), (layers.softmax_loss, dx_softmax)):
        assert rel_error(dx, centred(lambda v, fn=fn: fn(v, y)[0], x, 1.0)) < 1e-7


@pytest.fixture
def torch_cpu():
    return pytest.importorskip("torch")


def test_batchnorm_matches_pytorch_autograd(torch_cpu):
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (16, 7))
    gamma, beta, dout = rng.normal(size=7), rng.normal(size=7), rng.normal(size=(16, 7))
    bn_param = {"mode": "train", "momentum": 0.8}
    out, cache = layers.batchnorm_forward(x, gamma, beta, bn_param)
    t = {
        k: torch_cpu.tensor(v, requires_grad=True) for k, v in (("x", x), ("g", gamma), ("b", beta))
    }
    expected = torch_cpu.nn.functional.batch_norm(
        t["x"], None, None, weight=t["g"], bias=t["b"], training=True, eps=1e-5
    )
    expected.backward(torch_cpu.tensor(dout))
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    for backward in (layers.batchnorm_backward, layers.batchnorm_backward_alt):
        dx, dgamma, dbeta = backward(dout, cache)
        np.testing.assert_allclose(dx, t["x"].grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dgamma, t["g"].grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(dbeta, t["b"].grad.numpy(), rtol=1e-12)
    # running averages: momentum * running + (1 - momentum) * sample (biased variance)
    np.testing.assert_allclose(bn_param["running_mean"], 0.2 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], 0.2 * x.var(axis=0), rtol=1e-12)
    bn_param["mode"] = "test"
    test_out, _ = layers.batchnorm_forward(x, gamma, beta, bn_param)
    manual = (x - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"] + 1e-5)
    np.testing.assert_allclose(test_out, gamma * manual + beta, rtol=1e-12)


def test_layernorm_matches_pytorch_autograd(torch_cpu):
    rng = np.random.default_rng(1)
    x = rng.normal(-1.0, 3.0, (5, 9))
    gamma, beta, dout = rng.normal(size=9), rng.normal(size=9), rng.normal(size=(5, 9))
    out, cache = layers.layernorm_forward(x, gamma, beta, {"eps": 1e-5})
    t = {
        k: torch_cpu.tensor(v, requires_grad=True) for k, v in (("x", x), ("g", gamma), ("b", beta))
    }
    expected = torch_cpu.nn.functional.layer_norm(t["x"], (9,), t["g"], t["b"], eps=1e-5)
    expected.backward(torch_cpu.tensor(dout))
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    dx, dgamma, dbeta = layers.layernorm_backward(dout, cache)
    np.testing.assert_allclose(dx, t["x"].grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dgamma, t["g"].grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(dbeta, t["b"].grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("forward", "backward", "param"),
    [
        (layers.batchnorm_forward, layers.batchnorm_backward, {"mode": "train"}),
        (layers.layernorm_forward, layers.layernorm_backward, {}),
    ],
)
def test_normalisation_gradients_match_centred_differences(forward, backward, param):
    rng = np.random.default_rng(2)
    x, gamma, beta = rng.normal(size=(6, 4)), rng.normal(size=4), rng.normal(size=4)
    dout = rng.normal(size=(6, 4))
    _, cache = forward(x, gamma, beta, dict(param))
    dx, dgamma, dbeta = backward(dout, cache)
    f = forward
    assert rel_error(dx, centred(lambda v: f(v, gamma, beta, dict(param))[0], x, dout)) < 1e-7
    assert rel_error(dgamma, centred(lambda v: f(x, v, beta, dict(param))[0], gamma, dout)) < 1e-8
    assert rel_error(dbeta, centred(lambda v: f(x, gamma, v, dict(param))[0], beta, dout)) < 1e-8


def test_dropout_is_inverted_and_seeded_as_the_course():
    x = np.random.default_rng(3).normal(10.0, 1.0, (500, 500))
    for p in (0.25, 0.4, 0.7):
        out, cache = layers.dropout_forward(x, {"mode": "train", "p": p, "seed": 123})
        np.random.seed(123)
        mask = (np.random.rand(*x.shape) < p) / p  # the course's canonical draw
        np.testing.assert_array_equal(out, x * mask)
        assert abs(out.mean() - x.mean()) < 0.1  # inverted: the expectation is kept
        test_out, _ = layers.dropout_forward(x, {"mode": "test", "p": p})
        assert test_out is x
        dout = np.ones_like(x)
        np.testing.assert_array_equal(layers.dropout_backward(dout, cache), mask)
    x32 = x.astype(np.float32)
    assert layers.dropout_forward(x32, {"mode": "train", "p": 0.5})[0].dtype == np.float32


def test_bad_modes_and_keep_probabilities():
    x, g, b = np.ones((2, 3)), np.ones(3), np.zeros(3)
    with pytest.raises(ValueError, match='Invalid forward batchnorm mode "eval"'):
        layers.batchnorm_forward(x, g, b, {"mode": "eval"})
    with pytest.raises(ValueError, match='Invalid forward dropout mode "eval"'):
        layers.dropout_forward(x, {"mode": "eval", "p": 0.5})
    for p in (0.0, -0.1, 1.5, float("nan"), "0.5", True):
        with pytest.raises(ValueError, match=r"keep probability, in \(0, 1\]"):
            layers.dropout_forward(x, {"mode": "train", "p": p})
    with pytest.raises(ValueError, match="x flattens to 3 values per row"):
        layers.affine_forward(x, np.ones((4, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"labels 0\.\.2"):
        layers.softmax_loss(x, np.array([0, 3]))


def test_layers_follow_their_inputs_library(xp):
    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=(4, 2, 3)), rng.normal(size=(6, 5)), rng.normal(size=5)
    gamma, beta, y = rng.normal(size=5), rng.normal(size=5), np.array([0, 4, 2, 1])
    out, cache = layers.affine_forward(to_xp(xp, x), to_xp(xp, w), to_xp(xp, b))
    relu, relu_cache = layers.relu_forward(out)
    normed, bn_cache = layers.batchnorm_forward(
        relu, to_xp(xp, gamma), to_xp(xp, beta), bn_param := {"mode": "train"}
    )
    loss, dscores = layers.softmax_loss(normed, to_xp(xp, y))
    dx, dw, db = layers.affine_backward(
        layers.relu_backward(layers.batchnorm_backward(dscores, bn_cache)[0], relu_cache), cache
    )
    # the same on numpy
    o, c = layers.affine_forward(x, w, b)
    r, rc = layers.relu_forward(o)
    n, nc = layers.batchnorm_forward(r, gamma, beta, {"mode": "train"})
    loss_np, ds = layers.softmax_loss(n, y)
    expected = layers.affine_backward(
        layers.relu_backward(layers.batchnorm_backward(ds, nc)[0], rc), c
    )
    assert loss == pytest.approx(loss_np, rel=1e-12)
    from fastvr import to_numpy

    for got, want in zip((dx, dw, db), expected, strict=True):
        assert type(got) is type(to_xp(xp, want))
        np.testing.assert_allclose(to_numpy(got), want, rtol=1e-10, atol=1e-14)
    assert type(bn_param["running_mean"]) is type(to_xp(xp, gamma))


@pytest.mark.parametrize("shape", [(1, 1, 1), (5, 4, 3), (200, 33, 10)])
def test_affine_backward_is_the_sums_over_the_batch(xp, shape):
    """The affine layer's three gradients against float64 loops, on every namespace (numpy
    and CuPy sum the bias's by the array's own method, the others by the standard's)."""
    from fastvr.ops.nets import affine_backward

    n, d, m = shape
    rng = np.random.default_rng(n)
    x, W, dout = (rng.standard_normal(s) for s in ((n, d), (d, m), (n, m)))
    dx, dW = np.zeros((n, d)), np.zeros((d, m))
    for i in range(n):
        for a in range(d):
            for b in range(m):
                dx[i, a] += dout[i, b] * W[a, b]
                dW[a, b] += x[i, a] * dout[i, b]
    namespace = array_api_compat.array_namespace(to_xp(xp, x))
    got = affine_backward(to_xp(xp, dout), (to_xp(xp, x), to_xp(xp, W)), xp=namespace)
    for result, expected in zip(got, (dx, dW, [sum(dout[:, b]) for b in range(m)]), strict=True):
        assert library_name(result) == library_name(to_xp(xp, x))
        np.testing.assert_allclose(fastvr.to_numpy(result), expected, rtol=1e-12, atol=1e-12)
