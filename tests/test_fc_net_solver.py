"""The 2021–2026 course framework: fc_net models, optim rules and Solver against the
notebooks' numbers, centred differences, PyTorch autograd and the course's loop in numpy."""

from __future__ import annotations

import numpy as np
import pytest

import fastvr
from fastvr import optim
from fastvr.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from fastvr.solver import Solver

from .course_2025 import PlainNet, adam, course_solver, sgd
from .test_layers import rel_error


def centred_grad(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        plus = f()
        x[ix] = old - h
        minus = f()
        x[ix] = old
        grad[ix] = (plus - minus) / (2 * h)
    return grad


def test_star_import_brings_the_layers_as_the_course_module_does():
    namespace: dict = {}
    exec("from fastvr.classifiers.fc_net import *", namespace)
    for name in ("TwoLayerNet", "FullyConnectedNet", "affine_forward", "softmax_loss",
                 "svm_loss", "batchnorm_forward", "affine_relu_forward", "np"):  # fmt: skip
        assert name in namespace, name


def test_two_layer_net_notebook_numbers():
    np.random.seed(231)
    N, D, H, C = 3, 5, 50, 7
    X, y = np.random.randn(N, D), np.random.randint(C, size=N)
    std = 1e-3
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=std)
    for w in ("W1", "W2"):
        assert abs(model.params[w].std() - std) < std / 10
    assert np.all(model.params["b1"] == 0) and np.all(model.params["b2"] == 0)
    model.params["W1"] = np.linspace(-0.7, 0.3, num=D * H).reshape(D, H)
    model.params["b1"] = np.linspace(-0.1, 0.9, num=H)
    model.params["W2"] = np.linspace(-0.3, 0.4, num=H * C).reshape(H, C)
    model.params["b2"] = np.linspace(-0.9, 0.1, num=C)
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T
    correct_scores = np.array(
        [
            [11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765,
             16.09215096],
            [12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128, 15.49994135,
             16.18839143],
            [12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506,
             16.2846319],
        ]
    )  # fmt: skip
    assert np.abs(model.loss(X) - correct_scores).sum() < 1e-6
    y = np.asarray([0, 5, 1])
    assert abs(model.loss(X, y)[0] - 3.4702243556) < 1e-10
    model.reg = 1.0
    assert abs(model.loss(X, y)[0] - 26.5948426952) < 1e-10
    for reg in (0.0, 0.7):
        model.reg = reg
        _, grads = model.loss(X, y)
        for name in sorted(grads):
            numeric = centred_grad(lambda: model.loss(X, y)[0], model.params[name])
            assert rel_error(grads[name], numeric) < 1e-6, (reg, name)


