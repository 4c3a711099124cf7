"""TwoLayerNet: the course notebook's toy numbers, PyTorch autograd, seeded training."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastvr
from fastvr.classifiers import TwoLayerNet
from fastvr.classifiers.neural_net import TwoLayerNet as FromModulePath
from fastvr.gradient_check import eval_numerical_gradient

from .conftest import computed_in, library_name, to_xp

# The course's two_layer_net notebook.
CORRECT_SCORES = np.asarray(
    [
        [-0.81233741, -1.27654624, -0.70335995],
        [-0.17129677, -1.18803311, -0.47310444],
        [-0.51590475, -1.01354314, -0.8504215],
        [-0.15419291, -0.48629638, -0.52901952],
        [-0.00618733, -0.12435261, -0.15226949],
    ]
)
CORRECT_LOSS = 1.30378789133
FINAL_TRAINING_LOSS = 0.017149607938732093


def init_toy_model():
    np.random.seed(0)
    return TwoLayerNet(4, 10, 3, std=1e-1)


def init_toy_data():
    np.random.seed(1)
    return 10 * np.random.randn(5, 4), np.array([0, 1, 2, 2, 1])


def test_course_module_path():
    assert FromModulePath is TwoLayerNet


def test_toy_scores_and_loss():
    net = init_toy_model()
    X, y = init_toy_data()
    assert np.sum(np.abs(net.loss(X) - CORRECT_SCORES)) < 1e-7
    loss, _ = net.loss(X, y, reg=0.05)
    assert isinstance(loss, float)
    assert abs(loss - CORRECT_LOSS) < 1e-12


def test_toy_numerical_gradients():
    net = init_toy_model()
    X, y = init_toy_data()
    _, grads = net.loss(X, y, reg=0.05)
    for name in ("W1", "b1", "W2", "b2"):
        numerical = eval_numerical_gradient(
            lambda _: net.loss(X, y, reg=0.05)[0], net.params[name], verbose=False
        )
        rel = np.max(
            np.abs(numerical - grads[name])
            / np.maximum(1e-8, np.abs(numerical) + np.abs(grads[name]))
        )
        assert rel < 1e-8, name


def test_toy_training_reaches_the_notebooks_final_loss():
    X, y = init_toy_data()
    net = init_toy_model()
    stats = net.train(X, y, X, y, learning_rate=1e-1, reg=5e-6, num_iters=100, verbose=False)
    assert stats["loss_history"][-1] == pytest.approx(FINAL_TRAINING_LOSS, rel=1e-12)
    assert len(stats["train_acc_history"]) == 100  # 5 samples, batch 200: every step an epoch


def test_pytorch_autograd_oracle(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    net = TwoLayerNet(12, 7, 5, std=0.5)
    X, y = rng.normal(size=(9, 12)), rng.integers(0, 5, 9)
    reg = 0.3
    t = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    scores = torch.relu(torch.tensor(X) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    total = F.cross_entropy(scores, torch.tensor(y)) + reg * (
        (t["W1"] ** 2).sum() + (t["W2"] ** 2).sum()
    )
    total.backward()
    loss, grads = net.loss(X, y, reg=reg)
    assert loss == pytest.approx(total.item(), rel=1e-12)
    for name, tensor in t.items():
        np.testing.assert_allclose(grads[name], tensor.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(net.loss(X), scores.detach().numpy(), rtol=1e-12)


def _reference_train(
    params, X, y, X_val, y_val, learning_rate, learning_rate_decay, reg, num_iters, batch_size
):
    """The course's TwoLayerNet.train and loss, in plain numpy."""
    p = {k: v.copy() for k, v in params.items()}

    def scores_of(X):
        return np.maximum(0, X.dot(p["W1"]) + p["b1"]).dot(p["W2"]) + p["b2"]

    num_train = X.shape[0]
    iterations_per_epoch = max(num_train / batch_size, 1)
    losses, train_acc, val_acc = [], [], []
    for it in range(num_iters):
        idx = np.random.choice(num_train, batch_size, replace=True)
        Xb, yb = X[idx], y[idx]
        n = Xb.shape[0]
        h = np.maximum(0, Xb.dot(p["W1"]) + p["b1"])
        s = h.dot(p["W2"]) + p["b2"]
        s = s - s.max(axis=1, keepdims=True)
        probs = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(n), yb]).sum() / n
        loss += reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        ds = probs.copy()
        ds[np.arange(n), yb] -= 1
        ds /= n
        grads = {"W2": h.T.dot(ds) + 2 * reg * p["W2"], "b2": ds.sum(axis=0)}
        dh = ds.dot(p["W2"].T) * (h > 0)
        grads["W1"] = Xb.T.dot(dh) + 2 * reg * p["W1"]
        grads["b1"] = dh.sum(axis=0)
        losses.append(loss)
        for k in p:
            p[k] -= learning_rate * grads[k]
        if it % iterations_per_epoch == 0:
            train_acc.append((np.argmax(scores_of(Xb), axis=1) == yb).mean())
            val_acc.append((np.argmax(scores_of(X_val), axis=1) == y_val).mean())
            learning_rate *= learning_rate_decay
    return p, losses, train_acc, val_acc


