"""Model selection beyond the course's loops: cross-validation over every k from one distance
pass, and hyper-parameter grids (linear classifiers, the two-layer net) trained in one batched
run, in one process or split over Dask workers."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _dask, _search
from ._backend import (
    blas_ready,
    placement_for,
    take_nd,
    take_rows,
    to_numpy,
)
from ._training import GridRun, grid_inputs, minibatches
from ._validation import (
    check_fits,
    check_int,
    check_labels,
    check_real,
    check_samples,
)
from .classifiers import LinearSVM, Softmax, TwoLayerNet
from .ops.losses import grouped_linear_loss, hinge_loss, softmax_cross_entropy
from .ops.neighbors import vote
from .ops.nets import grouped_two_layer_loss, grouped_two_layer_scores


def cross_validate_k(
    X: Any,
    y: Any,
    k_choices: Sequence[int],
    num_folds: int = 5,
    *,
    metric: str = "l2",
    working_memory: float | None = None,
) -> dict[int, list[float]]:
    """The course's ``k_to_accuracies``: accuracy of k-NN on every fold for every k.

    Folds are ``np.array_split`` of the rows in order, as in the course. Each fold's
    distances are computed once, its ``max(k_choices)`` nearest neighbours kept (streamed in
    bounded memory), and every k is scored from that one selection: the k nearest are the
    first k of the ``max(k)`` nearest under the course's tie rules (lower training index
    first; vote ties to the smaller label), so the result equals running
    ``KNearestNeighbor.train`` and ``predict(k=k)`` per fold and per k. ``X`` (and ``y``)
    may be Dask arrays: each fold's blocks are searched against every chunk, the fold's own
    rows left out, all folds in one Dask computation.

    Parameters
    ----------
    X : array (N, D)
    y : array (N,) of integer labels
    k_choices : sequence of int
    num_folds : int
    metric : {"l2", "l1"}
    working_memory : float, optional
        MiB for the temporary distance block.

    Returns
    -------
    dict
        ``k -> list of num_folds accuracies`` (Python floats).

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.tuning import cross_validate_k
    >>> X = np.repeat(np.arange(10.0), 3)[:, None]
    >>> y = (X[:, 0] > 4).astype(int)
    >>> acc = cross_validate_k(X, y, [1, 3], num_folds=3)
    >>> sorted(acc), len(acc[1])
    ([1, 3], 3)
    """
    metric = _search.check_metric(metric)
    if _dask.any_dask(X, y):
        _dask.require_dask("cross_validate_k on Dask arrays")
        X = _dask.check_dask_samples(X, "X") if _dask.is_dask(X) else X
        folds, ks = _folds(X.shape[0], num_folds, k_choices)
        return _dask.cross_validate_k(X, y, ks, folds, metric, working_memory)
    place = placement_for(X, y)
    X = check_samples(X, "X", place, products=False)  # folds are gathered copies
    y = check_labels(y, "y", X.shape[0], place)
    folds, ks = _folds(X.shape[0], num_folds, k_choices)
    k_max = max(ks)
    xp = place.xp
    # Screened (float64 L2): one screen of all rows, each fold's training rows gathered from
    # it; otherwise each fold prepares its own reference.
    shared = None
    if _search.wants_screen(place, metric, X.dtype, X.size):
        shared = _search.build_index(X, place, metric).screen()
    with place.active():
        classes, codes = xp.unique_inverse(y)
        accuracies: dict[int, list[float]] = {k: [] for k in ks}
        for fold in folds:
            train_rows = place.put(np.setdiff1d(np.arange(X.shape[0]), fold))
            test_rows = place.put(fold)
            queries = take_rows(X, test_rows, xp=xp)
            if shared is not None:
                fold_screen = shared.rows_of(train_rows, xp=xp)
                _, nearest = _search.screened_query(
                    queries, fold_screen, k_max, xp=xp, working_memory=working_memory
                )
            else:
                index = _search.build_index(take_rows(X, train_rows, xp=xp), place, metric)
                _, nearest = _search.query(
                    queries, index, k_max, working_memory=working_memory, squared=True
                )
            train_codes = take_rows(codes, train_rows, xp=xp)
            neighbor_codes = take_nd(train_codes, nearest, xp=xp)
            truth = take_rows(codes, test_rows, xp=xp)
            for k in ks:
                predicted = vote(neighbor_codes[:, :k], classes.shape[0], xp=xp)
                accuracies[k].append(xp.mean(xp.astype(predicted == truth, xp.float64)))
        return {k: [float(v) for v in to_numpy(xp.stack(vals))] for k, vals in accuracies.items()}


def _folds(n: int, num_folds: Any, k_choices: Sequence[int]) -> tuple[list, list[int]]:
    """The course's folds of ``n`` rows (``np.array_split`` in order) and the checked ks."""
    num_folds = check_int(num_folds, "num_folds", low=2, high=n)
    if len(k_choices) == 0:
        raise ValueError("k_choices must hold at least one k")
    folds = np.array_split(np.arange(n), num_folds)
    smallest_train = n - max(len(f) for f in folds)
    return folds, [check_int(k, "k_choices[...]", low=1, high=smallest_train) for k in k_choices]


