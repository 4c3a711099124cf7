"""Oracles for the 2021–2026 course framework, written here from the course's description
(shared/course/cs231n-a1-2021-2026.md §2.4–2.8) in plain numpy: a fully connected net and the
course's Solver loop, independent of fastvr's code."""

from __future__ import annotations

import numpy as np


class PlainNet:
    """affine-ReLU x (L-1) - affine - softmax in plain numpy, the course's parameter draws."""

    def __init__(self, dims, weight_scale, reg=0.0, dtype=np.float64):
        self.params, self.reg, self.dtype = {}, reg, dtype
        self.num_layers = len(dims) - 1
        for i in range(1, len(dims)):
            self.params[f"W{i}"] = weight_scale * np.random.randn(dims[i - 1], dims[i])
            self.params[f"b{i}"] = np.zeros(dims[i])
        self.params = {k: v.astype(dtype) for k, v in self.params.items()}

    def loss(self, X, y=None):
        X = X.astype(self.dtype).reshape(X.shape[0], -1)
        hs = [X]
        for i in range(1, self.num_layers):
            hs.append(np.maximum(0, hs[-1].dot(self.params[f"W{i}"]) + self.params[f"b{i}"]))
        L = self.num_layers
        scores = hs[-1].dot(self.params[f"W{L}"]) + self.params[f"b{L}"]
        if y is None:
            return scores
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        n = X.shape[0]
        loss = -np.log(probs[np.arange(n), y]).sum() / n
        dout = probs.copy()
        dout[np.arange(n), y] -= 1
        dout /= n
        grads = {}
        for i in range(L, 0, -1):
            W = self.params[f"W{i}"]
            loss += 0.5 * self.reg * np.sum(W * W)
            grads[f"W{i}"] = hs[i - 1].T.dot(dout) + self.reg * W
            grads[f"b{i}"] = dout.sum(axis=0)
            dout = dout.dot(W.T) * (hs[i - 1] > 0)
        return loss, grads


def sgd(w, dw, config):
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def adam(w, dw, config):
    for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999)):
        config.setdefault(key, value)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    config["t"] += 1
    b1, b2, t = config["beta1"], config["beta2"], config["t"]
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * dw**2
    m_hat, v_hat = config["m"] / (1 - b1**t), config["v"] / (1 - b2**t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


def course_solver(model, data, update_rule, optim_config, lr_decay, batch_size, num_epochs,
                  num_train_samples=1000, num_val_samples=None):  # fmt: skip
    """The course's Solver.train loop; returns the three histories (model trained in place)."""
    configs = {p: dict(optim_config) for p in model.params}
    loss_history, train_acc, val_acc = [], [], []
    best_val, best_params = 0, {}

    def accuracy(X, y, num_samples):
        N = X.shape[0]
        if num_samples is not None and num_samples < N:
            mask = np.random.choice(N, num_samples)
            X, y = X[mask], y[mask]
        y_pred = [np.argmax(model.loss(X[s : s + 100]), axis=1) for s in range(0, len(X), 100)]
        return np.mean(np.hstack(y_pred) == y)

    num_train = data["X_train"].shape[0]
    per_epoch = max(num_train // batch_size, 1)
    total = num_epochs * per_epoch
    for t in range(total):
        mask = np.random.choice(num_train, batch_size)
        loss, grads = model.loss(data["X_train"][mask], data["y_train"][mask])
        loss_history.append(loss)
        for p, w in model.params.items():
            model.params[p], configs[p] = update_rule(w, grads[p], configs[p])
        epoch_end = (t + 1) % per_epoch == 0
        if epoch_end:
            for c in configs.values():
                c["learning_rate"] *= lr_decay
        if t == 0 or t == total - 1 or epoch_end:
            train_acc.append(accuracy(data["X_train"], data["y_train"], num_train_samples))
            val_acc.append(accuracy(data["X_val"], data["y_val"], num_val_samples))
            if val_acc[-1] > best_val:
                best_val = val_acc[-1]
                best_params = {k: v.copy() for k, v in model.params.items()}
    model.params = best_params
    return loss_history, train_acc, val_acc
