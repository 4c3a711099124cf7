"""The 2021–2026 course's ``fc_net.py``: ``TwoLayerNet`` and ``FullyConnectedNet``."""

from __future__ import annotations

import numpy as np

from .. import _saving
from ..layer_utils import *  # noqa: F403 - the course's star exports
from ..layers import *  # noqa: F403
from ..layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
)


class _Saved:
    def save(self, fname):
        _saving.save(fname, self.params)

    def load(self, fname):
        params = _saving.load(fname)
        if params is None:
            return False
        self.params = params
        return True


class TwoLayerNet(_Saved):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3,
                 reg=0.0):  # fmt: skip
        self.reg = reg
        self.params = {
            "W1": weight_scale * np.random.randn(input_dim, hidden_dim),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b2": np.zeros(num_classes),
        }

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        a, fc1 = affine_forward(X, W1, b1)
        h, relu = relu_forward(a)
        scores, fc2 = affine_forward(h, W2, b2)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dh, dW2, db2 = affine_backward(dscores, fc2)
        _, dW1, db1 = affine_backward(relu_backward(dh, relu), fc1)
        grads = {"W1": dW1 + self.reg * W1, "b1": db1, "W2": dW2 + self.reg * W2, "b2": db2}
        return loss, grads


class FullyConnectedNet(_Saved):
    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32,
                 seed=None):  # fmt: skip
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        dims = [input_dim, *hidden_dims, num_classes]
        for i in range(1, self.num_layers + 1):
            self.params[f"W{i}"] = weight_scale * np.random.randn(dims[i - 1], dims[i])
            self.params[f"b{i}"] = np.zeros(dims[i])
            if normalization and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(dims[i])
                self.params[f"beta{i}"] = np.zeros(dims[i])
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params = []
        if normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
        caches, h = [], X
        for i in range(1, self.num_layers):
            h, fc = affine_forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            bn = None
            if self.normalization == "batchnorm":
                h, bn = batchnorm_forward(h, self.params[f"gamma{i}"], self.params[f"beta{i}"],
                                          self.bn_params[i - 1])  # fmt: skip
            h, relu = relu_forward(h)
            drop = None
            if self.use_dropout:
                h, drop = dropout_forward(h, self.dropout_param)
            caches.append((fc, bn, relu, drop))
        L = self.num_layers
        scores, last = affine_forward(h, self.params[f"W{L}"], self.params[f"b{L}"])
        if mode == "test":
            return scores
        loss, dout = softmax_loss(scores, y)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dout, last)
        for i in range(L - 1, 0, -1):
            fc, bn, relu, drop = caches[i - 1]
            if drop is not None:
                dout = dropout_backward(dout, drop)
            dout = relu_backward(dout, relu)
            if bn is not None:
                dout, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(dout, bn)
            dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, fc)
        for i in range(1, L + 1):
            W = self.params[f"W{i}"]
            loss += 0.5 * self.reg * np.sum(W * W)
            grads[f"W{i}"] += self.reg * W
        return loss, grads