@dataclass
class GridResult:
    """What a hyper-parameter grid produced, in the course's layout and more.

    Attributes
    ----------
    results : dict
        ``results[(lr, reg)] = (train_accuracy, val_accuracy)``, as the course builds it.
    histories : dict
        ``(lr, reg) -> loss history`` (list of floats).
    models : dict
        ``(lr, reg) -> trained model`` (a LinearSVM or Softmax with its ``W``).
    diverged : set
        Combinations whose loss stopped being finite (their accuracies are still reported).
    best_params : tuple
        The ``(lr, reg)`` with the best validation accuracy among those that did not diverge.
    stats : dict
        ``(lr, reg) -> {"loss_history", "train_acc_history", "val_acc_history"}`` for
        two-layer grids (empty for linear ones).

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.tuning import train_linear_grid
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 5)), rng.integers(0, 3, 60)
    >>> grid = train_linear_grid("svm", X, y, X, y, [1e-3, 1e-2], [0.0, 0.1], num_iters=20)
    >>> sorted(grid.results) == sorted(grid.models) and grid.best_params in grid.results
    True
    """

    results: dict[tuple[float, float], tuple[float, float]]
    histories: dict[tuple[float, float], list[float]]
    models: dict[tuple[float, float], Any]
    diverged: set[tuple[float, float]] = field(default_factory=set)
    best_params: tuple[float, float] | None = None
    stats: dict[tuple[float, float], dict[str, list[float]]] = field(default_factory=dict)

    def add(
        self, combo: tuple[float, float], model: Any, history: Any, train_acc: float, val_acc: float
    ) -> None:
        """Record one combination's trained model, loss history and accuracies."""
        self.models[combo] = model
        self.histories[combo] = [float(v) for v in history]
        self.results[combo] = (float(train_acc), float(val_acc))
        if not np.all(np.isfinite(self.histories[combo])):
            self.diverged.add(combo)

    def choose_best(self) -> None:
        """Set ``best_params``: the best validation accuracy among non-diverged combinations."""
        healthy = [c for c in self.results if c not in self.diverged]
        self.best_params = max(healthy, key=lambda c: self.results[c][1]) if healthy else None

    @property
    def best_model(self) -> Any:
        return None if self.best_params is None else self.models[self.best_params]

    @property
    def best_val(self) -> float:
        return -1.0 if self.best_params is None else self.results[self.best_params][1]


