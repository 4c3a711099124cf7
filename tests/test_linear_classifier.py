"""LinearSVM / Softmax training: the course's numbers from a seed, step by step."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastvr
from fastvr._training import minibatch_indices
from fastvr.classifiers import LinearClassifier, LinearSVM, Softmax
from fastvr.classifiers.linear_classifier import LinearSVM as FromModulePath

from .conftest import computed_in, library_name, placed, to_xp
from .oracles import softmax_loss_loop, softmax_loss_vectorized, svm_loss_loop, svm_loss_vectorized


def _reference_train(loss_fn, X, y, learning_rate, reg, num_iters, batch_size):
    """The course's LinearClassifier.train loop in plain numpy."""
    num_train, dim = X.shape
    W = 0.001 * np.random.randn(dim, np.max(y) + 1)
    history = []
    for _ in range(num_iters):
        idx = np.random.choice(num_train, batch_size)
        loss, grad = loss_fn(W, X[idx], y[idx], reg)
        history.append(loss)
        W -= learning_rate * grad
    return W, history


def _data(rng, n=300, d=20, c=5):
    centres = rng.normal(size=(c, d)) * 2
    y = rng.integers(0, c, n)
    X = centres[y] + rng.normal(size=(n, d))
    return np.hstack([X, np.ones((n, 1))]), y  # the bias trick


CASES = [(LinearSVM, svm_loss_vectorized), (Softmax, softmax_loss_vectorized)]


def test_course_module_path():
    assert FromModulePath is LinearSVM


@pytest.mark.parametrize(("cls", "reference"), CASES)
def test_seeded_training_reproduces_the_course_loop(cls, reference, rng):
    X, y = _data(rng)
    np.random.seed(231)
    W_ref, hist_ref = _reference_train(reference, X, y, 1e-2, 1e-3, 150, 32)
    np.random.seed(231)
    model = cls()
    history = model.train(X, y, learning_rate=1e-2, reg=1e-3, num_iters=150, batch_size=32)
    assert len(history) == 150 and all(type(v) is float for v in history)
    np.testing.assert_allclose(history, hist_ref, rtol=1e-12)
    np.testing.assert_allclose(fastvr.to_numpy(model.W), W_ref, rtol=1e-10, atol=1e-15)
    np.testing.assert_array_equal(model.predict(X), np.argmax(X @ W_ref, axis=1))
    assert np.mean(model.predict(X) == y) > 0.9  # it learned something


@pytest.mark.parametrize(("cls", "reference"), CASES)
def test_every_backend_follows_the_same_trajectory(xp, cls, reference, rng):
    X, y = _data(rng, n=120)
    np.random.seed(5)
    W_ref, hist_ref = _reference_train(reference, X, y, 5e-3, 1e-2, 40, 16)
    np.random.seed(5)
    model = cls()
    history = model.train(
        to_xp(xp, X), to_xp(xp, y), learning_rate=5e-3, reg=1e-2, num_iters=40, batch_size=16
    )
    assert library_name(model.W) == computed_in(to_xp(xp, X))
    np.testing.assert_allclose(history, hist_ref, rtol=1e-10)
    np.testing.assert_allclose(fastvr.to_numpy(model.W), W_ref, rtol=1e-9, atol=1e-14)
    pred = model.predict(to_xp(xp, X))
    assert placed(pred) == placed(to_xp(xp, X))
    np.testing.assert_array_equal(fastvr.to_numpy(pred), np.argmax(X @ W_ref, axis=1))


def test_numpy_inputs_stay_numpy_on_every_backend(host_backend, rng):
    X, y = _data(rng, n=60)
    model = LinearSVM()
    model.train(X, y, num_iters=5, batch_size=8)
    assert isinstance(model.predict(X), np.ndarray)


def test_drawing_all_minibatches_at_once_is_the_course_sequence():
    np.random.seed(11)
    one_by_one = [np.random.choice(1000, 64) for _ in range(30)]
    np.random.seed(11)
    at_once = list(minibatch_indices(1000, 64, 30))
    assert all(np.array_equal(a, b) for a, b in zip(one_by_one, at_once, strict=True))


def test_a_subclass_with_its_own_loss_is_called_each_step(rng):
    """Course style: LinearClassifier subclasses override loss() and train() calls it."""
    calls = []

    class MySVM(LinearClassifier):
        def loss(self, X_batch, y_batch, reg):
            calls.append(X_batch.shape)
            return svm_loss_loop(self.W, X_batch, y_batch, reg)

    X, y = _data(rng, n=50)
    np.random.seed(3)
    history = MySVM().train(X, y, num_iters=7, batch_size=5)
    np.random.seed(3)
    _, hist_ref = _reference_train(svm_loss_vectorized, X, y, 1e-3, 1e-5, 7, 5)
    assert calls == [(5, X.shape[1])] * 7
    np.testing.assert_allclose(history, hist_ref, rtol=1e-12)


