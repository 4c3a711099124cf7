"""The course's own code, as the solved assignment writes it in plain numpy: the side the
cold-start and per-step benchmarks compare fastvr with. Independent of fastvr (no import
of it); the feature functions and the 2021–2026 net come from the test suite's oracles."""

from __future__ import annotations

import os
import pickle

import numpy as np

from benchmarks.cs231n_plain.layers import affine_forward, relu_forward, softmax_loss
from tests.course_2025 import PlainNet
from tests.oracles import course_color_histogram_hsv as color_histogram_hsv
from tests.oracles import course_hog_feature as hog_feature
from tests.oracles import softmax_loss_loop as softmax_loss_naive
from tests.oracles import softmax_loss_vectorized, svm_loss_vectorized
from tests.oracles import svm_loss_loop as svm_loss_naive

__all__ = [
    "KNearestNeighbor",
    "LinearClassifier",
    "PlainNet",
    "TwoLayerNet",
    "affine_forward",
    "centred_values",
    "color_histogram_hsv",
    "eval_numerical_gradient",
    "extract_features",
    "grad_check_sparse",
    "hog_feature",
    "load_CIFAR10",
    "relu_forward",
    "sgd_step",
    "softmax_loss",
    "softmax_loss_naive",
    "softmax_loss_vectorized",
    "svm_loss_naive",
    "svm_loss_vectorized",
]


def load_CIFAR_batch(filename):
    """The course's loader of one batch (a Python 2 pickle, read as latin-1)."""
    with open(filename, "rb") as f:
        datadict = pickle.load(f, encoding="latin1")
    X = datadict["data"].reshape(10000, 3, 32, 32).transpose(0, 2, 3, 1).astype("float")
    return X, np.array(datadict["labels"])


def load_CIFAR10(ROOT):
    batches = [load_CIFAR_batch(os.path.join(ROOT, f"data_batch_{b}")) for b in range(1, 6)]
    xs, ys = zip(*batches, strict=True)
    Xte, Yte = load_CIFAR_batch(os.path.join(ROOT, "test_batch"))
    return np.concatenate(xs), np.concatenate(ys), Xte, Yte


class KNearestNeighbor:
    """The course's k-NN with the usual solutions of its three distance functions."""

    def train(self, X, y):
        self.X_train, self.y_train = X, y

    def predict(self, X, k=1, num_loops=0):
        dists = (
            self.compute_distances_no_loops,
            self.compute_distances_one_loop,
            self.compute_distances_two_loops,
        )[num_loops](X)
        return self.predict_labels(dists, k=k)

    def compute_distances_two_loops(self, X):
        dists = np.zeros((X.shape[0], self.X_train.shape[0]))
        for i in range(X.shape[0]):
            for j in range(self.X_train.shape[0]):
                dists[i, j] = np.sqrt(np.sum(np.square(X[i] - self.X_train[j])))
        return dists

    def compute_distances_one_loop(self, X):
        dists = np.zeros((X.shape[0], self.X_train.shape[0]))
        for i in range(X.shape[0]):
            dists[i, :] = np.sqrt(np.sum(np.square(self.X_train - X[i]), axis=1))
        return dists

    def compute_distances_no_loops(self, X):
        sq = (
            np.sum(X**2, axis=1)[:, None]
            + np.sum(self.X_train**2, axis=1)[None, :]
            - 2 * X @ self.X_train.T
        )
        return np.sqrt(np.maximum(sq, 0))

    def predict_labels(self, dists, k=1):
        y_pred = np.zeros(dists.shape[0])
        for i in range(dists.shape[0]):
            closest_y = self.y_train[np.argsort(dists[i])[:k]]
            y_pred[i] = np.argmax(np.bincount(closest_y))
        return y_pred


class LinearClassifier:
    """The course's ``LinearClassifier.train`` and ``predict`` (minibatches with replacement)."""

    def __init__(self, loss_fn):
        self.W, self.loss_fn = None, loss_fn

    def train(
        self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, verbose=False
    ):
        num_train, dim = X.shape
        num_classes = np.max(y) + 1
        if self.W is None:
            self.W = 0.001 * np.random.randn(dim, num_classes)
        loss_history = []
        for it in range(num_iters):
            idx = np.random.choice(num_train, batch_size, replace=True)
            loss, grad = self.loss_fn(self.W, X[idx], y[idx], reg)
            loss_history.append(loss)
            self.W -= learning_rate * grad
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:f}")
        return loss_history

    def predict(self, X):
        return np.argmax(X.dot(self.W), axis=1)