def train_linear_grid(
    model: str | type,
    X: Any,
    y: Any,
    X_val: Any,
    y_val: Any,
    learning_rates: Sequence[float],
    regularization_strengths: Sequence[float],
    num_iters: int = 1500,
    batch_size: int = 200,
    *,
    parts: int | None = None,
) -> GridResult:
    """Train every learning-rate x regularisation combination of a linear classifier at once.

    All combinations share the initial weights ``0.001 * np.random.randn(D, C)`` and the
    minibatch sequence, drawn once from numpy's global random state; their weights sit side
    by side, so each step is two matrix products for the whole grid. The result equals
    training the combinations one by one, each after the same ``np.random.seed``, to
    rounding. A combination that diverges is marked in ``diverged``; the others are unaffected.

    Parameters
    ----------
    model : {"svm", "softmax"} or LinearSVM / Softmax
    X, y : training data (N, D) and labels (N,)
    X_val, y_val : validation data and labels
    learning_rates, regularization_strengths : sequences of float
    num_iters, batch_size : int
    parts : int, optional
        Split the combinations into this many Dask tasks (``pip install 'fastvr[dask]'``),
        each a batched run of its share on the caller's scheduler; Dask inputs alone split
        the grid one share per worker. Initial weights and minibatches are drawn here, as
        one run draws them, so the result is the one-run result (to the rounding of
        products of another width).

    Returns
    -------
    GridResult

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.tuning import train_linear_grid
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 5)), rng.integers(0, 3, 60)
    >>> np.random.seed(0)
    >>> grid = train_linear_grid("svm", X, y, X, y, [1e-3, 1e-2], [0.0, 1.0], num_iters=20,
    ...                          batch_size=10)
    >>> sorted(grid.results) == [(0.001, 0.0), (0.001, 1.0), (0.01, 0.0), (0.01, 1.0)]
    True
    """
    kinds = {"svm": LinearSVM, "softmax": Softmax, LinearSVM: LinearSVM, Softmax: Softmax}
    if model not in kinds:
        raise ValueError(f"model must be 'svm', 'softmax', LinearSVM or Softmax; got {model!r}")
    cls = kinds[model]
    loss_name = "svm" if cls is LinearSVM else "softmax"
    combos = _combos(learning_rates, regularization_strengths)
    X, y, X_val, y_val, parts = _split_inputs(X, y, X_val, y_val, parts, len(combos))
    run = grid_inputs(X, y, X_val, y_val, combos, num_iters, batch_size)
    xp = run.place.xp
    W0 = 0.001 * np.random.randn(run.X.shape[1], run.num_classes)
    W, history, train_acc, val_acc = _trained(
        run, parts, W0, (loss_name,), _linear_core, _linear_share
    )
    if parts is not None:
        W = np.moveaxis(W, 0, 1)  # the shares put the combinations first
    result = GridResult({}, {}, {})
    for i, combo in enumerate(combos):
        trained = cls()
        trained.W = xp.asarray(W[:, i, :], copy=True)  # each model owns its weights
        result.add(combo, trained, history[i], train_acc[i], val_acc[i])
    result.choose_best()
    return result


def _linear_core(run: GridRun, W0: np.ndarray, batches: Any, loss_name: str) -> tuple:
    """Train a grid run's linear models from ``W0`` on ``batches`` (device row indices):
    weights ``(D, G, C)`` on the device, loss histories ``(G, iterations)``, training and
    validation accuracies ``(G,)`` on the host."""
    data_loss = hinge_loss if loss_name == "svm" else softmax_cross_entropy
    place, X, y = run.place, run.X, run.y
    xp = place.xp
    g = len(run.combos)
    with place.active():
        W = xp.astype(xp.stack([place.put(W0)] * g, axis=1), X.dtype)  # (D, G, C)
        rates, regs = run.rates, run.regs
        losses = []
        with np.errstate(over="ignore", invalid="ignore"):
            for rows in batches:
                loss, dW = grouped_linear_loss(
                    W, take_rows(X, rows, xp=xp), take_rows(y, rows, xp=xp), regs, data_loss, xp=xp
                )
                losses.append(loss)
                W -= rates[None, :, None] * dW
            train_acc = to_numpy(_grouped_accuracy(blas_ready(X, xp=xp), y, W, xp))
            val_acc = to_numpy(_grouped_accuracy(run.X_val, run.y_val, W, xp))
        history = to_numpy(xp.stack(losses, axis=1)) if losses else np.zeros((g, 0))
    return W, history, train_acc, val_acc


def _trained(
    run: GridRun, parts: int | None, start: Any, extra: tuple, core: Any, share: Any
) -> tuple:
    """``core(run, start, batches, *extra)`` here, or ``parts`` Dask tasks of ``share``."""
    if parts is None:
        batches = minibatches(run.place, run.X.shape[0], run.batch_size, run.num_iters)
        return core(run, start, batches, *extra)
    return _dask.train_shares(share, run, parts, start, extra)


def _linear_share(run: GridRun, W0: np.ndarray, batch_rows: np.ndarray, loss_name: str) -> tuple:
    """One worker's share of a linear grid (see :func:`fastvr._dask.train_shares`)."""
    W, history, train_acc, val_acc = _linear_core(
        run, W0, _dask.batches_on(run.place, batch_rows), loss_name
    )
    return np.moveaxis(to_numpy(W), 1, 0), history, train_acc, val_acc