def _blobs(rng, n, d=10, c=4):
    centres = rng.normal(size=(c, d)) * 2
    y = rng.integers(0, c, n)
    return centres[y] + rng.normal(size=(n, d)), y


@pytest.mark.parametrize("batch_size", [64, 50])  # 256/64 = 4 steps an epoch; 256/50 = 5.12
def test_seeded_training_reproduces_the_course_loop(xp, batch_size, rng):
    X, y = _blobs(rng, 256)
    X_val, y_val = _blobs(rng, 40)
    np.random.seed(7)
    net = TwoLayerNet(10, 16, 4, std=1e-1)
    start = net.to_numpy()
    options = {
        "learning_rate": 0.5,
        "learning_rate_decay": 0.9,
        "reg": 1e-3,
        "num_iters": 30,
        "batch_size": batch_size,
    }
    state = np.random.get_state()
    stats = net.train(to_xp(xp, X), to_xp(xp, y), to_xp(xp, X_val), to_xp(xp, y_val), **options)
    np.random.set_state(state)
    p, losses, train_acc, val_acc = _reference_train(start, X, y, X_val, y_val, **options)
    np.testing.assert_allclose(stats["loss_history"], losses, rtol=1e-10)
    np.testing.assert_allclose(stats["train_acc_history"], train_acc)
    np.testing.assert_allclose(stats["val_acc_history"], val_acc)
    assert len(val_acc) == (8 if batch_size == 64 else 1)
    for name, value in net.params.items():
        assert library_name(value) == computed_in(to_xp(xp, X))
        np.testing.assert_allclose(fastvr.to_numpy(value), p[name], rtol=1e-9, atol=1e-14)
    assert np.mean(losses[-5:]) < np.mean(losses[:5])  # and it learns


def test_numpy_in_numpy_out_on_every_backend(host_backend, rng):
    X, y = _blobs(rng, 40)
    net = TwoLayerNet(10, 5, 4)
    net.train(X, y, X, y, num_iters=3, batch_size=8)
    assert isinstance(net.predict(X), np.ndarray)
    assert all(isinstance(v, np.ndarray) for v in net.to_numpy().values())


def test_to_numpy_is_a_copy(rng):
    net = TwoLayerNet(3, 2, 2)
    copy = net.to_numpy()
    copy["W1"][:] = 7.0
    assert not np.any(net.params["W1"] == 7.0)


def test_verbose_and_param_identity(rng, capsys):
    X, y = _blobs(rng, 30)
    net = TwoLayerNet(10, 5, 4)
    params = net.params
    W1 = params["W1"]
    net.train(X, y, X, y, num_iters=101, batch_size=5, verbose=True)
    assert net.params is params
    if computed_in(X) == "numpy":  # on the host the arrays are updated in place, as in the course
        assert net.params["W1"] is W1
    assert capsys.readouterr().out.splitlines()[1].startswith("iteration 100 / 101: loss ")