class TwoLayerNet:
    """The 2019/2020 ``neural_net.TwoLayerNet``: loss and the minibatch SGD ``train``."""

    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        self.params = {
            "W1": std * np.random.randn(input_size, hidden_size),
            "b1": np.zeros(hidden_size),
            "W2": std * np.random.randn(hidden_size, output_size),
            "b2": np.zeros(output_size),
        }

    def loss(self, X, y=None, reg=0.0):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        N = X.shape[0]
        hidden = np.maximum(0, X.dot(W1) + b1)
        scores = hidden.dot(W2) + b2
        if y is None:
            return scores
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(N), y]).sum() / N
        loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dscores = probs
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads = {"W2": hidden.T.dot(dscores) + 2 * reg * W2, "b2": dscores.sum(axis=0)}
        dhidden = dscores.dot(W2.T) * (hidden > 0)
        grads["W1"] = X.T.dot(dhidden) + 2 * reg * W1
        grads["b1"] = dhidden.sum(axis=0)
        return loss, grads

    def train(
        self,
        X,
        y,
        X_val,
        y_val,
        learning_rate=1e-3,
        learning_rate_decay=0.95,
        reg=5e-6,
        num_iters=100,
        batch_size=200,
        verbose=False,
    ):
        num_train = X.shape[0]
        iterations_per_epoch = max(num_train / batch_size, 1)
        loss_history, train_acc_history, val_acc_history = [], [], []
        for it in range(num_iters):
            idx = np.random.choice(num_train, batch_size, replace=True)
            X_batch, y_batch = X[idx], y[idx]
            loss, grads = self.loss(X_batch, y=y_batch, reg=reg)
            loss_history.append(loss)
            for name in self.params:
                self.params[name] -= learning_rate * grads[name]
            if it % iterations_per_epoch == 0:
                train_acc_history.append((self.predict(X_batch) == y_batch).mean())
                val_acc_history.append((self.predict(X_val) == y_val).mean())
                learning_rate *= learning_rate_decay
        return {
            "loss_history": loss_history,
            "train_acc_history": train_acc_history,
            "val_acc_history": val_acc_history,
        }

    def predict(self, X):
        return np.argmax(self.loss(X), axis=1)


def centred_values(f, x, ix, h):
    """``f(x + h e_ix)`` and ``f(x - h e_ix)`` (copies), ``x`` restored: the course's
    perturbation, written once for its three gradient checks."""
    oldval = x[ix]
    x[ix] = oldval + h
    fxph = np.copy(f(x))
    x[ix] = oldval - h
    fxmh = np.copy(f(x))
    x[ix] = oldval
    return fxph, fxmh


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5):
    """The course's sparse gradient check (prints one line per sampled entry)."""
    for _ in range(num_checks):
        ix = tuple(np.random.randint(m) for m in x.shape)
        fxph, fxmh = centred_values(f, x, ix, h)
        grad_numerical = (fxph - fxmh) / (2 * h)
        grad_analytic = analytic_grad[ix]
        rel_error = abs(grad_numerical - grad_analytic) / (abs(grad_numerical) + abs(grad_analytic))
        print(
            f"numerical: {grad_numerical:f} analytic: {grad_analytic:f}, "
            f"relative error: {rel_error:e}"
        )


def eval_numerical_gradient(f, x, verbose=True, h=0.00001):
    """The course's centred-difference gradient, one entry at a time."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        fxph, fxmh = centred_values(f, x, ix, h)
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def sgd_step(model, X, y, learning_rate):
    """One step of the course's Solver with plain SGD on a minibatch."""
    loss, grads = model.loss(X, y)
    for name, w in model.params.items():
        model.params[name] = w - learning_rate * grads[name]
    return loss


def extract_features(imgs, feature_fns):
    """The course's ``extract_features``: every function on every image, one at a time."""
    first = np.concatenate([np.asarray(fn(imgs[0])).ravel() for fn in feature_fns])
    out = np.zeros((imgs.shape[0], first.size))
    out[0] = first
    for i in range(1, imgs.shape[0]):
        out[i] = np.concatenate([np.asarray(fn(imgs[i])).ravel() for fn in feature_fns])
    return out
