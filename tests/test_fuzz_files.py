"""Files under attack (issue 14): the CIFAR loader and the saved-model reader given truncated,
bit-flipped and crafted files. Each answers with plain data or refuses with an error that
names the file; nothing in a file ever runs.

Profiles as in ``test_fuzz.py`` (``HYPOTHESIS_PROFILE=ci|soak``).
"""

from __future__ import annotations

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