def test_a_subclass_with_its_own_loss_is_used(rng):
    calls = []

    class Mine(TwoLayerNet):
        def loss(self, X, y=None, reg=0.0):
            calls.append(y is None)
            return super().loss(X, y, reg)

    X, y = _blobs(rng, 30)
    np.random.seed(2)
    net = Mine(10, 5, 4)
    stats = net.train(X, y, X, y, num_iters=4, batch_size=10)
    np.random.seed(2)
    ref = TwoLayerNet(10, 5, 4).train(X, y, X, y, num_iters=4, batch_size=10)
    np.testing.assert_allclose(stats["loss_history"], ref["loss_history"], rtol=1e-12)
    assert calls.count(False) == 4 and calls.count(True) >= 2  # losses and accuracy scores


def test_a_subclass_loss_gets_the_numpy_arrays_it_was_given_on_every_backend(host_backend, rng):
    seen = set()

    class Mine(TwoLayerNet):
        def loss(self, X, y=None, reg=0.0):
            seen.update(type(a) for a in (X, *self.params.values()))
            return super().loss(X, y, reg)

    X, y = _blobs(rng, 30)
    net = Mine(10, 5, 4)
    net.train(X, y, X, y, num_iters=3, batch_size=10)
    assert seen == {np.ndarray}
    assert isinstance(net.predict(X), np.ndarray)


def test_divergence_warns_once(rng):
    X, y = _blobs(rng, 30)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stats = TwoLayerNet(10, 5, 4, std=1.0).train(
            X * 1e3, y, X, y, learning_rate=1e12, num_iters=20, batch_size=10
        )
    assert len(caught) == 1 and issubclass(caught[0].category, fastvr.DivergenceWarning)
    assert not np.isfinite(stats["loss_history"][-1])


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((4, 0, 3), ValueError, "hidden_size must be at least 1"),
        ((4, 2.5, 3), TypeError, "hidden_size must be an integer"),
        ((0, 2, 3), ValueError, "input_size must be at least 1"),
        ((4, 2, 3, 0.0), ValueError, "std must be positive"),
        ((4, 2, 3, -1e-3), ValueError, "std must be positive"),
        ((4, 2, 3, float("nan")), ValueError, "std must be finite"),
    ],
)
def test_bad_construction(args, error, message):
    with pytest.raises(error, match=message):
        TwoLayerNet(*args)


def test_bad_input(rng):
    net = init_toy_model()
    X, y = init_toy_data()
    with pytest.raises(ValueError, match=r"X has 5 features but W1 has 4 rows"):
        net.loss(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"y holds label 3 but W has 3 columns"):
        net.loss(X, np.array([0, 1, 2, 3, 1]))
    with pytest.raises(TypeError, match=r"y must hold integer class labels"):
        net.loss(X, y.astype(float))
    with pytest.raises(ValueError, match=r"X contains NaN or infinity"):
        net.loss(np.full((2, 4), np.nan))
    with pytest.raises(
        ValueError, match=r"y_val must have one label per sample of X_val \(5\); got 4"
    ):
        net.train(X, y, X, y[:4])
    with pytest.raises(ValueError, match=r"X_val has 3 features but X has 4"):
        net.train(X, y, X[:, :3], y)
    with pytest.raises(ValueError, match=r"y_val holds label 7 but the network has 3 outputs"):
        net.train(X, y, X, np.array([0, 1, 7, 2, 1]))
    with pytest.raises(ValueError, match=r"learning_rate must be finite"):
        net.train(X, y, X, y, learning_rate=float("inf"))
    with pytest.raises(ValueError, match=r"batch_size must be at least 1"):
        net.train(X, y, X, y, batch_size=0)
    net.params["W2"] = np.zeros((9, 3))
    with pytest.raises(ValueError, match=r"params have inconsistent shapes"):
        net.loss(X)