def test_a_subclass_loss_gets_the_numpy_arrays_it_was_given_on_every_backend(host_backend, rng):
    """Course-style numpy losses keep working when the selected backend is a GPU."""
    seen = set()

    class MySVM(LinearClassifier):
        def loss(self, X_batch, y_batch, reg):
            seen.update(type(a) for a in (self.W, X_batch, y_batch))
            return svm_loss_loop(self.W, X_batch, y_batch, reg)

    X, y = _data(rng, n=50)
    model = MySVM()
    model.train(X, y, num_iters=3, batch_size=5)
    assert seen == {np.ndarray}
    assert isinstance(model.W, np.ndarray) and isinstance(model.predict(X), np.ndarray)


def test_loss_methods_match_the_loss_functions(rng):
    X, y = _data(rng, n=30)
    for cls, oracle in ((LinearSVM, svm_loss_loop), (Softmax, softmax_loss_loop)):
        model = cls()
        model.W = rng.normal(size=(X.shape[1], 5)) * 0.01
        loss, dW = model.loss(X, y, 0.1)
        want_loss, want_dW = oracle(model.W, X, y, 0.1)
        assert loss == pytest.approx(want_loss, rel=1e-12)
        np.testing.assert_allclose(dW, want_dW, rtol=1e-10)


def test_lazy_weights_and_continued_training(rng):
    X, y = _data(rng, n=40)
    model = Softmax()
    assert model.W is None
    assert model.train(X, y, num_iters=0) == []
    assert model.W.shape == (X.shape[1], 5)
    W = model.W
    model.train(X, y, num_iters=3, batch_size=4)
    assert model.W is W  # trained in place, as the course does


def test_float32_data_trains_in_float32(rng):
    X, y = _data(rng, n=40)
    model = LinearSVM()
    history = model.train(X.astype(np.float32), y, num_iters=5, batch_size=8)
    assert fastvr.to_numpy(model.W).dtype == np.float32 and all(np.isfinite(history))


def test_verbose_prints_the_course_lines(rng, capsys):
    X, y = _data(rng, n=40)
    LinearSVM().train(X, y, num_iters=201, batch_size=4, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "iteration 0 / 201",
        "iteration 100 / 201",
        "iteration 200 / 201",
    ]
    assert all(line.split("loss ")[1].count(".") == 1 for line in lines)


def test_divergence_warns_once_with_iteration_and_learning_rate(rng):
    X, y = _data(rng, n=50)
    X = X * 1e3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = LinearSVM().train(X, y, learning_rate=1e30, reg=1e5, num_iters=30, batch_size=10)
    assert len(caught) == 1, [str(w.message) for w in caught]
    assert issubclass(caught[0].category, fastvr.DivergenceWarning)
    first_bad = next(i for i, v in enumerate(history) if not np.isfinite(v))
    assert f"iteration {first_bad}" in str(caught[0].message)
    assert "learning_rate=1e+30" in str(caught[0].message)


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be at least 1"),
        ({"num_iters": -1}, ValueError, "num_iters must be at least 0"),
        ({"learning_rate": float("nan")}, ValueError, "learning_rate must be finite"),
        ({"learning_rate": float("inf")}, ValueError, "learning_rate must be finite"),
        ({"reg": -1.0}, ValueError, "reg must be at least 0"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an integer"),
        ({"learning_rate": "fast"}, TypeError, "learning_rate must be a real number"),
    ],
)
def test_bad_training_options(kwargs, error, message, rng):
    X, y = _data(rng, n=20)
    model = LinearSVM()
    with pytest.raises(error, match=message):
        model.train(X, y, **kwargs)
    assert model.W is None  # nothing half-updated


def test_labels_beyond_the_existing_weights(rng):
    X, y = _data(rng, n=20)
    model = LinearSVM()
    model.W = np.zeros((X.shape[1], 3))
    with pytest.raises(ValueError, match=r"y holds label 4 but W has 3 columns"):
        model.train(X, y)
    with pytest.raises(ValueError, match=r"X has 5 features but W has 21 rows"):
        model.train(X[:, :5], y % 3)
    np.testing.assert_array_equal(model.W, 0.0)


def test_training_on_non_finite_weights_says_why(rng):
    X, y = _data(rng, n=20)
    model = LinearSVM()
    model.W = np.full((X.shape[1], 5), np.nan)
    with pytest.raises(ValueError, match="W contains NaN or infinity"):
        model.train(X, y)


def test_predict_errors(rng):
    X, y = _data(rng, n=20)
    with pytest.raises(RuntimeError, match="not trained yet"):
        Softmax().predict(X)
    model = Softmax()
    model.train(X, y, num_iters=1)
    with pytest.raises(ValueError, match="X has 3 features but W has 21 rows"):
        model.predict(X[:, :3])
    with pytest.raises(ValueError, match="X contains NaN"):
        model.predict(np.full_like(X, np.nan))


def test_the_abstract_base_says_what_to_do(rng):
    X, y = _data(rng, n=10)
    with pytest.raises(NotImplementedError, match="use LinearSVM or Softmax"):
        LinearClassifier().train(X, y, num_iters=1)
