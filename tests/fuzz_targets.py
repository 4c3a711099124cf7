"""What the fuzz in :mod:`tests.test_fuzz` calls: every public entry point, its valid
arguments, and the role of each argument (which decides what hostile values replace it).

``TARGETS`` maps a name to ``(valid arguments, {argument: role}, call(model, args), model
factory or None)``; ``EXEMPT`` names the public callables that are not fuzzed here and why.
"""

from __future__ import annotations

import functools
import os
import pickle
import tempfile

import numpy as np

import fastvr
from fastvr import (
    check,
    data_utils,
    estimators,
    layer_utils,
    layers,
    optim,
    plots,
    saved,
    vis_utils,
)
from fastvr.classifiers import KNearestNeighbor, LinearSVM, Softmax
from fastvr.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from fastvr.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from fastvr.classifiers.neural_net import TwoLayerNet as TwoLayerNet2019
from fastvr.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
from fastvr.features import (
    batched_form,
    color_histogram_hsv,
    color_histograms_hsv,
    extract_features,
    hog_feature,
    hog_features,
    rgb2gray,
)
from fastvr.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
)
from fastvr.solver import Solver
from fastvr.tuning import cross_validate_k, train_linear_grid, train_two_layer_grid


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


def _grid_args():
    """Valid arguments of both grid functions (but the two-layer grid's hidden_size)."""
    return {
        "X": _X(),
        "y": _y(),
        "X_val": _X(4),
        "y_val": _y(4),
        "learning_rates": [1e-3],
        "regularization_strengths": [0.0],
        "num_iters": 3,
        "batch_size": 4,
    }


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
        lambda: {**_grid_args(), "parts": None},
        {
            "X": "array",
            "y": "labels",
            "X_val": "array",
            "num_iters": "count",
            "batch_size": "size",
            "parts": "count",  # Dask shares
        },
        lambda m, a: train_linear_grid("svm", **a),
        None,
    ),
    "train_two_layer_grid": (
        lambda: {**_grid_args(), "hidden_size": 5},
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
    "Solver.train": (
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


# --- The rest of the surface: every public function and method (issue 14) ---------------


def _plain(fn, make, roles):
    """A target that calls ``fn(**args)`` with no model."""
    return (make, roles, lambda m, a: fn(**a), None)


def _on_model(make, roles, method, factory):
    return (make, roles, lambda m, a: getattr(m, method)(**a), factory)


def _forward(layer, *args, **kwargs):
    """A valid cache from ``layer``: the backward targets replace ``dout`` or ``cache``."""
    return layer(*args, **kwargs)[1]


def _backward(name, forward, out_shape):
    backward = getattr(layers, name)
    return _plain(
        backward,
        lambda: {"dout": _rng().normal(size=out_shape), "cache": forward()},
        {"dout": "array", "cache": "cache"},
    )


@functools.cache
def _empty_package() -> str:
    """An assignment folder whose cs231n package defines nothing to check (a valid call
    that runs no student code)."""
    folder = tempfile.mkdtemp(prefix="fastvr-fuzz-check-")
    os.makedirs(os.path.join(folder, "cs231n"))
    open(os.path.join(folder, "cs231n", "__init__.py"), "w").close()
    return folder


def _cifar_folder() -> str:
    """A CIFAR-10 folder of the real format, 20 images per batch, made once per run."""
    folder = tempfile.mkdtemp(prefix="fastvr-fuzz-cifar-")
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": _rng().integers(0, 256, (20, 3072), dtype=np.uint8), b"labels": _y(20)}
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump({key: list(v) if key == b"labels" else v for key, v in batch.items()}, f)
    return folder


def _entered(context):
    with context:
        pass


def _restoring(setter, getter):
    """``setter(**args)``, then the setting as it was (a global must not leak across cases)."""

    def call(**args):
        before = getter()
        try:
            setter(**args)
        finally:
            setter(before)

    return call


def _images(n=3, size=8):
    return _rng().random((n, size, size, 3)) * 255


def _fitted(cls, **params):
    def make():
        np.random.seed(0)
        return cls(**params).fit(_X(12), _y(12))

    return make


def _optimizer(rule):
    return _plain(
        getattr(optim, rule),
        lambda: {"w": np.ones(3), "dw": np.ones(3), "config": {"learning_rate": 1e-2}},
        {"w": "array", "dw": "array", "config": "config"},
    )


_AFFINE = (_rng().normal(size=(4, 3)), _rng().normal(size=(3, 2)), np.zeros(2))
_NORM = (_X(5, 3), np.ones(3), np.zeros(3))

TARGETS.update(
    {
        # the top-level package
        "use": _plain(fastvr.use, lambda: {"name": "numpy"}, {"name": "name"}),
        "backend": _plain(
            lambda **a: fastvr.backend(**a).__enter__(),
            lambda: {"name": "numpy", "device": None},
            {"name": "name", "device": "size"},
        ),
        "asarray": _plain(
            fastvr.asarray,
            lambda: {"x": _X(2), "dtype": "float32"},
            {"x": "array", "dtype": "name"},
        ),
        "to_numpy": _plain(fastvr.to_numpy, lambda: {"x": _X(2)}, {"x": "array"}),
        "working_memory": _plain(
            lambda **a: _entered(fastvr.working_memory(**a)),
            lambda: {"working_memory": 64.0},
            {"working_memory": "real"},
        ),
        "set_working_memory": _plain(
            _restoring(fastvr.set_working_memory, fastvr.get_working_memory),
            lambda: {"working_memory": 64.0},
            {"working_memory": "real"},
        ),
        "screening": _plain(
            lambda **a: _entered(fastvr.screening(**a)),
            lambda: {"enabled": False},
            {"enabled": "name"},
        ),
        "set_screening": _plain(
            _restoring(fastvr.set_screening, fastvr.get_screening),
            lambda: {"enabled": False},
            {"enabled": "name"},
        ),
        "set_save_folder": _plain(
            lambda **a: fastvr.set_save_folder(**a), lambda: {"folder": "."}, {"folder": "path"}
        ),
        # k-NN
        "KNearestNeighbor.kneighbors": _on_model(
            lambda: {"X": _X(3), "k": 2},
            {"X": "array", "k": "size"},
            "kneighbors",
            lambda: _trained(KNearestNeighbor),
        ),
        "KNearestNeighbor.compute_distances_no_loops": _method_on_X(
            KNearestNeighbor, "compute_distances_no_loops"
        ),
        # linear classifiers
        "Softmax.train": (
            lambda: {"X": _X(), "y": _y(), "num_iters": 2, "batch_size": 4, "verbose": False},
            {
                "X": "array",
                "y": "labels",
                "num_iters": "count",
                "batch_size": "size",
                "verbose": "flag",
            },
            lambda m, a: m.train(**a),
            lambda: _trained(Softmax),
        ),
        "LinearSVM.predict": _method_on_X(LinearSVM, "predict"),
        "LinearSVM.loss": _on_model(
            lambda: {"X_batch": _X(), "y_batch": _y(), "reg": 0.1},
            {"X_batch": "array", "y_batch": "labels", "reg": "real"},
            "loss",
            lambda: _trained(LinearSVM),
        ),
        "Softmax.loss": _on_model(
            lambda: {"X_batch": _X(), "y_batch": _y(), "reg": 0.1},
            {"X_batch": "array", "y_batch": "labels", "reg": "real"},
            "loss",
            lambda: _trained(Softmax),
        ),
        "Softmax.save": _on_model(
            lambda: {"fname": "linear.npy"},
            {"fname": "path"},
            "save",
            lambda: _trained(Softmax),
        ),
        "Softmax.load": _on_model(
            lambda: {"fname": "linear.npy"},
            {"fname": "path"},
            "load",
            lambda: _trained(Softmax),
        ),
        # the 2019/2020 network
        "neural_net.TwoLayerNet": _plain(
            lambda **a: TwoLayerNet2019(**a).loss(_X(5), _y(5)),
            lambda: {"input_size": 4, "hidden_size": 6, "output_size": 3, "std": 1e-4},
            {"input_size": "size", "hidden_size": "size", "output_size": "size", "std": "real"},
        ),
        "neural_net.TwoLayerNet.loss": _on_model(
            lambda: {"X": _X(5), "y": _y(5), "reg": 0.1},
            {"X": "array", "y": "labels", "reg": "real"},
            "loss",
            _net2019,
        ),
        "neural_net.TwoLayerNet.predict": _on_model(
            lambda: {"X": _X(5)}, {"X": "array"}, "predict", _net2019
        ),
        # the 2021-2026 networks
        "fc_net.TwoLayerNet": _plain(
            lambda **a: TwoLayerNet(**a).loss(_X(5), _y(5)),
            lambda: {
                "input_dim": 4,
                "hidden_dim": 6,
                "num_classes": 3,
                "weight_scale": 1e-3,
                "reg": 0.1,
            },
            {
                "input_dim": "size",
                "hidden_dim": "size",
                "num_classes": "size",
                "weight_scale": "real",
                "reg": "real",
            },
        ),
        "FullyConnectedNet.hidden_dims": _plain(
            lambda **a: FullyConnectedNet(input_dim=4, num_classes=3, **a).loss(_X(5), _y(5)),
            lambda: {"hidden_dims": [5, 5], "weight_scale": 1e-2, "dtype": np.float64},
            {"hidden_dims": "sizes", "weight_scale": "real", "dtype": "name"},
        ),
        "FullyConnectedNet.loss": _on_model(
            lambda: {"X": _X(5), "y": _y(5)},
            {"X": "array", "y": "labels"},
            "loss",
            lambda: FullyConnectedNet([5], input_dim=4, num_classes=3, normalization="layernorm"),
        ),
        # layers (forward: the inputs; backward: the upstream gradient and the cache)
        "layers.affine_backward": _backward(
            "affine_backward", lambda: _forward(layers.affine_forward, *_AFFINE), (4, 2)
        ),
        "layers.relu_forward": _plain(layers.relu_forward, lambda: {"x": _X(3)}, {"x": "array"}),
        "layers.relu_backward": _backward(
            "relu_backward", lambda: _forward(layers.relu_forward, _X(3)), (3, 4)
        ),
        "layers.svm_loss": _plain(
            layers.svm_loss, lambda: {"x": _X(5, 3), "y": _y(5)}, {"x": "array", "y": "labels"}
        ),
        "layers.batchnorm_backward": _backward(
            "batchnorm_backward",
            lambda: _forward(layers.batchnorm_forward, *_NORM, {"mode": "train"}),
            (5, 3),
        ),
        "layers.batchnorm_backward_alt": _backward(
            "batchnorm_backward_alt",
            lambda: _forward(layers.batchnorm_forward, *_NORM, {"mode": "train"}),
            (5, 3),
        ),
        "layers.batchnorm_forward.bn_param": _plain(
            lambda **a: layers.batchnorm_forward(*_NORM, **a),
            lambda: {"bn_param": {"mode": "train", "eps": 1e-5, "momentum": 0.9}},
            {"bn_param": "config"},
        ),
        "layers.layernorm_forward": _plain(
            lambda **a: layers.layernorm_forward(ln_param={}, **a),
            lambda: {"x": _X(5, 3), "gamma": np.ones(3), "beta": np.zeros(3)},
            {"x": "array", "gamma": "array", "beta": "array"},
        ),
        "layers.layernorm_backward": _backward(
            "layernorm_backward", lambda: _forward(layers.layernorm_forward, *_NORM, {}), (5, 3)
        ),
        "layers.dropout_forward": _plain(
            layers.dropout_forward,
            lambda: {"x": _X(3), "dropout_param": {"p": 0.5, "mode": "train", "seed": 0}},
            {"x": "array", "dropout_param": "config"},
        ),
        "layers.dropout_backward": _backward(
            "dropout_backward",
            lambda: _forward(layers.dropout_forward, _X(3), {"p": 0.5, "mode": "train"}),
            (3, 4),
        ),
        "layer_utils.affine_relu_forward": _plain(
            layer_utils.affine_relu_forward,
            lambda: dict(zip("xwb", _AFFINE, strict=True)),
            {"x": "array", "w": "array", "b": "array"},
        ),
        "layer_utils.affine_relu_backward": _plain(
            layer_utils.affine_relu_backward,
            lambda: {
                "dout": _rng().normal(size=(4, 2)),
                "cache": layer_utils.affine_relu_forward(*_AFFINE)[1],
            },
            {"dout": "array", "cache": "cache"},
        ),
        # optimisers
        "optim.sgd": _optimizer("sgd"),
        "optim.sgd_momentum": _optimizer("sgd_momentum"),
        "optim.rmsprop": _optimizer("rmsprop"),
        "optim.adam.config": _optimizer("adam"),
        # features
        "hog_features": _plain(hog_features, lambda: {"imgs": _images()}, {"imgs": "array"}),
        "color_histograms_hsv": _plain(
            color_histograms_hsv,
            lambda: {"imgs": _images(), "nbin": 5, "xmin": 0, "xmax": 255, "normalized": True},
            {
                "imgs": "array",
                "nbin": "size",
                "xmin": "real",
                "xmax": "real",
                "normalized": "flag",
            },
        ),
        "batched_form": _plain(
            batched_form, lambda: {"feature_fn": hog_feature}, {"feature_fn": "callable"}
        ),
        # gradient checks
        "eval_numerical_gradient_array": _plain(
            lambda **a: eval_numerical_gradient_array(np.tanh, **a),
            lambda: {"x": _rng().normal(size=(2, 3)), "df": np.ones((2, 3)), "h": 1e-5},
            {"x": "array", "df": "array", "h": "real"},
        ),
        "grad_check_sparse": _plain(
            lambda **a: grad_check_sparse(lambda v: float(np.tanh(v).sum()), **a),
            lambda: {
                "x": _rng().normal(size=(2, 3)),
                "analytic_grad": np.ones((2, 3)),
                "num_checks": 3,
                "h": 1e-5,
            },
            {"x": "array", "analytic_grad": "array", "num_checks": "count", "h": "real"},
        ),
        # the saved-model format
        "save_params": _plain(
            saved.save_params,
            lambda: {"fname": "params.npy", "params": {"W1": np.ones(2)}},
            {"fname": "path", "params": "config"},
        ),
        "load_params": _plain(
            saved.load_params, lambda: {"fname": "params.npy"}, {"fname": "path"}
        ),
        # data
        "load_CIFAR_batch": _plain(
            data_utils.load_CIFAR_batch,
            lambda: {"filename": os.path.join(_cifar_folder(), "data_batch_1")},
            {"filename": "path"},
        ),
        "check_package": _plain(
            check.check_package,
            lambda: {
                "path": _empty_package(),
                "timeout": 5.0,
                "memory_mib": 1024,
                "speed": False,
                "progress": None,
            },
            {
                "path": "path",
                "timeout": "real",
                "memory_mib": "size",
                "speed": "flag",
                "progress": "callable",
            },
        ),
        "find_package": _plain(
            check.find_package, lambda: {"path": _empty_package()}, {"path": "path"}
        ),
        "load_CIFAR10": _plain(
            data_utils.load_CIFAR10, lambda: {"ROOT": _cifar_folder()}, {"ROOT": "path"}
        ),
        "find_cifar10": _plain(
            data_utils.find_cifar10,
            lambda: {"cifar10_dir": _cifar_folder()},
            {"cifar10_dir": "path"},
        ),
        "get_CIFAR10_data": _plain(
            lambda **a: data_utils.get_CIFAR10_data(cifar10_dir=_cifar_folder(), **a),
            lambda: {"num_training": 10, "num_validation": 5, "num_test": 5},
            {"num_training": "size", "num_validation": "size", "num_test": "size"},
        ),
        # scikit-learn estimators (scikit-learn's own InvalidParameterError is a ValueError)
        "KNNClassifier.fit": _plain(
            lambda **a: estimators.KNNClassifier(**a).fit(_X(12), _y(12)).predict(_X(3)),
            lambda: {"n_neighbors": 3, "metric": "l2", "working_memory": 16.0},
            {"n_neighbors": "size", "metric": "name", "working_memory": "real"},
        ),
        "KNNClassifier.predict_proba": _on_model(
            lambda: {"X": _X(3)},
            {"X": "array"},
            "predict_proba",
            _fitted(estimators.KNNClassifier, n_neighbors=3),
        ),
        "LinearSVMClassifier.fit": _plain(
            lambda **a: estimators.LinearSVMClassifier(num_iters=3, batch_size=4).fit(**a),
            lambda: {"X": _X(12), "y": _y(12)},
            {"X": "array", "y": "labels"},
        ),
        "SoftmaxClassifier": _plain(
            lambda **a: estimators.SoftmaxClassifier(**a).fit(_X(12), _y(12)),
            lambda: {"learning_rate": 1e-2, "reg": 1e-5, "num_iters": 3, "batch_size": 4},
            {"learning_rate": "real", "reg": "real", "num_iters": "count", "batch_size": "size"},
        ),
        "SoftmaxClassifier.predict_proba": _on_model(
            lambda: {"X": _X(3)},
            {"X": "array"},
            "predict_proba",
            _fitted(estimators.SoftmaxClassifier, num_iters=3, batch_size=4),
        ),
        "TwoLayerNetClassifier.fit": _plain(
            lambda **a: estimators.TwoLayerNetClassifier(**a).fit(_X(12), _y(12)),
            lambda: {"hidden_size": 5, "learning_rate": 0.1, "num_iters": 3, "batch_size": 4},
            {
                "hidden_size": "size",
                "learning_rate": "real",
                "num_iters": "count",
                "batch_size": "size",
            },
        ),
        "TwoLayerNetClassifier.predict_proba": _on_model(
            lambda: {"X": _X(3)},
            {"X": "array"},
            "predict_proba",
            _fitted(estimators.TwoLayerNetClassifier, hidden_size=5, num_iters=3, batch_size=4),
        ),
        # pictures
        "visualize_grid": _plain(
            vis_utils.visualize_grid,
            lambda: {"Xs": _images(), "ubound": 255.0, "padding": 1},
            {"Xs": "array", "ubound": "real", "padding": "size"},
        ),
        "vis_grid": _plain(vis_utils.vis_grid, lambda: {"Xs": _images()}, {"Xs": "array"}),
        "plots.cross_validation": _plain(
            plots.cross_validation,
            lambda: {"k_to_accuracies": {1: [0.5, 0.6], 3: [0.7, 0.6]}},
            {"k_to_accuracies": "mapping"},
        ),
        "plots.training_history": _plain(
            plots.training_history,
            lambda: {"loss_history": [2.0, 1.0], "train_acc_history": [0.1], "title": "t"},
            {"loss_history": "array", "train_acc_history": "array", "title": "name"},
        ),
        "plots.class_templates": _plain(
            plots.class_templates,
            lambda: {
                "W": _rng().normal(size=(8 * 8 * 3 + 1, 3)),
                "class_names": ["a", "b", "c"],
                "image_shape": (8, 8, 3),
            },
            {"W": "array", "class_names": "sizes", "image_shape": "sizes"},
        ),
        "plots.hyperparameter_grid": _plain(
            plots.hyperparameter_grid,
            lambda: {"results": {(1e-3, 1.0): (0.5, 0.4), (1e-2, 1.0): (0.6, 0.5)}},
            {"results": "mapping"},
        ),
    }
)

# Arguments a call documents that it updates on success (the course's in-place updates): they
# are compared only after a failure, which must leave them as they were.
UPDATED_IN_PLACE = {
    "optim.sgd": {"w", "config"},
    "optim.sgd_momentum": {"config"},
    "optim.rmsprop": {"config"},
    "optim.adam.config": {"config"},
    "layers.batchnorm_forward.bn_param": {"bn_param"},
}

# Public callables the fuzz does not drive, and why (tests/test_fuzz.py checks that every other
# one is a target above).
EXEMPT = {
    "fastvr.current_backend": "takes no arguments",
    "fastvr.warmup": "takes no arguments; tests/test_warmup.py",
    "fastvr.get_working_memory": "takes no arguments",
    "fastvr.save_folder": "takes no arguments",
    "fastvr.get_screening": "takes no arguments",
    "fastvr.Backend": "the description use() returns, read by the caller",
    "fastvr.neighbors.last_screen_stats": "takes no arguments",
    "fastvr.saved.save_folder": "takes no arguments",
    "fastvr.classifiers.linear_classifier.LinearClassifier": "the base class of LinearSVM and "
    "Softmax, driven through them",
    "fastvr.datasets.load_digits": "takes no arguments",
    "fastvr.cli.info": "takes no arguments",
    "fastvr.check.Report": "built by check_package, not by users; its formats are tested in "
    "tests/test_check.py",
    "fastvr.cli.main": "argparse answers bad command lines (exit status 2); tests/test_cli.py",
    "fastvr.demo": "the command's demo: runs minutes of training; driven by tests/test_cli.py",
    "fastvr.speed": "the command's benchmark: timings, not a boundary; tests/test_cli.py",
    "fastvr.data_utils.load_pickle": "fuzzed with damaged files in tests/test_fuzz_files.py",
    "fastvr.tuning.GridResult": "the record the grid functions fill; its fields are read",
    "fastvr.classifiers.neural_net.TwoLayerNet.to_numpy": "takes no arguments",
    "fastvr.ops": "the math layer behind the checked facades (ARCHITECTURE.md), not a boundary",
}
