"""What a user hands over besides arrays: environment variables, sizes, optimiser settings,
checkpoint names, empty batches, and data too large to measure distances on (SPEC §4)."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastvr
from fastvr import layers, optim
from fastvr.classifiers import KNearestNeighbor
from fastvr.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from fastvr.cli import main
from fastvr.solver import Solver

from . import test_fuzz  # noqa: F401  (registers and loads the hypothesis profiles)

# -- environment variables ------------------------------------------------------------------


def test_a_bad_backend_variable_is_named_at_first_use_and_empty_means_auto(monkeypatch):
    X = np.array([[0.0, 0.0], [3.0, 4.0]])
    monkeypatch.setenv("FASTVR_BACKEND", "bogus")
    for _ in range(2):  # every call, not only the first (the parsed values are cached)
        with pytest.raises(ValueError, match=r"^FASTVR_BACKEND='bogus' is not one of 'auto', "):
            fastvr.pairwise_distances(X)
    with fastvr.backend("numpy"):  # chosen in code: the variable is not read
        np.testing.assert_allclose(fastvr.pairwise_distances(X)[0, 1], 5.0)
    monkeypatch.setenv("FASTVR_BACKEND", "")
    assert fastvr.current_backend() == fastvr.current_backend()  # resolves, no error
    np.testing.assert_allclose(fastvr.pairwise_distances(X)[0, 1], 5.0)


@given(value=st.text(max_size=8).filter(lambda v: "\x00" not in v))
def test_any_backend_variable_value_is_a_backend_or_one_named_error(value):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FASTVR_BACKEND", value)
        try:
            chosen = fastvr.current_backend()
        except ValueError as error:
            assert str(error).startswith(f"FASTVR_BACKEND={value!r} is not one of")
            assert "\n" not in str(error)
            assert value.strip().lower() not in ("", "auto", "numpy", "cupy")
        except fastvr.BackendUnavailableError:
            assert value.strip().lower() == "cupy"
        else:
            assert chosen.name in ("numpy", "cupy")


def test_info_runs_whatever_the_variables_say_and_flags_the_bad_ones(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(fastvr.saved, "_folder", None)  # no folder set in code (other tests)
    monkeypatch.setenv("FASTVR_BACKEND", "bogus")
    monkeypatch.setenv("FASTVR_SAVE_DIR", str(tmp_path / "nonexistent" / "x"))
    monkeypatch.setenv("FASTVR_CIFAR10_DIR", str(tmp_path / "nope"))
    assert main(["info", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["backend (auto or FASTVR_BACKEND)"].startswith("error: FASTVR_BACKEND='bogus'")
    assert report["save folder (FASTVR_SAVE_DIR)"].startswith("error: ")
    assert report["CIFAR-10 (FASTVR_CIFAR10_DIR)"].startswith("error: FASTVR_CIFAR10_DIR=")
    monkeypatch.setenv("FASTVR_BACKEND", "")
    monkeypatch.setenv("FASTVR_SAVE_DIR", str(tmp_path))
    monkeypatch.setenv("FASTVR_CIFAR10_DIR", "")
    assert main(["info", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["backend (auto or FASTVR_BACKEND)"] in ("numpy", "cupy (GPU 0)")
    assert report["save folder (FASTVR_SAVE_DIR)"] == os.path.realpath(tmp_path)


def test_a_cifar_variable_naming_no_folder_is_an_error_not_a_silent_fallback(monkeypatch, tmp_path):
    from fastvr.data_utils import find_cifar10

    (tmp_path / "cifar-10-batches-py").mkdir()  # a folder it would otherwise fall back to
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FASTVR_CIFAR10_DIR", "typo")
    with pytest.raises(FileNotFoundError, match=r"FASTVR_CIFAR10_DIR='typo' is not a folder"):
        find_cifar10()
    monkeypatch.setenv("FASTVR_CIFAR10_DIR", "")
    assert find_cifar10() == "cifar-10-batches-py"


# -- sizes: the working-memory budget shapes chunking, it refuses nothing ----------------------


def test_networks_and_batches_larger_than_the_budget_are_built(rng):
    with fastvr.working_memory(0.01):  # ~10 KiB: every model below is larger
        net = FullyConnectedNet([64, 64], input_dim=48, num_classes=10, dtype=np.float64)
        X, y = rng.standard_normal((40, 48)), rng.integers(0, 10, 40)
        loss, _ = net.loss(X, y)
        assert np.isfinite(loss)
        data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
        solver = Solver(TwoLayerNet(48, 32, 10), data, batch_size=40, num_epochs=1, verbose=False)
        solver.train()
        assert len(solver.loss_history) == 1


def test_only_more_than_the_machine_has_is_refused_naming_the_size():
    state = np.random.get_state()[1].copy()
    with pytest.raises(ValueError, match=r"would take [\d,.]+ GiB, more than this machine's"):
        FullyConnectedNet([10**6, 10**6], input_dim=10, num_classes=10)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # nothing drawn


def test_hidden_dims_errors_name_the_entry():
    with pytest.raises(ValueError, match=r"hidden_dims\[1\] must be"):
        FullyConnectedNet([8, -5, 8], input_dim=4, num_classes=3)


# -- optimiser settings ---------------------------------------------------------------------


@pytest.fixture
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(optim, "_warned", set())


def test_an_unknown_optim_config_key_warns_once_naming_it_and_the_known_ones(rng, fresh_warnings):
    X, y = rng.standard_normal((20, 6)), rng.integers(0, 3, 20)
    data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    model = TwoLayerNet(6, 5, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        solver = Solver(model, data, update_rule="adam", optim_config={"lr": 1e-3}, verbose=False)
        solver.train()
    messages = [str(w.message) for w in caught if "ignores" in str(w.message)]
    assert messages == [
        "adam ignores the optim_config key 'lr'; it reads 'learning_rate', 'beta1', 'beta2', "
        "'epsilon', 't', 'm', 'v'"
    ]
    assert caught[0].filename == __file__  # pointed at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optim.sgd(np.ones(2), np.ones(2), {"learning_rate": 0.1})  # known keys: silent
        Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 1e-3})


def test_the_update_rules_warn_for_unknown_keys_when_called_directly(fresh_warnings):
    with pytest.warns(UserWarning, match=r"sgd_momentum ignores the optim_config keys 'lr', "):
        optim.sgd_momentum(np.ones(2), np.ones(2), {"lr": 0.1, "mom": 0.5})


# -- checkpoints ----------------------------------------------------------------------------


def test_a_checkpoint_folder_that_does_not_exist_fails_before_training(rng, tmp_path):
    X, y = rng.standard_normal((20, 6)), rng.integers(0, 3, 20)
    data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    model = TwoLayerNet(6, 5, 3)
    before = {k: v.copy() for k, v in model.params.items()}
    with pytest.raises(FileNotFoundError, match=r"checkpoint_name .*missing.* does not exist"):
        Solver(model, data, checkpoint_name=str(tmp_path / "missing" / "dir" / "ck"))
    for name, value in before.items():
        np.testing.assert_array_equal(model.params[name], value)
    solver = Solver(model, data, checkpoint_name=str(tmp_path / "ck"), verbose=False)
    solver.train()
    assert sorted(p.name for p in tmp_path.iterdir())[0].startswith("ck_epoch_")


# -- empty batches --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "call"),
    [
        ("affine_forward", lambda x: layers.affine_forward(x, np.ones((3, 2)), np.zeros(2))),
        ("relu_forward", lambda x: layers.relu_forward(x)),
        ("dropout_forward", lambda x: layers.dropout_forward(x, {"p": 0.5, "mode": "train"})),
        ("softmax_loss", lambda x: layers.softmax_loss(x, np.zeros(0, dtype=np.int64))),
        ("svm_loss", lambda x: layers.svm_loss(x, np.zeros(0, dtype=np.int64))),
        (
            "batchnorm_forward",
            lambda x: layers.batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train"}),
        ),
        ("layernorm_forward", lambda x: layers.layernorm_forward(x, np.ones(3), np.zeros(3), {})),
    ],
)
def test_every_layer_refuses_an_empty_batch_alike(layer, call):
    with pytest.raises(ValueError, match=rf"^{layer} needs at least one sample; got x of shape"):
        call(np.ones((0, 3)))


def test_affine_forward_flattens_inputs_with_no_values_per_sample():
    out, _ = layers.affine_forward(np.ones((2, 0, 4)), np.ones((0, 3)), np.arange(3.0))
    np.testing.assert_array_equal(out, np.tile(np.arange(3.0), (2, 1)))


# -- k-NN on values whose distances overflow ------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_knn_refuses_values_whose_distances_overflow_and_answers_just_below(rng, dtype):
    X = rng.standard_normal((30, 8)).astype(dtype)
    y = np.arange(30) % 3
    top = float(np.finfo(dtype).max)
    limit = np.sqrt(top / (8 * 8))
    knn = KNearestNeighbor()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning escapes
        with pytest.raises(ValueError, match=r"X holds values up to .* would overflow"):
            knn.train(X * dtype(limit), y)  # the largest |value| is above the limit
        with pytest.raises(ValueError, match=r"Y holds values up to"):
            fastvr.kneighbors(X, X * dtype(limit))
        scale = dtype(2.0 ** np.floor(np.log2(limit / 8)))  # a power of two: exact
        knn.train(X * scale, y)
        for method in ("no_loops", "one_loop", "two_loops"):
            dists = getattr(knn, f"compute_distances_{method}")(X[:5] * scale)
            assert np.all(np.isfinite(dists))
            expected = np.sqrt(((X[:5, None, :] - X[None]).astype(np.float64) ** 2).sum(-1))
            np.testing.assert_allclose(dists / scale, expected, rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(knn.predict(X[:5] * scale), y[:5])
        with pytest.raises(ValueError, match=r"X holds values up to"):
            knn.predict(X * dtype(limit))


def test_dask_knn_refuses_values_whose_distances_overflow(rng):
    da = pytest.importorskip("dask.array")
    import dask

    X = rng.standard_normal((30, 8))
    huge = X * np.sqrt(np.finfo(np.float64).max / 64)
    with dask.config.set(scheduler="synchronous"), warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"Y \(chunk \d+, rows .*\) holds values up to"):
            fastvr.kneighbors(X, da.from_array(huge, chunks=10), k=2)
        with pytest.raises(ValueError, match=r"X \(chunk \d+, rows .*\) holds values up to"):
            fastvr.kneighbors(da.from_array(huge, chunks=10), X, k=2)[0].compute()
        with pytest.raises(ValueError, match=r"X holds values up to"):
            fastvr.pairwise_distances(huge, da.from_array(X, chunks=10))
        knn = KNearestNeighbor()
        knn.train(da.from_array(huge, chunks=10), np.arange(30) % 3)
        with pytest.raises(ValueError, match=r"holds values up to"):
            knn.predict(X)
        _, i = fastvr.kneighbors(X[:3], da.from_array(X, chunks=10), k=1)  # ordinary data
        np.testing.assert_array_equal(i[:, 0], [0, 1, 2])
