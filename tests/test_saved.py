"""Model files: a file that does not fit the model, names leading out of the save folder,
folders that do not exist (SPEC §4: checked before anything is replaced or written)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import fastvr
from fastvr.classifiers import LinearSVM, Softmax
from fastvr.classifiers.fc_net import FullyConnectedNet, TwoLayerNet


@pytest.fixture
def save_dir(tmp_path):
    folder = tmp_path / "saved"
    folder.mkdir()
    fastvr.set_save_folder(folder)
    yield folder
    fastvr.set_save_folder(None)


def _snapshot(model):
    return {name: np.array(fastvr.to_numpy(value)) for name, value in model.params.items()}


def _unchanged(model, before):
    assert sorted(model.params) == sorted(before)
    for name, value in before.items():
        np.testing.assert_array_equal(fastvr.to_numpy(model.params[name]), value)


def test_a_two_layer_file_into_a_deeper_net_is_refused_naming_what_is_missing(save_dir, capsys):
    TwoLayerNet(8, 8, 8).save("two.npy")
    net = FullyConnectedNet([8, 8, 8], input_dim=8, num_classes=8)
    before = _snapshot(net)
    capsys.readouterr()
    with pytest.raises(ValueError, match=r"two\.npy does not fit .*missing: .*W3.*W4"):
        net.load("two.npy")
    _unchanged(net, before)
    assert "loaded" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.update(W2=np.ones((3, 3))), r"'W2' has shape \(3, 3\); .* shape \(4 x 2\)"),
        (lambda p: p.update(b1="a string"), r"'b1' holds str; .*floating array of shape \(4\)"),
        (lambda p: p.update(W1=p["W1"].astype(np.int64)), r"'W1' holds int64"),
        (lambda p: p.update(W1=p["W1"].astype(object)), r"'W1' holds object"),
        (lambda p: p.pop("b2"), r"missing: b2"),
        (lambda p: p.update(W9=np.ones(2)), r"not in the FullyConnectedNet: W9"),
    ],
)
def test_a_file_that_differs_from_the_net_is_refused_and_the_net_unchanged(
    save_dir, capsys, change, message
):
    net = FullyConnectedNet([4], input_dim=3, num_classes=2)
    params = _snapshot(net)
    change(params)
    np.save(save_dir / "bad.npy", params)  # as the course's save writes it
    before = _snapshot(net)
    with pytest.raises(ValueError, match=message):
        net.load("bad.npy")
    _unchanged(net, before)
    assert "loaded" not in capsys.readouterr().out


def test_a_float32_file_loads_into_a_float64_net_in_the_nets_dtype(save_dir):
    small = FullyConnectedNet([4], input_dim=3, num_classes=2, dtype=np.float32)
    small.save("f32.npy")
    net = FullyConnectedNet([4], input_dim=3, num_classes=2, dtype=np.float64)
    assert net.load("f32.npy") is True
    for name, value in small.params.items():
        assert net.params[name].dtype == np.float64
        np.testing.assert_array_equal(net.params[name], value.astype(np.float64))


def test_a_linear_classifier_loads_any_weight_matrix_but_nothing_else(save_dir, capsys):
    np.save(save_dir / "w.npy", {"W": np.eye(3)})
    softmax = Softmax()
    assert softmax.load("w.npy") is True
    np.testing.assert_array_equal(softmax.W, np.eye(3))
    TwoLayerNet(3, 2, 2).save("net.npy")
    svm = LinearSVM()
    svm.W = np.ones((5, 2))
    capsys.readouterr()
    with pytest.raises(ValueError, match=r"net\.npy does not fit this LinearSVM.*missing: W"):
        svm.load("net.npy")
    np.testing.assert_array_equal(svm.W, np.ones((5, 2)))
    np.save(save_dir / "vector.npy", {"W": np.ones(3)})
    with pytest.raises(ValueError, match=r"'W' has shape \(3,\); .* shape \(any x any\)"):
        svm.load("vector.npy")
    assert "loaded" not in capsys.readouterr().out


@pytest.mark.parametrize("name", ["../escape.npy", "a/../../escape.npy"])
def test_a_name_leading_out_of_the_save_folder_is_refused(save_dir, name):
    with pytest.raises(ValueError, match=r"outside the save folder"):
        Softmax.save(_trained(), name)
    assert not (save_dir.parent / "escape.npy").exists()


def test_an_absolute_path_outside_the_folder_is_refused_and_inside_it_works(save_dir, tmp_path):
    with pytest.raises(ValueError, match=r"outside the save folder"):
        _trained().save(str(tmp_path / "elsewhere.npy"))
    _trained().save(str(save_dir / "inside.npy"))
    assert (save_dir / "inside.npy").exists()


def test_a_link_out_of_the_save_folder_is_refused(save_dir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, save_dir / "link")
    with pytest.raises(ValueError, match=r"outside the save folder"):
        _trained().save("link/w.npy")
    assert not list(outside.iterdir())


def test_saving_creates_only_the_save_folder_and_names_the_full_path(tmp_path, capsys):
    fastvr.set_save_folder(tmp_path / "new")
    try:
        _trained().save("w.npy")
        assert capsys.readouterr().out == f"{tmp_path / 'new' / 'w.npy'} saved.\n"
        with pytest.raises(FileNotFoundError, match=r"the folder .*sub does not exist"):
            _trained().save("sub/w.npy")
        fastvr.set_save_folder(tmp_path / "missing" / "x")
        with pytest.raises(FileNotFoundError, match=r"its parent .*missing does not exist"):
            _trained().save("w.npy")
        assert not (tmp_path / "missing").exists()
    finally:
        fastvr.set_save_folder(None)


def test_a_save_folder_from_the_environment_is_named_when_it_cannot_be_made(tmp_path, monkeypatch):
    monkeypatch.setattr(fastvr.saved, "_folder", None)  # no folder set in code (other tests)
    monkeypatch.setenv("FASTVR_SAVE_DIR", str(tmp_path / "nonexistent" / "x"))
    with pytest.raises(FileNotFoundError, match=r"\(FASTVR_SAVE_DIR\) cannot be created"):
        _trained().save("w.npy")
    assert not (tmp_path / "nonexistent").exists()


def _trained() -> Softmax:
    model = Softmax()
    model.W = np.eye(3)
    return model
