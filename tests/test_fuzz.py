"""A property-based fuzz of the public surface (issue 14).

Each case starts from a valid call and replaces one argument with something a notebook
produces by accident, drawn for the argument's role: arrays of the wrong dtype (bool,
complex, object, strings, float16, huge integers), shape (0-d, empty, 1-D, extra dimensions,
mismatched lengths), values (NaN, ±inf, the dtype's largest finite value) or layout (Fortran,
reversed, read-only), Python lists and scalars; labels that are negative, fractional or ids
far beyond the row count; counts and sizes that are negative, zero, fractional, boolean,
strings or absurdly large; reals that are NaN, infinite, negative or strings. The call must
either answer or raise ``ValueError``, ``TypeError`` or ``RuntimeError`` whose message names
the argument; the caller's arrays and a trained model must be exactly as they were, and no
warning may be emitted but the two documented ones (:class:`fastvr.DivergenceWarning`, and
the vectorized losses' ``RuntimeWarning`` that finite scores overflowed).

Profiles (``HYPOTHESIS_PROFILE``): ``ci`` (the default: 40 examples per case, the same every
run) and ``soak`` (2000 random ones per case: ``HYPOTHESIS_PROFILE=soak python -m pytest
tests/test_fuzz.py tests/test_fuzz_files.py``).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
import types
import warnings

import array_api_compat
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastvr
from fastvr import layers, optim
from fastvr.classifiers import KNearestNeighbor, LinearSVM, Softmax
from fastvr.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from fastvr.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from fastvr.classifiers.neural_net import TwoLayerNet as TwoLayerNet2019
from fastvr.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
from fastvr.features import color_histogram_hsv, extract_features, hog_feature, rgb2gray
from fastvr.gradient_check import eval_numerical_gradient
from fastvr.solver import Solver
from fastvr.tuning import cross_validate_k, train_linear_grid, train_two_layer_grid

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
# CI draws the same examples every run (derandomize): a green run is a reproducible one.
settings.register_profile("ci", max_examples=40, derandomize=True, **_COMMON)
settings.register_profile("soak", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DOCUMENTED = (ValueError, TypeError, RuntimeError)
_TEXT = st.sampled_from(["", "3", "abc", b"x"])


def _elements(dtype):
    if np.issubdtype(dtype, np.floating):
        extremes = st.sampled_from([np.nan, np.inf, -np.inf, float(np.finfo(dtype).max), 0.0])
        return st.one_of(extremes, st.floats(-5, 5, width=np.finfo(dtype).bits))
    if dtype == np.bool_:
        return st.booleans()
    if np.issubdtype(dtype, np.complexfloating):
        return st.complex_numbers(max_magnitude=5)
    info = np.iinfo(dtype)
    return st.integers(int(max(info.min, -(10**18))), int(min(info.max, 10**18)))


@st.composite
def hostile_array(draw):
    kind = draw(st.sampled_from(["array", "array", "layout", "list", "scalar", "other"]))
    if kind == "list":
        return draw(st.lists(st.floats(allow_nan=True), max_size=6))
    if kind == "scalar":
        return draw(st.one_of(st.floats(), st.integers(-5, 5), st.booleans()))
    if kind == "other":
        return draw(st.sampled_from([None, "abc", np.array([{"a": 1}, None], dtype=object)]))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    dtype = draw(
        st.sampled_from(
            [
                np.float64,
                np.float32,
                np.float16,
                np.int64,
                np.uint8,
                np.bool_,
                np.complex128,
                np.str_,
            ]
        )
    )
    if dtype == np.str_:
        return np.full(shape, "x")
    values = draw(hnp.arrays(dtype, shape, elements=_elements(dtype)))
    if kind == "layout" and values.ndim >= 2:
        values = np.asfortranarray(values)[::-1]
        values.flags.writeable = False
    return values


def _labels(n):
    """Labels gone wrong for ``n`` samples: negative, fractional, ids, wrong length, 2-D."""
    base = np.arange(n) % 3
    return st.one_of(
        hostile_array(),
        st.sampled_from(
            [
                base - 1,
                base + 0.5,
                np.where(base == 0, 10**12, base),
                np.where(base == 0, 2**62, base),
                base[:-1],
                base[:, None],
                base.astype(np.uint8),
                base.astype(bool),
            ]
        ),
    )


_BAD_COUNT = st.one_of(
    st.integers(-(10**6), 0), st.floats(allow_nan=True), st.booleans(), _TEXT, st.none()
)
_HUGE = st.sampled_from([10**9, 10**12, 2**62, 10**30])
_BAD_REAL = st.one_of(st.sampled_from([np.nan, np.inf, -np.inf, -1.0, -1e300]), _TEXT, st.none())
ROLES = {
    "array": hostile_array(),
    "count": _BAD_COUNT,  # iterations, epochs: wrong, never merely large (that only takes time)
    "size": st.one_of(_BAD_COUNT, _HUGE),  # sizes that allocate: also absurdly large
    "real": _BAD_REAL,
    "flag": st.one_of(hostile_array(), _TEXT),
    # paths: the file system's own errors (OSError) are the documented answer there
    "path": st.one_of(
        st.sampled_from([None, 3, 2.5, "", ".", "no/such/folder/m.npy", b"m.npy"]),
        hostile_array(),
    ),
}


def _rng():
    return np.random.default_rng(0)


def _X(n=8, d=4):
    return _rng().normal(size=(n, d))


def _y(n=8):
    return np.arange(n) % 3


def _trained(cls):
    np.random.seed(0)
    model = cls()
    if cls is KNearestNeighbor:
        model.train(_X(10), _y(10))
    else:
        model.train(_X(10), _y(10), num_iters=2, batch_size=4)
    return model


def _method_on_X(cls, method):
    """A target: ``method(X)`` of a trained ``cls``, with ``X`` the hostile argument."""
    return (
        lambda: {"X": _X(3)},
        {"X": "array"},
        lambda m, a: getattr(m, method)(**a),
        lambda: _trained(cls),
    )


def _data():
    return {"X_train": _X(12), "y_train": _y(12), "X_val": _X(4), "y_val": _y(4)}


def _net2019():
    np.random.seed(0)
    return TwoLayerNet2019(4, 6, 3)


# name: (valid arguments, {argument: role}, call(model, args), model factory or None)
_LOSS_ARGS = (
    lambda: {"W": _rng().normal(size=(4, 3)), "X": _X(6), "y": _y(6), "reg": 0.1},
    {"W": "array", "X": "array", "y": "labels", "reg": "real"},
)
TARGETS = {
    "svm_loss_vectorized": (*_LOSS_ARGS, lambda m, a: svm_loss_vectorized(**a), None),
    "svm_loss_naive": (*_LOSS_ARGS, lambda m, a: svm_loss_naive(**a), None),
    "softmax_loss_vectorized": (*_LOSS_ARGS, lambda m, a: softmax_loss_vectorized(**a), None),
    "softmax_loss_naive": (*_LOSS_ARGS, lambda m, a: softmax_loss_naive(**a), None),
    "LinearSVM.train": (
        lambda: {
            "X": _X(),
            "y": _y(),
            "learning_rate": 1e-3,
            "reg": 1e-5,
            "num_iters": 3,
            "batch_size": 4,
        },
        {
            "X": "array",
            "y": "labels",
            "learning_rate": "real",
            "reg": "real",
            "num_iters": "count",
            "batch_size": "size",
        },
        lambda m, a: m.train(**a),
        lambda: _trained(LinearSVM),
    ),
    "Softmax.predict": _method_on_X(Softmax, "predict"),
    "KNearestNeighbor.predict": (
        lambda: {"X": _X(3), "k": 2, "num_loops": 0},
        {"X": "array", "k": "size", "num_loops": "count"},
        lambda m, a: m.predict(**a),
        lambda: _trained(KNearestNeighbor),
    ),
    "KNearestNeighbor.train": (
        lambda: {"X": _X(), "y": _y()},
        {"X": "array", "y": "labels"},
        lambda m, a: m.train(**a),
        lambda: _trained(KNearestNeighbor),
    ),
    "pairwise_distances": (
        lambda: {"X": _X(3), "Y": _X(5)},
        {"X": "array", "Y": "array"},
        lambda m, a: fastvr.pairwise_distances(**a),
        None,
    ),
    "kneighbors": (
        lambda: {"X": _X(3), "Y": _X(5), "k": 2},
        {"X": "array", "Y": "array", "k": "size"},
        lambda m, a: fastvr.kneighbors(**a),
        None,
    ),
    "cross_validate_k": (
        lambda: {"X": _X(12), "y": _y(12), "k_choices": [1, 3], "num_folds": 3},
        {"X": "array", "y": "labels", "num_folds": "size"},
        lambda m, a: cross_validate_k(**a),
        None,
    ),
    "train_linear_grid": (
        lambda: {
            "X": _X(),
            "y": _y(),
            "X_val": _X(4),
            "y_val": _y(4),
            "learning_rates": [1e-3],
            "regularization_strengths": [0.0],
            "num_iters": 3,
            "batch_size": 4,
        },
        {
            "X": "array",
            "y": "labels",
            "X_val": "array",
            "num_iters": "count",
            "batch_size": "size",
        },
        lambda m, a: train_linear_grid("svm", **a),
        None,
    ),
    "train_two_layer_grid": (
        lambda: {
            "X": _X(),
            "y": _y(),
            "X_val": _X(4),
            "y_val": _y(4),
            "hidden_size": 5,
            "learning_rates": [1e-3],
            "regularization_strengths": [0.0],
            "num_iters": 3,
            "batch_size": 4,
        },
        {
            "X": "array",
            "y": "labels",
            "hidden_size": "size",
            "num_iters": "count",
            "batch_size": "size",
        },
        lambda m, a: train_two_layer_grid(**a),
        None,
    ),
    "hog_feature": (
        lambda: {"im": _rng().random((16, 16, 3)) * 255},
        {"im": "array"},
        lambda m, a: hog_feature(**a),
        None,
    ),
    "color_histogram_hsv": (
        lambda: {"im": _rng().random((16, 16, 3)) * 255, "nbin": 10},
        {"im": "array", "nbin": "size"},
        lambda m, a: color_histogram_hsv(**a),
        None,
    ),
    "extract_features": (
        lambda: {"imgs": _rng().random((3, 16, 16, 3)) * 255},
        {"imgs": "array"},
        lambda m, a: extract_features(
            feature_fns=[hog_feature, functools.partial(color_histogram_hsv, nbin=5)], **a
        ),
        None,
    ),
    "neural_net.TwoLayerNet.train": (
        lambda: {
            "X": _X(),
            "y": _y(),
            "X_val": _X(4),
            "y_val": _y(4),
            "num_iters": 3,
            "batch_size": 4,
            "learning_rate": 1e-3,
            "reg": 0.1,
        },
        {
            "X": "array",
            "y": "labels",
            "X_val": "array",
            "y_val": "labels",
            "num_iters": "count",
            "batch_size": "size",
            "learning_rate": "real",
            "reg": "real",
        },
        lambda m, a: m.train(**a),
        _net2019,
    ),
    "fc_net.TwoLayerNet.loss": (
        lambda: {"X": _X(5), "y": _y(5)},
        {"X": "array", "y": "labels"},
        lambda m, a: m.loss(**a),
        lambda: TwoLayerNet(4, 6, 3),
    ),
    "FullyConnectedNet": (
        lambda: {
            "hidden_dims": [5, 5],
            "input_dim": 4,
            "num_classes": 3,
            "dropout_keep_ratio": 0.5,
            "normalization": "batchnorm",
            "reg": 0.1,
        },
        {
            "input_dim": "size",
            "num_classes": "size",
            "dropout_keep_ratio": "real",
            "normalization": "flag",
            "reg": "real",
        },
        lambda m, a: FullyConnectedNet(**a).loss(_X(5), _y(5)),
        None,
    ),
    "layers.affine_forward": (
        lambda: {
            "x": _rng().normal(size=(2, 3, 2)),
            "w": _rng().normal(size=(6, 4)),
            "b": np.zeros(4),
        },
        {"x": "array", "w": "array", "b": "array"},
        lambda m, a: layers.affine_forward(**a),
        None,
    ),
    "layers.softmax_loss": (
        lambda: {"x": _X(5, 3), "y": _y(5)},
        {"x": "array", "y": "labels"},
        lambda m, a: layers.softmax_loss(**a),
        None,
    ),
    "layers.batchnorm_forward": (
        lambda: {"x": _X(5, 3), "gamma": np.ones(3), "beta": np.zeros(3)},
        {"x": "array", "gamma": "array", "beta": "array"},
        lambda m, a: layers.batchnorm_forward(bn_param={"mode": "train"}, **a),
        None,
    ),
    "optim.adam": (
        lambda: {"w": np.ones(3), "dw": np.ones(3)},
        {"w": "array", "dw": "array"},
        lambda m, a: optim.adam(config={"learning_rate": 1e-2}, **a),
        None,
    ),
    "KNearestNeighbor.compute_distances_two_loops": _method_on_X(
        KNearestNeighbor, "compute_distances_two_loops"
    ),
    "KNearestNeighbor.compute_distances_one_loop": _method_on_X(
        KNearestNeighbor, "compute_distances_one_loop"
    ),
    "KNearestNeighbor.predict_labels": (
        lambda: {"dists": _rng().random((3, 10)), "k": 2},
        {"dists": "array", "k": "size"},
        lambda m, a: m.predict_labels(**a),
        lambda: _trained(KNearestNeighbor),
    ),
    "rgb2gray": (
        lambda: {"rgb": _rng().random((8, 8, 3))},
        {"rgb": "array"},
        lambda m, a: rgb2gray(**a),
        None,
    ),
    "eval_numerical_gradient": (
        lambda: {"x": _rng().normal(size=3)},
        {"x": "array"},
        lambda m, a: eval_numerical_gradient(lambda v: float(np.tanh(v).sum()), verbose=False, **a),
        None,
    ),
    "Solver.check_accuracy": (
        lambda: {"X": _X(12), "y": _y(12), "num_samples": 5, "batch_size": 4},
        {"X": "array", "y": "labels", "num_samples": "size", "batch_size": "size"},
        lambda m, a: Solver(m, _data(), verbose=False).check_accuracy(**a),
        lambda: TwoLayerNet(4, 5, 3),
    ),
    "TwoLayerNet.save": (
        lambda: {"fname": "model.npy"},
        {"fname": "path"},
        lambda m, a: m.save(**a),
        lambda: TwoLayerNet(4, 5, 3),
    ),
    "TwoLayerNet.load": (
        lambda: {"fname": "model.npy"},
        {"fname": "path"},
        lambda m, a: m.load(**a),
        lambda: TwoLayerNet(4, 5, 3),
    ),
    "Solver": (
        lambda: {
            "X_train": _X(12),
            "y_train": _y(12),
            "batch_size": 4,
            "num_epochs": 1,
            "lr_decay": 0.9,
        },
        {
            "X_train": "array",
            "y_train": "labels",
            "batch_size": "size",
            "num_epochs": "count",
            "lr_decay": "real",
        },
        lambda m, a: Solver(
            m,
            {
                "X_train": a.pop("X_train"),
                "y_train": a.pop("y_train"),
                "X_val": _X(4),
                "y_val": _y(4),
            },
            verbose=False,
            **a,
        ).train(),
        lambda: TwoLayerNet(4, 5, 3),
    ),
}


def _same(a, b):
    if a is b:
        return True
    if not isinstance(a, np.ndarray) and array_api_compat.is_array_api_obj(a):  # on a device
        return array_api_compat.is_array_api_obj(b) and _same(
            fastvr.to_numpy(a).copy(), fastvr.to_numpy(b).copy()
        )
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and a.flags.writeable == b.flags.writeable
            and (a.dtype.kind in "OU" or np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        )
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and _same(vars(a), vars(b))
    if isinstance(a, (types.ModuleType, type)) or callable(a):
        return a is b or a == b
    if hasattr(a, "__dict__"):
        return type(a) is type(b) and _same(vars(a), vars(b))
    return a == b


def _state(model):
    return None if model is None else copy.deepcopy(vars(model))


def _copy(value):
    if isinstance(value, np.ndarray):
        duplicate = value.copy()
        duplicate.flags.writeable = value.flags.writeable
        return duplicate
    return copy.deepcopy(value)


@pytest.mark.parametrize("target", sorted(TARGETS))
@given(data=st.data())
def test_hostile_argument(target, data, tmp_path_factory):
    make, roles, call, model_factory = TARGETS[target]
    args = make()
    name = data.draw(st.sampled_from(sorted(roles)), label="argument")
    role = roles[name]
    strategy = _labels(len(args["X"]) if "X" in args else 8) if role == "labels" else ROLES[role]
    args[name] = data.draw(strategy, label=name)
    before = {key: _copy(value) for key, value in args.items()}
    fastvr.set_save_folder(tmp_path_factory.getbasetemp() / "fuzz-saved")
    model = None if model_factory is None else model_factory()
    model_before = _state(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=fastvr.DivergenceWarning)
        warnings.filterwarnings("ignore", message="the (svm|softmax) loss overflowed")
        allowed = DOCUMENTED + ((OSError,) if role == "path" else ())
        try:
            call(model, dict(args))
        except allowed as exc:
            failed = True
            message = str(exc)
            assert name in message or name.split("_")[0] in message, (
                f"{target}: the message does not name {name!r}: {type(exc).__name__}: {message}"
            )
        except Exception as exc:  # anything else escaping is what this fuzz looks for
            raise AssertionError(
                f"{target}({name}=...) raised {type(exc).__name__}: {exc}"
            ) from exc
        else:
            failed = False
    for key, value in args.items():
        assert _same(value, before[key]), f"{target} modified its argument {key}"
    if failed and model is not None:
        assert _same(vars(model), model_before), f"{target} changed the model and then failed"
