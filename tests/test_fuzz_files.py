"""Files under attack (issue 14): the CIFAR loader and the saved-model reader given truncated,
bit-flipped and crafted files. Each answers with plain data or refuses with an error that
names the file; nothing in a file ever runs.

Profiles as in ``test_fuzz.py`` (``HYPOTHESIS_PROFILE=ci|soak``).
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import pickletools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastvr.data_utils import UnsafePickleError, load_CIFAR10, load_CIFAR_batch
from fastvr.saved import read_saved_dict

from . import test_fuzz  # noqa: F401  (registers and loads the hypothesis profiles)

REFUSALS = (ValueError, TypeError, UnsafePickleError, OSError)
RAN = []  # a crafted pickle that gets anything executed appends here


def _cifar_bytes() -> bytes:
    rng = np.random.default_rng(0)
    batch = {b"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8), b"labels": [1, 2, 3]}
    return pickle.dumps(batch, protocol=2)


def _saved_bytes() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, {"W1": np.ones((2, 3)), "b1": np.zeros(3)})
    return buffer.getvalue()


READERS = {
    "cifar": (_cifar_bytes(), load_CIFAR_batch),
    "saved model": (_saved_bytes(), read_saved_dict),
}


def _check(reader, path):
    try:
        reader(path)
    except REFUSALS as exc:
        assert os.path.basename(str(path)) in str(exc), f"the error does not name the file: {exc}"
    assert not RAN


@pytest.mark.parametrize("kind", sorted(READERS))
@given(data=st.data())
def test_truncated_and_bit_flipped_files(kind, data, tmp_path_factory):
    good, reader = READERS[kind]
    content = bytearray(good)
    how = data.draw(st.sampled_from(["truncate", "flip", "both"]))
    if how in ("truncate", "both"):
        content = content[: data.draw(st.integers(0, len(content) - 1))]
    if how in ("flip", "both") and content:
        for _ in range(data.draw(st.integers(1, 8))):
            at = data.draw(st.integers(0, len(content) - 1))
            content[at] ^= 1 << data.draw(st.integers(0, 7))
    path = tmp_path_factory.mktemp("files") / f"{kind.replace(' ', '_')}.bin"
    path.write_bytes(bytes(content))
    _check(reader, path)


def _record(*args):
    RAN.append(args)


class _Reduce:
    def __reduce__(self):
        return (_record, ("reduce",))


# Every way a pickle can reach code: a global of each opcode, a reduce, object construction,
# a build/setstate, the extension registry and persistent ids.
CRAFTED = {
    "GLOBAL os.system": b"cos\nsystem\n(S'echo x'\ntR.",
    "GLOBAL builtins.eval": b"cbuiltins\neval\n(S'1+1'\ntR.",
    "STACK_GLOBAL": pickle.dumps(_Reduce(), protocol=4),
    "REDUCE via copyreg": b"ccopyreg\n_reconstructor\n(cbuiltins\nobject\nNtR.",
    "INST": b"(S'echo x'\nios\nsystem\n.",
    "OBJ": b"\x80\x02(cos\nsystem\nS'echo x'\no.",
    "NEWOBJ": b"\x80\x02cbuiltins\nobject\n)\x81.",
    "NEWOBJ_EX": b"\x80\x04cbuiltins\nobject\n)}\x92.",
    "BUILD on a numpy array": b"\x80\x02cnumpy\nndarray\n)\x81}b.",
    "EXT1": b"\x80\x02\x82\x01.",
    "PERSID": b"Pfile\n.",
    "BINPERSID": b"\x80\x02X\x04\x00\x00\x00fileQ.",
    "nested global in a dict": pickle.dumps({"W": _Reduce()}, protocol=2),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
@pytest.mark.parametrize("kind", sorted(READERS))
def test_crafted_pickles_are_refused_and_nothing_runs(kind, name, tmp_path):
    payload = CRAFTED[name]
    pickletools.dis(payload, out=io.StringIO())  # a well-formed pickle (the test's own check)
    if kind == "saved model":  # the same payload behind a .npy header for object arrays
        buffer = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            buffer, {"descr": "|O", "fortran_order": False, "shape": ()}
        )
        payload = buffer.getvalue() + payload
    path = tmp_path / "evil.npy"
    path.write_bytes(payload)
    with pytest.raises(REFUSALS) as info:
        READERS[kind][1](path)
    assert "evil.npy" in str(info.value)
    assert not RAN


def test_folders_and_files_swapped(tmp_path):
    folder = tmp_path / "data_batch_1"
    folder.mkdir()
    with pytest.raises(REFUSALS, match="data_batch_1"):
        load_CIFAR_batch(folder)
    with pytest.raises(REFUSALS, match="saved"):
        read_saved_dict(str(tmp_path / "saved"))  # missing
    a_file = tmp_path / "cifar.txt"
    a_file.write_text("not a folder")
    with pytest.raises(FileNotFoundError, match=r"cifar\.txt"):
        load_CIFAR10(a_file)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(_cifar_bytes())
    path.chmod(0)
    with pytest.raises(REFUSALS, match="data_batch_1"):
        load_CIFAR_batch(path)


# -- model files that parse but do not fit the model, and names that lead elsewhere ---------

_VALUES = st.one_of(
    st.sampled_from(["text", b"bytes", None, 3, 2.5, [1.0, 2.0], {"W": 1}]),
    st.builds(
        lambda shape, dtype: np.ones(shape, dtype=dtype),
        st.lists(st.integers(0, 5), max_size=3).map(tuple),
        st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.bool_, np.complex128]),
    ),
)


@st.composite
def plausible_params(draw, like: dict) -> dict:
    """A model's parameters with a few entries dropped, renamed, added or replaced."""
    params = {name: np.array(value) for name, value in like.items()}
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["drop", "add", "replace", "reshape", "retype"]))
        name = draw(st.sampled_from(sorted(params) or ["W1"]))
        if how == "drop":
            params.pop(name, None)
        elif how == "add":
            params[draw(st.sampled_from(["W3", "b3", "gamma1", "W", "extra"]))] = draw(_VALUES)
        elif how == "replace":
            params[name] = draw(_VALUES)
        elif isinstance(params.get(name), np.ndarray) and params[name].dtype.kind in "fiub":
            value = params[name]
            params[name] = (
                value.astype(draw(st.sampled_from([np.int32, np.float32, np.float16, object])))
                if how == "retype"
                else np.ones(tuple(max(0, n + draw(st.integers(-1, 1))) for n in value.shape))
            )
    return params