def _combos(
    learning_rates: Sequence[float], regularization_strengths: Sequence[float]
) -> list[tuple[float, float]]:
    """The grid's (lr, reg) combinations, checked, learning rate major (the course's loops)."""
    combos = [
        (
            check_real(lr, "learning_rates[...]"),
            check_real(reg, "regularization_strengths[...]", low=0.0),
        )
        for lr in learning_rates
        for reg in regularization_strengths
    ]
    if not combos:
        raise ValueError("learning_rates and regularization_strengths must not be empty")
    return combos


def _split_inputs(X: Any, y: Any, X_val: Any, y_val: Any, parts: Any, n_combos: int) -> tuple:
    """A grid's inputs in memory and how many Dask tasks share its combinations: ``parts``
    when given, else one per worker when an input is a Dask array, else None (one run here)."""
    if parts is None and not _dask.any_dask(X, y, X_val, y_val):
        return X, y, X_val, y_val, None
    _dask.require_dask("a grid split across Dask workers (parts=...)")
    if parts is not None:
        parts = check_int(parts, "parts", low=1)
    X, y, X_val, y_val = _dask.in_memory(X, y, X_val, y_val)  # every worker trains on all of it
    return X, y, X_val, y_val, min(parts or _dask.worker_count(), n_combos)


def _accuracy_per_model(scores: Any, y: Any, xp: Any) -> Any:
    """Accuracy of each of G models from their scores (N, G, C): a (G,) device array."""
    return xp.mean(xp.astype(xp.argmax(scores, axis=2) == y[:, None], xp.float64), axis=0)


def _grouped_accuracy(X: Any, y: Any, W: Any, xp: Any) -> Any:
    """Accuracy of each of the G linear models in ``W`` (D, G, C) on ``X``."""
    d, g, c = W.shape
    scores = xp.reshape(X @ xp.reshape(W, (d, g * c)), (X.shape[0], g, c))
    return _accuracy_per_model(scores, y, xp)


def train_two_layer_grid(
    X: Any,
    y: Any,
    X_val: Any,
    y_val: Any,
    hidden_size: int,
    learning_rates: Sequence[float],
    regularization_strengths: Sequence[float],
    num_iters: int = 1000,
    batch_size: int = 200,
    learning_rate_decay: float = 0.95,
    std: float = 1e-4,
    *,
    parts: int | None = None,
) -> GridResult:
    """Train every learning-rate x regularisation combination of a ``TwoLayerNet`` at once.

    All combinations share the initial parameters (``W1`` then ``W2`` from numpy's global
    random state, as ``TwoLayerNet(D, hidden_size, C, std)`` draws them) and the minibatch
    sequence. The first layers of all nets are one matrix product per step; the second layers
    a batched one. The result equals, for each combination, ``np.random.seed(s)`` then
    ``TwoLayerNet(...).train(...)`` with the same seed, to rounding; learning rates decay per
    epoch exactly as in ``train``. ``GridResult.histories`` holds the loss histories and
    ``models`` the trained nets (their ``train``-style stats in ``stats``). ``parts`` splits
    the grid across Dask workers, as in :func:`train_linear_grid`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.tuning import train_two_layer_grid
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 5)), rng.integers(0, 3, 60)
    >>> np.random.seed(0)
    >>> grid = train_two_layer_grid(X, y, X, y, 8, [1e-2, 1e-1], [1e-3], num_iters=20,
    ...                             batch_size=10)
    >>> len(grid.results), len(grid.stats[(0.1, 0.001)]["val_acc_history"])
    (2, 4)
    """
    decay = check_real(learning_rate_decay, "learning_rate_decay")
    hidden_size = check_int(hidden_size, "hidden_size", low=1)
    combos = _combos(learning_rates, regularization_strengths)
    X, y, X_val, y_val, parts = _split_inputs(X, y, X_val, y_val, parts, len(combos))
    run = grid_inputs(X, y, X_val, y_val, combos, num_iters, batch_size)
    g = len(combos)
    check_fits(
        8 * g * hidden_size * (run.X.shape[1] + run.num_classes + run.batch_size),
        f"hidden_size = {hidden_size} for the grid's nets",
    )
    # Draws W1 then W2, as one by one would; the trained nets below are copies of it.
    template = TwoLayerNet(run.X.shape[1], hidden_size, run.num_classes, std=std)
    start = {name: to_numpy(value) for name, value in template.params.items()}
    params, gathered, final_train, final_val = _trained(
        run, parts, start, (decay,), _two_layer_core, _two_layer_share
    )
    if parts is not None:
        params["W1"] = np.moveaxis(params["W1"], 0, 1)  # the shares put the combinations first
    xp = run.place.xp
    result = GridResult({}, {}, {})
    for i, combo in enumerate(combos):
        net = copy.copy(template)  # no fresh random draws: the parameters are replaced
        net.params = {
            "W1": xp.asarray(params["W1"][:, i, :], copy=True),
            "b1": xp.asarray(params["b1"][i, :], copy=True),
            "W2": xp.asarray(params["W2"][i, ...], copy=True),
            "b2": xp.asarray(params["b2"][i, :], copy=True),
        }
        result.add(combo, net, gathered[0][i], final_train[i], final_val[i])
        result.stats[combo] = {
            "loss_history": result.histories[combo],
            "train_acc_history": [float(v) for v in gathered[1][i]],
            "val_acc_history": [float(v) for v in gathered[2][i]],
        }
    result.choose_best()
    return result