def test_fully_connected_net_notebook_initial_losses_and_gradients():
    np.random.seed(231)
    N, D, H1, H2, C = 2, 15, 20, 30, 10
    X, y = np.random.randn(N, D), np.random.randint(C, size=(N,))
    expected = {0: 2.3004790897684924, 3.14: 7.052114776533016}
    for reg in (0, 3.14):
        model = FullyConnectedNet(
            [H1, H2], input_dim=D, num_classes=C, reg=reg, weight_scale=5e-2, dtype=np.float64
        )
        loss, grads = model.loss(X, y)
        assert loss == pytest.approx(expected[reg], abs=1e-12)
        for name in sorted(grads):
            numeric = centred_grad(lambda m=model: m.loss(X, y)[0], model.params[name])
            assert rel_error(grads[name], numeric) < 5e-5, (reg, name)  # "W2 ... e-5" at reg 0


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
def test_fully_connected_net_matches_pytorch_autograd(normalization):
    torch = pytest.importorskip("torch")
    np.random.seed(0)
    model = FullyConnectedNet(
        [12, 9, 7], input_dim=10, num_classes=5, normalization=normalization, reg=0.3,
        weight_scale=0.3, dtype=np.float64,
    )  # fmt: skip
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(16, 2, 5)), rng.integers(0, 5, 16)
    loss, grads = model.loss(X, y)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    h = torch.tensor(X.reshape(16, -1))
    for i in range(1, 4):
        h = h @ t[f"W{i}"] + t[f"b{i}"]
        if normalization == "batchnorm":
            h = torch.nn.functional.batch_norm(h, None, None, t[f"gamma{i}"], t[f"beta{i}"], True)
        if normalization == "layernorm":
            h = torch.nn.functional.layer_norm(h, (h.shape[1],), t[f"gamma{i}"], t[f"beta{i}"])
        h = torch.relu(h)
    scores = h @ t["W4"] + t["b4"]
    expected = torch.nn.functional.cross_entropy(scores, torch.tensor(y)) + 0.5 * 0.3 * sum(
        (t[f"W{i}"] ** 2).sum() for i in range(1, 5)
    )
    expected.backward()
    assert loss == pytest.approx(float(expected.detach()), rel=1e-12)
    assert sorted(grads) == sorted(t)
    for name, value in t.items():
        np.testing.assert_allclose(grads[name], value.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_dropout_net_gradients_with_a_seed():
    np.random.seed(231)
    X, y = np.random.randn(2, 15), np.random.randint(10, size=(2,))
    model = FullyConnectedNet(
        [20, 30], input_dim=15, dropout_keep_ratio=0.5, weight_scale=5e-2, dtype=np.float64,
        seed=123,
    )  # fmt: skip
    _, grads = model.loss(X, y)
    for name in sorted(grads):
        numeric = centred_grad(lambda: model.loss(X, y)[0], model.params[name])
        assert rel_error(grads[name], numeric) < 1e-5, name


def test_float32_by_default_and_test_mode_scores():
    model = FullyConnectedNet([8], input_dim=4, num_classes=3, normalization="batchnorm")
    assert all(v.dtype == np.float32 for v in model.params.values())
    scores = model.loss(np.ones((5, 4)))
    assert scores.dtype == np.float32 and scores.shape == (5, 3)
    assert model.bn_params[0]["mode"] == "test"


# -- optim: the FullyConnectedNets notebook's expected arrays -------------------------------

N_OPT, D_OPT = 4, 5
W_OPT = np.linspace(-0.4, 0.6, num=N_OPT * D_OPT).reshape(N_OPT, D_OPT)
DW_OPT = np.linspace(-0.6, 0.4, num=N_OPT * D_OPT).reshape(N_OPT, D_OPT)


def _rows(*rows):
    return np.array([float(v) for row in rows for v in row.split()]).reshape(N_OPT, D_OPT)


def test_sgd_momentum_notebook_arrays():
    v = np.linspace(0.6, 0.9, num=N_OPT * D_OPT).reshape(N_OPT, D_OPT)
    next_w, config = optim.sgd_momentum(W_OPT, DW_OPT, {"learning_rate": 1e-3, "velocity": v})
    expected_next_w = _rows(
        "0.1406 0.20738947 0.27417895 0.34096842 0.40775789",
        "0.47454737 0.54133684 0.60812632 0.67491579 0.74170526",
        "0.80849474 0.87528421 0.94207368 1.00886316 1.07565263",
        "1.14244211 1.20923158 1.27602105 1.34281053 1.4096",
    )
    expected_velocity = _rows(
        "0.5406 0.55475789 0.56891579 0.58307368 0.59723158",
        "0.61138947 0.62554737 0.63970526 0.65386316 0.66802105",
        "0.68217895 0.69633684 0.71049474 0.72465263 0.73881053",
        "0.75296842 0.76712632 0.78128421 0.79544211 0.8096",
    )
    # the notebook prints these two errors (the expected arrays have 8 digits)
    assert rel_error(next_w, expected_next_w) == pytest.approx(8.882347033505819e-09, rel=1e-6)
    assert rel_error(config["velocity"], expected_velocity) == pytest.approx(
        4.269287743278663e-09, rel=1e-6
    )


def test_rmsprop_notebook_arrays():
    cache = np.linspace(0.6, 0.9, num=N_OPT * D_OPT).reshape(N_OPT, D_OPT)
    next_w, config = optim.rmsprop(W_OPT, DW_OPT, {"learning_rate": 1e-2, "cache": cache})
    expected_next_w = _rows(
        "-0.39223849 -0.34037513 -0.28849239 -0.23659121 -0.18467247",
        "-0.132737 -0.08078555 -0.02881884 0.02316247 0.07515774",
        "0.12716641 0.17918792 0.23122175 0.28326742 0.33532447",
        "0.38739248 0.43947102 0.49155973 0.54365823 0.59576619",
    )
    expected_cache = _rows(
        "0.5976 0.6126277 0.6277108 0.64284931 0.65804321",
        "0.67329252 0.68859723 0.70395734 0.71937285 0.73484377",
        "0.75037008 0.7659518 0.78158892 0.79728144 0.81302936",
        "0.82883269 0.84469141 0.86060554 0.87657507 0.8926",
    )
    assert rel_error(next_w, expected_next_w) == pytest.approx(9.524687511038133e-08, rel=1e-6)
    assert rel_error(config["cache"], expected_cache) == pytest.approx(
        2.6477955807156126e-09, rel=1e-6
    )


def test_adam_notebook_arrays():
    m = np.linspace(0.6, 0.9, num=N_OPT * D_OPT).reshape(N_OPT, D_OPT)
    v = np.linspace(0.7, 0.5, num=N_OPT * D_OPT).reshape(N_OPT, D_OPT)
    config = {"learning_rate": 1e-2, "m": m, "v": v, "t": 5}
    next_w, config = optim.adam(W_OPT, DW_OPT, config)
    expected_next_w = _rows(
        "-0.40094747 -0.34836187 -0.29577703 -0.24319299 -0.19060977",
        "-0.1380274 -0.08544591 -0.03286534 0.01971428 0.0722929",
        "0.1248705 0.17744702 0.23002243 0.28259667 0.33516969",
        "0.38774145 0.44031188 0.49288093 0.54544852 0.59801459",
    )
    expected_v = _rows(
        "0.69966 0.68908382 0.67851319 0.66794809 0.65738853",
        "0.64683452 0.63628604 0.6257431 0.61520571 0.60467385",
        "0.59414753 0.58362676 0.57311152 0.56260183 0.55209767",
        "0.54159906 0.53110598 0.52061845 0.51013645 0.49966",
    )
    expected_m = _rows(
        "0.48 0.49947368 0.51894737 0.53842105 0.55789474",
        "0.57736842 0.59684211 0.61631579 0.63578947 0.65526316",
        "0.67473684 0.69421053 0.71368421 0.73315789 0.75263158",
        "0.77210526 0.79157895 0.81105263 0.83052632 0.85",
    )
    assert config["t"] == 6
    assert rel_error(next_w, expected_next_w) == pytest.approx(1.1395691798535431e-07, rel=1e-6)
    assert rel_error(config["v"], expected_v) == pytest.approx(4.208314038113071e-09, rel=1e-6)
    assert rel_error(config["m"], expected_m) == pytest.approx(4.214963193114416e-09, rel=1e-6)


def test_update_rule_defaults_and_bad_gradients():
    w = np.ones(3)
    assert optim.sgd(w.copy(), np.ones(3))[1] == {"learning_rate": 1e-2}
    assert optim.adam(w, np.ones(3))[1]["t"] == 1
    assert optim.rmsprop(w, np.ones(3))[1]["decay_rate"] == 0.99
    assert optim.sgd_momentum(w, np.ones(3))[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match=r"dw has shape \(2,\) but w has shape \(3,\)"):
        optim.adam(w, np.ones(2))


# -- Solver ----------------------------------------------------------------------------------


def _data(n_train=120, n_val=30, d=(3, 2, 2), classes=4, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "X_train": rng.normal(size=(n_train, *d)),
        "y_train": rng.integers(0, classes, n_train),
        "X_val": rng.normal(size=(n_val, *d)),
        "y_val": rng.integers(0, classes, n_val),
    }


@pytest.mark.parametrize(
    ("rule", "course_rule", "config"),
    [("sgd", sgd, {"learning_rate": 0.5}), ("adam", adam, {"learning_rate": 1e-2})],
)
def test_solver_equals_the_course_loop_step_by_step(rule, course_rule, config):
    data = _data()
    settings = {"lr_decay": 0.9, "batch_size": 25, "num_epochs": 4, "num_train_samples": 50}
    np.random.seed(5)
    expected_model = PlainNet([12, 10, 8, 4], weight_scale=0.5, reg=0.01)
    history = course_solver(expected_model, data, course_rule, dict(config), **settings)
    np.random.seed(5)
    model = FullyConnectedNet([10, 8], input_dim=12, num_classes=4, reg=0.01,
                              weight_scale=0.5, dtype=np.float64)  # fmt: skip
    solver = Solver(model, data, update_rule=rule, optim_config=dict(config), verbose=False,
                    **settings)  # fmt: skip
    solver.train()
    np.testing.assert_allclose(solver.loss_history, history[0], rtol=1e-10)
    assert solver.train_acc_history == [float(a) for a in history[1]]
    assert solver.val_acc_history == [float(a) for a in history[2]]
    assert len(solver.val_acc_history) == settings["num_epochs"] + 1
    for name, value in expected_model.params.items():
        np.testing.assert_allclose(fastvr.to_numpy(model.params[name]), value, rtol=1e-9)


def test_solver_runs_a_course_style_model_as_the_course_does(capsys):
    data = _data()
    np.random.seed(7)
    expected_model = PlainNet([12, 6, 4], weight_scale=0.1)
    history = course_solver(expected_model, data, sgd, {"learning_rate": 0.1}, 1.0, 30, 2)
    np.random.seed(7)
    model = PlainNet([12, 6, 4], weight_scale=0.1)  # not fastvr's: the generic path
    solver = Solver(model, data, optim_config={"learning_rate": 0.1}, batch_size=30,
                    num_epochs=2, print_every=2)  # fmt: skip
    solver.train()
    assert solver.loss_history == history[0]
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"(Iteration 1 / 8) loss: {history[0][0]:f}"
    assert printed[1].startswith("(Epoch 0 / 2) train acc: ")
    assert printed[-1].startswith("(Epoch 2 / 2) train acc: ")


def test_solver_checkpoints(tmp_path):
    data = _data()
    model = TwoLayerNet(12, 5, 4)
    name = str(tmp_path / "ckpt")
    Solver(model, data, num_epochs=2, batch_size=60, checkpoint_name=name, verbose=False).train()
    import pickle

    with open(f"{name}_epoch_2.pkl", "rb") as f:
        checkpoint = pickle.load(f)
    assert checkpoint["epoch"] == 2 and len(checkpoint["loss_history"]) == 4
    assert checkpoint["update_rule"] is optim.sgd


def test_solver_bad_input_leaves_everything_as_it_was():
    data = _data()
    model = TwoLayerNet(12, 5, 4)
    before = {k: v.copy() for k, v in model.params.items()}
    with pytest.raises(ValueError, match='Unrecognized arguments "learning_rate", "foo"'):
        Solver(model, data, learning_rate=1e-3, foo=1)
    with pytest.raises(ValueError, match='Invalid update_rule "adamw"'):
        Solver(model, data, update_rule="adamw")
    with pytest.raises(ValueError, match="data is missing 'X_val'"):
        Solver(model, {k: v for k, v in data.items() if k != "X_val"})
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        Solver(model, data, batch_size=0)
    bad = dict(data, y_train=np.where(data["y_train"] == 0, 9, data["y_train"]))
    solver = Solver(model, bad, verbose=False)
    with pytest.raises(ValueError, match="y_train holds label 9 but the network has 4 outputs"):
        solver.train()
    nan = dict(data, X_val=np.full_like(data["X_val"], np.nan))
    with pytest.raises(ValueError, match="X_val contains NaN"):
        Solver(model, nan, verbose=False).train()
    for name, value in before.items():
        np.testing.assert_array_equal(model.params[name], value)
    assert solver.loss_history == [] and solver.epoch == 0


def test_model_bad_input():
    with pytest.raises(ValueError, match="normalization must be None"):
        FullyConnectedNet([3], normalization="groupnorm")
    with pytest.raises(ValueError, match=r"dropout_keep_ratio must be in \(0, 1\]"):
        FullyConnectedNet([3], dropout_keep_ratio=0)
    model = TwoLayerNet(6, 3, 2)
    with pytest.raises(ValueError, match="X has 5 values per sample but W1 has 6 rows"):
        model.loss(np.ones((2, 5)))
    with pytest.raises(ValueError, match="y holds label 2 but the network has 2 outputs"):
        model.loss(np.ones((2, 6)), np.array([0, 2]))
    model.reg = -1.0
    with pytest.raises(ValueError, match="reg must be at least 0"):
        model.loss(np.ones((2, 6)), np.array([0, 1]))


def test_solver_follows_the_data_onto_another_device(xp):
    """On array-API data (the GPU stand-in) the loop runs there and matches numpy."""
    if xp is np:
        pytest.skip("the numpy case is the reference")
    data = _data()
    np.random.seed(3)
    model = FullyConnectedNet([6], input_dim=12, num_classes=4, dtype=np.float64)
    reference = Solver(model, data, update_rule="adam", batch_size=40, num_epochs=2, verbose=False)
    reference.train()
    np.random.seed(3)
    moved = FullyConnectedNet([6], input_dim=12, num_classes=4, dtype=np.float64)
    device_data = {k: xp.asarray(v) for k, v in data.items()}
    solver = Solver(moved, device_data, update_rule="adam", batch_size=40, num_epochs=2,
                    verbose=False)  # fmt: skip
    solver.train()
    np.testing.assert_allclose(solver.loss_history, reference.loss_history, rtol=1e-12)
    assert solver.val_acc_history == reference.val_acc_history
    for name, value in moved.params.items():
        assert type(value) is type(device_data["X_train"])
        expected = fastvr.to_numpy(model.params[name])
        np.testing.assert_allclose(fastvr.to_numpy(value), expected, rtol=1e-12)


# -- save / load ----------------------------------------------------------------------------


@pytest.fixture
def save_dir(tmp_path):
    fastvr.saved.set_save_folder(tmp_path)
    yield tmp_path
    fastvr.saved.set_save_folder(None)


def test_save_and_load_in_the_course_format(save_dir, capsys):
    from fastvr.classifiers import Softmax

    model = FullyConnectedNet([4], input_dim=3, num_classes=2)
    model.save("net.npy")
    assert capsys.readouterr().out == f"{save_dir / 'net.npy'} saved.\n"
    written = np.load(save_dir / "net.npy", allow_pickle=True).item()  # the course's reader
    assert sorted(written) == sorted(model.params)
    other = FullyConnectedNet([4], input_dim=3, num_classes=2)
    assert other.load("net.npy") is True
    assert capsys.readouterr().out == f"{save_dir / 'net.npy'} loaded.\n"
    for name, value in model.params.items():
        np.testing.assert_array_equal(other.params[name], value)
    np.save(save_dir / "softmax.npy", {"W": np.eye(3)})  # as the course's save writes it
    softmax = Softmax()
    assert softmax.load("softmax.npy") is True
    np.testing.assert_array_equal(softmax.W, np.eye(3))
    assert TwoLayerNet(3, 2, 2).load("missing.npy") is False
    assert capsys.readouterr().out.endswith("missing.npy not available.\n")


def test_load_refuses_a_hostile_file_without_running_it(save_dir, tmp_path):
    import pickle

    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = save_dir / "evil.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "|O", "fortran_order": False, "shape": ()}
        )
        pickle.dump(np.array({"W": Exploit()}, dtype=object), f)
    with pytest.raises(fastvr.data_utils.UnsafePickleError, match=r"evil\.npy"):
        TwoLayerNet(3, 2, 2).load("evil.npy")
    assert not marker.exists()
    (save_dir / "short.npy").write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match=r"short\.npy"):
        TwoLayerNet(3, 2, 2).load("short.npy")


def test_default_save_folder_is_the_assignments_when_there(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FASTVR_SAVE_DIR", raising=False)
    assert fastvr.saved.save_folder() == "saved"
    (tmp_path / "cs231n" / "saved").mkdir(parents=True)
    assert fastvr.saved.save_folder() == "cs231n/saved"
    monkeypatch.setenv("FASTVR_SAVE_DIR", str(tmp_path / "elsewhere"))
    assert fastvr.saved.save_folder() == str(tmp_path / "elsewhere")