@given(data=st.data())
def test_models_load_only_files_that_fit_them(data, tmp_path_factory):
    from fastvr.classifiers import LinearSVM
    from fastvr.classifiers.fc_net import FullyConnectedNet
    from fastvr.saved import set_save_folder

    folder = tmp_path_factory.mktemp("models")
    set_save_folder(folder)
    try:
        model = data.draw(
            st.sampled_from(
                [
                    lambda: FullyConnectedNet([4, 3], input_dim=5, num_classes=2),
                    lambda: FullyConnectedNet([4], 5, 2, normalization="batchnorm"),
                    lambda: _linear(LinearSVM),
                ]
            )
        )()
        like = {"W": model.W} if hasattr(model, "W") else model.params
        params = data.draw(plausible_params(like))
        np.save(folder / "m.npy", params)
        before = {k: np.array(v) for k, v in like.items()}
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                model.load("m.npy")
        except ValueError as exc:
            assert "m.npy" in str(exc)
            assert "loaded" not in printed.getvalue()
            after = {"W": model.W} if hasattr(model, "W") else model.params
            assert sorted(after) == sorted(before)
            for name, value in before.items():
                np.testing.assert_array_equal(after[name], value)
            return
        after = {"W": model.W} if hasattr(model, "W") else model.params
        assert sorted(after) == sorted(params)  # loaded: exactly the file's names ...
        for name, value in after.items():  # ... as floating arrays of the model's shapes
            assert value.dtype.kind == "f" and value.shape == np.shape(params[name])
            if hasattr(model, "params"):
                assert value.shape == before[name].shape
    finally:
        set_save_folder(None)


def _linear(cls):
    model = cls()
    model.W = np.ones((5, 3))
    return model


_NAMES = st.lists(
    st.sampled_from(["..", ".", "m.npy", "sub", "/", "/tmp", "a..b", "~", "x.npy"]),
    min_size=1,
    max_size=4,
).map(lambda parts: "/".join(parts).replace("//", "/"))


@given(name=_NAMES)
def test_saving_never_writes_outside_the_save_folder(name, tmp_path_factory):
    from fastvr.classifiers import Softmax
    from fastvr.saved import set_save_folder

    root = tmp_path_factory.mktemp("root")
    folder = root / "saved"
    set_save_folder(folder)
    model = Softmax()
    model.W = np.eye(2)
    try:
        model.save(name)
    except (ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        assert repr(name) in str(exc) or str(folder) in str(exc), exc
    finally:
        set_save_folder(None)
    written = [p for p in root.rglob("*") if p.is_file()]
    assert all(folder in p.parents for p in written), written
