"""The course's ``Solver`` (2021–2026): minibatch training of a model with an update rule.

Same keywords, defaults, random draws and printed lines as the course's, so the same
``np.random`` seed gives the same ``loss_history``, accuracy histories and final parameters:
each step draws ``np.random.choice(num_train, batch_size)`` (with replacement); every epoch
end decays each parameter's learning rate, then measures the accuracy on
``num_train_samples`` training rows (drawn with replacement when there are more) and on the
validation set, and keeps a copy of the parameters with the best validation accuracy, which
are swapped into the model at the end.

Any model with ``params`` and ``loss(X, y=None)`` works, as in the course. fastvr's own
models (:mod:`fastvr.classifiers.fc_net`) with fastvr's update rules take a faster path on
the same numbers: the data are checked once, placed once on the computing device (CuPy's GPU
on the ``"cupy"`` backend or for CuPy data), and the loop never waits on the device per
step: losses stay there until ``loss_history`` is read, when they come back in one transfer.

Examples
--------
>>> import numpy as np
>>> from fastvr.classifiers.fc_net import TwoLayerNet
>>> from fastvr.solver import Solver
>>> rng = np.random.default_rng(0)
>>> data = {"X_train": rng.normal(size=(40, 5)), "y_train": rng.integers(0, 3, 40),
...         "X_val": rng.normal(size=(10, 5)), "y_val": rng.integers(0, 3, 10)}
>>> np.random.seed(0)
>>> solver = Solver(TwoLayerNet(5, 8, 3), data, num_epochs=2, batch_size=10, verbose=False)
>>> solver.train()
>>> len(solver.loss_history), len(solver.val_acc_history)
(8, 3)
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Callable, Mapping
from typing import Any

import array_api_compat
import numpy as np

from . import optim
from ._backend import Placement, placement_with_state, take_rows
from ._training import gather_floats
from ._validation import (
    check_batch,
    check_flag,
    check_int,
    check_labels,
    check_path,
    check_real,
    check_samples,
)
from .classifiers._loss_api import check_labels_fit_weights
from .classifiers.fc_net import _FullyConnected
from .ops.distances import blocks

__all__ = ["Solver"]

DATA_KEYS = ("X_train", "y_train", "X_val", "y_val")


class Solver:
    """Train ``model`` on ``data`` (a dict with ``X_train``, ``y_train``, ``X_val``, ``y_val``).

    Keywords (the course's): ``update_rule`` (``"sgd"``; any name in :mod:`fastvr.optim`, or a
    function ``(w, dw, config) -> (next_w, config)``), ``optim_config`` ({}), ``lr_decay``
    (1.0), ``batch_size`` (100), ``num_epochs`` (10), ``num_train_samples`` (1000),
    ``num_val_samples`` (None: all), ``checkpoint_name`` (None), ``print_every`` (10),
    ``verbose`` (True). Others raise ``ValueError('Unrecognized arguments ...')``.

    Attributes
    ----------
    loss_history, train_acc_history, val_acc_history : list of float
    best_val_acc : float
    best_params : dict
    epoch : int
    """

    def __init__(self, model: Any, data: Mapping[str, Any], **kwargs: Any) -> None:
        if not isinstance(getattr(model, "params", None), dict) or not callable(
            getattr(model, "loss", None)
        ):
            raise TypeError("model must have a dict 'params' and a method 'loss(X, y=None)'")
        if not isinstance(data, Mapping):
            raise TypeError(f"data must be a dict of arrays; got {type(data).__name__}")
        missing = [key for key in DATA_KEYS if key not in data]
        if missing:
            raise ValueError(f"data is missing {', '.join(repr(k) for k in missing)}")
        for x_name, y_name in (("X_train", "y_train"), ("X_val", "y_val")):
            rows, labels = (_length(data[name], name) for name in (x_name, y_name))
            if rows != labels:
                raise ValueError(
                    f"data['{x_name}'] has {rows} rows but data['{y_name}'] has {labels} labels"
                )
        update_rule = kwargs.pop("update_rule", "sgd")
        optim_config = kwargs.pop("optim_config", {})
        lr_decay = check_real(kwargs.pop("lr_decay", 1.0), "lr_decay", low=0.0)
        row = int(np.prod(getattr(data["X_train"], "shape", (0, 1))[1:]))
        batch_size = check_batch(kwargs.pop("batch_size", 100), row, 8)
        num_epochs = check_int(kwargs.pop("num_epochs", 10), "num_epochs", low=0)
        num_train_samples = kwargs.pop("num_train_samples", 1000)
        num_val_samples = kwargs.pop("num_val_samples", None)
        for name, value in (
            ("num_train_samples", num_train_samples),
            ("num_val_samples", num_val_samples),
        ):
            if value is not None:
                check_int(value, name, low=1)
        checkpoint_name = _checkpoint_name(kwargs.pop("checkpoint_name", None))
        print_every = check_int(kwargs.pop("print_every", 10), "print_every", low=1)
        verbose = check_flag(kwargs.pop("verbose", True), "verbose")
        if len(kwargs) > 0:
            extra = ", ".join(f'"{k}"' for k in kwargs)
            raise ValueError(f"Unrecognized arguments {extra}")
        if not isinstance(optim_config, dict):
            raise TypeError(f"optim_config must be a dict; got {type(optim_config).__name__}")
        if not callable(update_rule):
            if not isinstance(update_rule, str) or update_rule not in optim.__all__:
                raise ValueError(f'Invalid update_rule "{update_rule}"')
            update_rule = getattr(optim, update_rule)
        if getattr(update_rule, "__module__", None) == optim.__name__:
            optim.warn_unknown_keys(update_rule.__name__, optim_config)  # here, not mid-run

        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule: Callable = update_rule
        self.optim_config = optim_config
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.num_epochs = num_epochs
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.checkpoint_name = checkpoint_name
        self.print_every = print_every
        self.verbose = verbose
        self._run: tuple[Placement, dict[str, Any]] | None = None  # set while training fast
        self._reset()

    # -- histories: losses may wait on the device until someone reads them ----------------

    @property
    def loss_history(self) -> list[float]:
        if self._pending_losses:
            self._loss_history.extend(gather_floats(self._pending_losses, self._pending_xp))
            self._pending_losses = []
        return self._loss_history

    @loss_history.setter
    def loss_history(self, values: list) -> None:
        self._loss_history, self._pending_losses = list(values), []

    def _reset(self) -> None:
        """Book-keeping: epochs, histories, best parameters, a config per parameter."""
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params: dict[str, Any] = {}
        self.loss_history = []
        self._pending_xp: Any = None
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    # -- training ------------------------------------------------------------------------

    def _fast(self) -> bool:
        """fastvr's own model and update rule: checked once, placed once, no per-step sync."""
        model = self.model
        return (
            isinstance(model, _FullyConnected)
            and type(model).loss is _FullyConnected.loss
            and getattr(self.update_rule, "__module__", None) == optim.__name__
        )

    def _placed_data(self) -> tuple[Placement, dict[str, Any]]:
        """The data checked, flattened and on the computing device; the model's parameters
        moved there and cast to the computing dtype (once per ``train``)."""
        model = self.model
        place = placement_with_state(
            self.X_train, self.y_train, self.X_val, self.y_val, state=tuple(model.params.values())
        )
        xp = place.xp
        placed = {}
        for x_name, y_name in (("X_train", "y_train"), ("X_val", "y_val")):
            X = getattr(self, x_name)
            X = check_samples(X, x_name, place, ndim=max(getattr(X, "ndim", 2), 2), products=False)
            X = xp.reshape(X, (X.shape[0], -1))
            y = check_labels(getattr(self, y_name), y_name, X.shape[0], place)
            check_labels_fit_weights(
                y, model._num_classes(), xp=xp, name=y_name, holder="the network has {} outputs"
            )
            placed[x_name], placed[y_name] = X, y
        dim = model.params["W1"].shape[0]
        if placed["X_train"].shape[1] != dim:
            raise ValueError(
                f"X_train has {placed['X_train'].shape[1]} values per sample but W1 has {dim} rows"
            )
        return place, placed

    def _step(self) -> None:
        """One update: a minibatch, its loss and gradients, the update rule per parameter."""
        num_train = self.X_train.shape[0]
        batch_mask = np.random.choice(num_train, self.batch_size)
        if self._run is None:
            loss, grads = self.model.loss(self.X_train[batch_mask], self.y_train[batch_mask])
            self.loss_history.append(loss)
        else:
            place, data = self._run
            xp = place.xp
            rows = place.put(batch_mask)
            X_batch = take_rows(data["X_train"], rows, xp=xp)
            X_batch = xp.astype(
                X_batch, self.model._compute_dtype(X_batch, self.model.params, xp), copy=False
            )
            loss, grads = self.model._loss_and_grads(
                X_batch, take_rows(data["y_train"], rows, xp=xp), self.model.params, xp=xp
            )
            self._pending_losses.append(loss)
            self._pending_xp = xp
        for p, w in self.model.params.items():
            next_w, next_config = self.update_rule(w, grads[p], self.optim_configs[p])
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config

    def _save_checkpoint(self) -> None:
        if self.checkpoint_name is None:
            return
        checkpoint = {
            "model": self.model,
            "update_rule": self.update_rule,
            "lr_decay": self.lr_decay,
            "optim_config": self.optim_config,
            "batch_size": self.batch_size,
            "num_train_samples": self.num_train_samples,
            "num_val_samples": self.num_val_samples,
            "epoch": self.epoch,
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
        }
        filename = f"{self.checkpoint_name}_epoch_{self.epoch}.pkl"
        if self.verbose:
            print(f'Saving checkpoint to "{filename}"')
        with open(filename, "wb") as f:
            pickle.dump(checkpoint, f)

    def check_accuracy(
        self, X: Any, y: Any, num_samples: int | None = None, batch_size: int = 100
    ) -> float:
        """The model's accuracy on ``X``, ``y``: on ``num_samples`` rows drawn with
        ``np.random.choice`` (with replacement) when there are more, scored ``batch_size``
        rows at a time.

        Examples
        --------
        >>> import numpy as np
        >>> from fastvr.classifiers.fc_net import TwoLayerNet
        >>> from fastvr.solver import Solver
        >>> X, y = np.eye(3), np.array([0, 1, 2])
        >>> model = TwoLayerNet(3, 4, 3)
        >>> model.params["W2"][:] = 0
        >>> model.params["b2"][:] = [1.0, 0.0, 0.0]  # always predicts class 0
        >>> data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
        >>> round(Solver(model, data).check_accuracy(X, y), 4)
        0.3333
        """
        if num_samples is not None:
            check_int(num_samples, "num_samples", low=1)
        check_int(batch_size, "batch_size", low=1)
        N = _length(X, "X")
        if _length(y, "y") != N:
            raise ValueError(f"y has {_length(y, 'y')} labels but X has {N} rows")
        mask = None
        if num_samples is not None and num_samples < N:
            mask = np.random.choice(N, num_samples)
        if self._run is not None and (X is self.X_train or X is self.X_val):
            return self._placed_accuracy(X is self.X_train, mask, batch_size)
        if mask is not None:
            X, y = X[mask], y[mask]
        y_pred = []
        for part in blocks(X.shape[0], batch_size):
            scores = self.model.loss(X[part])
            y_pred.append(array_api_compat.array_namespace(scores).argmax(scores, axis=1))
        xp = array_api_compat.array_namespace(y_pred[0])
        return float(xp.mean(xp.astype(xp.concat(y_pred) == y, xp.float64)))

    def _placed_accuracy(self, training: bool, mask: Any, batch_size: int) -> float:
        place, data = self._run
        xp = place.xp
        X, y = (data["X_train"], data["y_train"]) if training else (data["X_val"], data["y_val"])
        if mask is not None:
            rows = place.put(mask)
            X, y = take_rows(X, rows, xp=xp), take_rows(y, rows, xp=xp)
        hits = []
        for part in blocks(X.shape[0], batch_size):
            rows = X[part, ...]
            dtype = self.model._compute_dtype(rows, self.model.params, xp)
            scores = self.model._scores(
                xp.astype(rows, dtype, copy=False), self.model.params, xp=xp
            )
            hits.append(xp.argmax(scores, axis=1) == y[part])
        return float(xp.mean(xp.astype(xp.concat(hits), xp.float64)))

    def train(self) -> None:
        """Run the optimisation: ``num_epochs`` epochs of ``num_train // batch_size`` steps."""
        self._run = None
        if self._fast():
            place, data = self._placed_data()  # every check before anything changes
            xp = place.xp
            params = {k: place.put(v) for k, v in self.model.params.items()}
            dtype = self.model._compute_dtype(data["X_train"], params, xp)
            self.model.params = {k: xp.astype(v, dtype, copy=False) for k, v in params.items()}
            self._run = (place, data)
        try:
            with self._run[0].active() if self._run else contextlib.nullcontext():
                self._train_loop()
        finally:
            self._run = None

    def _train_loop(self) -> None:
        num_train = self.X_train.shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        for t in range(num_iterations):
            self._step()
            if self.verbose and t % self.print_every == 0:
                print(
                    f"(Iteration {t + 1} / {num_iterations}) loss: {float(self.loss_history[-1]):f}"
                )
            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                for k in self.optim_configs:
                    self.optim_configs[k]["learning_rate"] *= self.lr_decay
            if t == 0 or t == num_iterations - 1 or epoch_end:
                train_acc = self.check_accuracy(
                    self.X_train, self.y_train, num_samples=self.num_train_samples
                )
                val_acc = self.check_accuracy(
                    self.X_val, self.y_val, num_samples=self.num_val_samples
                )
                self.train_acc_history.append(train_acc)
                self.val_acc_history.append(val_acc)
                self._save_checkpoint()
                if self.verbose:
                    print(
                        f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; "
                        f"val_acc: {val_acc:f}"
                    )
                if val_acc > self.best_val_acc:
                    self.best_val_acc = val_acc
                    self.best_params = {k: _copy(v) for k, v in self.model.params.items()}
        if self.best_params:  # (the course would leave {} when no epoch beat accuracy 0)
            self.model.params = self.best_params


def _length(x: Any, name: str) -> int:
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) == 0:
        raise TypeError(f"data['{name}'] must be an array; got {type(x).__name__}")
    return int(shape[0])


def _copy(x: Any) -> Any:
    return array_api_compat.array_namespace(x).asarray(x, copy=True)


def _checkpoint_name(name: Any) -> str | None:
    """``checkpoint_name`` checked before any training: its folder must exist and be
    writable (the course's Solver found out after the first epoch)."""
    if name is None:
        return None
    name = check_path(name, "checkpoint_name")
    folder = os.path.dirname(name) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"checkpoint_name {name!r}: the folder {os.path.abspath(folder)} does not exist "
            "(create it first; checkpoints are written there after every epoch)"
        )
    if not os.access(folder, os.W_OK):
        raise PermissionError(
            f"checkpoint_name {name!r}: the folder {os.path.abspath(folder)} is not writable"
        )
    return name
