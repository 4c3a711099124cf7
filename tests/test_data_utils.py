"""CIFAR loading: the course's shapes and dtypes, refusing unsafe pickles, clear errors."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from fastvr.data_utils import (
    UnsafePickleError,
    get_CIFAR10_data,
    load_CIFAR10,
    load_CIFAR_batch,
    load_pickle,
)
from fastvr.datasets import load_digits


def _write_batch(path, rows, rng, protocol=2, labels_key=b"labels"):
    data = rng.integers(0, 256, size=(rows, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, rows).tolist()
    with open(path, "wb") as f:
        pickle.dump(
            {
                b"batch_label": b"fake",
                labels_key: labels,
                b"data": data,
                b"filenames": [b"x.png"] * rows,
            },
            f,
            protocol=protocol,
        )
    return data, labels


@pytest.fixture
def cifar_dir(tmp_path, rng):
    """A CIFAR-10 folder of the real format with 20 images per batch."""
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[name] = _write_batch(tmp_path / name, 20, rng)
    return tmp_path, batches


def test_load_CIFAR10_shapes_dtypes_and_pixel_layout(cifar_dir):
    root, batches = cifar_dir
    Xtr, Ytr, Xte, Yte = load_CIFAR10(root)
    assert Xtr.shape == (100, 32, 32, 3) and Xtr.dtype == np.float64
    assert Ytr.shape == (100,) and Ytr.dtype == np.int64
    assert Xte.shape == (20, 32, 32, 3) and Yte.shape == (20,)
    data, labels = batches["data_batch_2"]
    # the course's layout: each row is 1024 red, then green, then blue values, row-major
    np.testing.assert_array_equal(Xtr[20, 0, 1, :], data[0, [1, 1025, 2049]])
    np.testing.assert_array_equal(Ytr[20:40], labels)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_every_pickle_protocol_of_plain_data_loads(tmp_path, rng, protocol):
    _, labels = _write_batch(tmp_path / "b", 3, rng, protocol=protocol)
    X, Y = load_CIFAR_batch(tmp_path / "b")
    assert X.shape == (3, 32, 32, 3) and Y.tolist() == labels


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_pickle_that_would_run_code_is_refused_and_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open(tmp_path / "data_batch_1", "wb") as f:
        pickle.dump({b"data": _Payload(), b"labels": [0]}, f)
    with pytest.raises(UnsafePickleError, match=r"data_batch_1: refusing to load .*system"):
        load_CIFAR_batch(tmp_path / "data_batch_1")
    assert not (tmp_path / "PWNED").exists()
    with pytest.raises(UnsafePickleError), open(tmp_path / "data_batch_1", "rb") as f:
        load_pickle(f)


def test_missing_folder_and_missing_batches(tmp_path, cifar_dir):
    with pytest.raises(FileNotFoundError, match=r"no such folder: .*nowhere"):
        load_CIFAR10(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"no CIFAR-10 batches in .*empty.*data_batch_1"):
        load_CIFAR10(empty)
    root, _ = cifar_dir
    os.remove(root / "data_batch_3")
    with pytest.raises(FileNotFoundError, match=r"batch not found: .*data_batch_3"):
        load_CIFAR10(root)


def test_truncated_and_wrong_shaped_batches(tmp_path, rng):
    _write_batch(tmp_path / "b", 5, rng)
    whole = (tmp_path / "b").read_bytes()
    (tmp_path / "cut").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"cut is truncated or not a pickle"):
        load_CIFAR_batch(tmp_path / "cut")
    with open(tmp_path / "shape", "wb") as f:
        pickle.dump({b"data": np.zeros((5, 100), np.uint8), b"labels": [0] * 5}, f)
    with pytest.raises(ValueError, match=r"has data of shape \(5, 100\).*expected \(N, 3072\)"):
        load_CIFAR_batch(tmp_path / "shape")
    _write_batch(tmp_path / "nolabels", 2, rng, labels_key=b"fine_labels")
    with pytest.raises(ValueError, match=r"nolabels is not a CIFAR-10 batch"):
        load_CIFAR_batch(tmp_path / "nolabels")


def test_get_CIFAR10_data_splits_like_the_course(cifar_dir):
    root, _ = cifar_dir
    data = get_CIFAR10_data(num_training=60, num_validation=10, num_test=5, cifar10_dir=root)
    Xtr, _, _, Yte = load_CIFAR10(root)
    assert data["X_train"].shape == (60, 3, 32, 32) and data["X_val"].shape == (10, 3, 32, 32)
    assert data["X_test"].shape == (5, 3, 32, 32)
    mean = Xtr[:60].mean(axis=0)
    np.testing.assert_allclose(data["X_val"], (Xtr[60:70] - mean).transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(data["y_test"], Yte[:5])
    with pytest.raises(ValueError, match=r"must fit in 100 training"):
        get_CIFAR10_data(num_training=95, num_validation=10, cifar10_dir=root)


def test_bundled_digits_match_scikit_learn():
    from sklearn.datasets import load_digits as sklearn_digits

    images, labels = load_digits()
    reference = sklearn_digits()
    np.testing.assert_array_equal(images, reference.images)
    np.testing.assert_array_equal(labels, reference.target)


def test_get_CIFAR10_data_finds_the_course_folder_and_the_environment(
    cifar_dir, tmp_path_factory, monkeypatch
):
    root, _ = cifar_dir
    assignment = tmp_path_factory.mktemp("assignment1")
    monkeypatch.chdir(assignment)
    monkeypatch.delenv("FASTVR_CIFAR10_DIR", raising=False)
    with pytest.raises(FileNotFoundError) as info:
        get_CIFAR10_data(num_training=60, num_validation=10, num_test=5)
    message = str(info.value)
    assert "$FASTVR_CIFAR10_DIR: (not set)" in message
    assert os.path.join(str(assignment), "cs231n", "datasets", "cifar-10-batches-py") in message
    assert "get_datasets.sh" in message and "cifar10_dir" in message
    monkeypatch.setenv("FASTVR_CIFAR10_DIR", str(root))
    from_env = get_CIFAR10_data(num_training=60, num_validation=10, num_test=5)
    monkeypatch.delenv("FASTVR_CIFAR10_DIR")
    (assignment / "cs231n" / "datasets").mkdir(parents=True)
    os.symlink(root, assignment / "cs231n" / "datasets" / "cifar-10-batches-py")
    from_course = get_CIFAR10_data(num_training=60, num_validation=10, num_test=5)
    explicit = get_CIFAR10_data(num_training=60, num_validation=10, num_test=5, cifar10_dir=root)
    for key, value in explicit.items():
        np.testing.assert_array_equal(from_env[key], value)
        np.testing.assert_array_equal(from_course[key], value)