def _two_layer_core(run: GridRun, start: dict, batches: Any, decay: float) -> tuple:
    """Train a grid run's two-layer nets from the parameters ``start`` on ``batches``:
    parameters (``W1`` ``(D, G, H)``, the others ``(G, ...)``) on the device; loss, training
    and validation accuracy histories ``(G, ...)`` and final accuracies ``(G,)`` on the host."""
    place, X, y, X_val, y_val = run.place, run.X, run.y, run.X_val, run.y_val
    xp = place.xp
    g = len(run.combos)
    iterations_per_epoch = max(X.shape[0] / run.batch_size, 1)
    with place.active():
        start = {k: xp.astype(place.put(v), X.dtype) for k, v in start.items()}
        params = {
            "W1": xp.stack([start["W1"]] * g, axis=1),
            "b1": xp.stack([start["b1"]] * g, axis=0),
            "W2": xp.stack([start["W2"]] * g, axis=0),
            "b2": xp.stack([start["b2"]] * g, axis=0),
        }
        rates, regs = run.rates, run.regs
        shapes = {"W1": (1, g, 1), "b1": (g, 1), "W2": (g, 1, 1), "b2": (g, 1)}
        losses, train_acc, val_acc = [], [], []

        def accuracy(Xs: Any, ys: Any) -> Any:
            return _accuracy_per_model(grouped_two_layer_scores(Xs, params, xp=xp)[0], ys, xp)

        with np.errstate(over="ignore", invalid="ignore"):
            for it, rows in enumerate(batches):
                X_batch, y_batch = take_rows(X, rows, xp=xp), take_rows(y, rows, xp=xp)
                loss, grads = grouped_two_layer_loss(X_batch, y_batch, params, regs, xp=xp)
                losses.append(loss)
                for name, shape in shapes.items():
                    params[name] -= xp.reshape(rates, shape) * grads[name]
                if it % iterations_per_epoch == 0:
                    train_acc.append(accuracy(X_batch, y_batch))
                    val_acc.append(accuracy(X_val, y_val))
                    rates = rates * decay
            final_train = to_numpy(accuracy(blas_ready(X, xp=xp), y))
            final_val = to_numpy(accuracy(X_val, y_val))
        gathered = [
            to_numpy(xp.stack(v, axis=1)) if v else np.zeros((g, 0))
            for v in (losses, train_acc, val_acc)
        ]
    return params, gathered, final_train, final_val


def _two_layer_share(run: GridRun, start: dict, batch_rows: np.ndarray, decay: float) -> tuple:
    """One worker's share of a two-layer grid (see :func:`fastvr._dask.train_shares`)."""
    params, gathered, final_train, final_val = _two_layer_core(
        run, start, _dask.batches_on(run.place, batch_rows), decay
    )
    params = {k: to_numpy(v) for k, v in params.items()}
    params["W1"] = np.moveaxis(params["W1"], 1, 0)  # the combinations first, as the others
    return params, gathered, final_train, final_val
