"""What ``fastvr check`` judges: every function and class of Assignment 1 a student writes,
the cases it is run on, and fastvr's answers (and the classic mistakes' answers) for them.

Cases go from small to large: a batch of one, one feature, two classes, float32 inputs, and
the cases behind the classic mistakes (vote ties, duplicate training rows, scores large
enough to overflow ``exp``, margins of exactly zero, empty hinge sets, ``reg = 0`` and
``reg > 0``), then the notebooks' own seeded cases at the course's sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import layers, optim
from ..classifiers import KNearestNeighbor, Softmax, fc_net, linear_svm, neural_net, softmax
from ..neighbors import pairwise_distances
from ._judge import Case, Mistake, non_finite

PKG = "cs231n"


@dataclass(frozen=True)
class Target:
    """One function or method of the student's package and how to judge it."""

    name: str  # dotted, as the course's package spells it
    driver: str  # how the worker calls it (see _worker.py)
    cases: Callable[[], list[Case]]
    module: str  # the file that must exist for the target to be listed
    editions: tuple[str, ...] = ("2019", "2021", "2025")
    speed: Callable[[], tuple[dict, Callable[[], object]]] | None = None  # inputs, fastvr
    gradcheck: Callable[[], list[dict]] | None = None  # cases for its own gradient check
    stub: Callable[[object, Case], bool] | None = None  # the unfilled skeleton's output
    project: Callable[[object], object] | None = None  # the judged part of the output
    uses: tuple[str, ...] = ()  # the student's other functions it calls (judged earlier)


def _rng(seed: int = 231) -> np.random.Generator:
    return np.random.default_rng(seed)


def _pixels(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, d)).astype(np.float64)


# -- k-nearest neighbours ------------------------------------------------------------------


def _distance_cases() -> list[Case]:
    rng = _rng()
    dup = rng.normal(size=(6, 4))
    dup = np.concatenate([dup, dup[:3]])
    shapes = [
        ("one test and one training row, D=1", rng.normal(size=(1, 1)), rng.normal(size=(1, 1))),
        ("7 test rows, 11 training rows, D=5", rng.normal(size=(7, 5)), rng.normal(size=(11, 5))),
        ("duplicate training rows", rng.normal(size=(4, 4)), dup),
        ("float32 pixels, 20 x 50, D=3072", *(_pixels(rng, n, 3072) for n in (20, 50))),
        ("the notebook's shape in small: 50 x 500 pixels, D=3072", _pixels(rng, 50, 3072), None),
    ]
    cases = []
    for label, Xte, Xtr in shapes:
        if Xtr is None:
            Xtr = _pixels(rng, 500, 3072)
        if label.startswith("float32"):
            Xte, Xtr = Xte.astype(np.float32), Xtr.astype(np.float32)
        y = rng.integers(0, 10, size=Xtr.shape[0])
        want = pairwise_distances(Xte.astype(np.float64), Xtr.astype(np.float64))
        tol = 1e-4 if Xte.dtype == np.float32 else 1e-7
        inputs = {"X_train": Xtr, "y_train": y, "args": [Xte]}
        forgot = Mistake("the square root is missing: np.sqrt of the squared distances", want**2)
        cases.append(Case(label, inputs, want, [forgot], tolerance=tol))
    return cases


def _distance_speed() -> tuple[dict, Callable[[], object]]:
    rng = _rng(0)
    Xtr, Xte = _pixels(rng, 5000, 3072), _pixels(rng, 500, 3072)
    y = np.zeros(5000, dtype=np.int64)

    def fastvr_call() -> object:
        knn = KNearestNeighbor()
        knn.train(Xtr, y)
        return knn.compute_distances_no_loops(Xte)

    return {"X_train": Xtr, "y_train": y, "args": [Xte]}, fastvr_call


def _vote_cases() -> list[Case]:
    rng = _rng()

    def case(label: str, dists: np.ndarray, y: np.ndarray, k: int) -> Case:
        knn = KNearestNeighbor()
        knn.train(np.zeros((y.shape[0], 1)), y)
        want = knn.predict_labels(dists, k)
        order = np.argsort(dists, axis=1, kind="stable")[:, :k]
        labels = y[order]
        larger = np.array([_vote(row, prefer="larger") for row in labels])
        nearest = np.array([_vote(row, prefer="nearest") for row in labels])
        mistakes = [
            Mistake(
                "ties go to the larger label; the course breaks ties toward the smaller", larger
            ),
            Mistake(
                "ties go to the nearest neighbour's label; the course breaks ties toward the "
                "smaller label (np.argmax(np.bincount(closest_y)) does)",
                nearest,
            ),
        ]
        return Case(
            label,
            {"X_train": np.zeros((y.shape[0], 1)), "y_train": y, "args": [dists, k]},
            want,
            mistakes,
        )

    tie = np.array([[0.5, 0.1, 0.9, 0.3]])  # nearest two: labels 3 (0.1) and 1 (0.3)
    random = rng.permutation(20 * 100).reshape(20, 100) / 100.0
    return [
        case("k=1, one test row", np.array([[0.3, 0.2, 0.9]]), np.array([2, 1, 0]), 1),
        case("vote tie at k=2: labels 3 and 1", tie, np.array([0, 3, 2, 1]), 2),
        case("vote ties at k=4", random[:, :12], np.tile(np.arange(4), 3)[::-1].copy(), 4),
        case("20 x 100, k=5, 10 classes", random, rng.integers(0, 10, size=100), 5),
        case("k = every training row", random[:3], rng.integers(0, 3, size=100), 100),
    ]


def _vote(labels: np.ndarray, *, prefer: str) -> int:
    counts = np.bincount(labels)
    top = np.flatnonzero(counts == counts.max())
    if prefer == "larger":
        return int(top.max())
    return int(next(label for label in labels if label in top))  # nearest first


# -- linear losses ---------------------------------------------------------------------------


def _large_scores_X(rng: np.random.Generator) -> np.ndarray:
    return np.hstack([rng.normal(size=(4, 4)), np.ones((4, 1))])  # a bias column


def _large_scores_W(rng: np.random.Generator) -> np.ndarray:
    # every score about 1000 (the bias row), differences of a few units: exp(1000)
    # overflows, exp of the shifted scores does not
    return np.vstack([rng.normal(size=(4, 3)) * 3, np.full((1, 3), 1000.0)])


def _loss_inputs(rng: np.random.Generator) -> list[tuple[str, tuple]]:
    """(label, (W, X, y, reg)) from small to large; with the classic mistakes' triggers."""
    X_dev = np.hstack([_pixels(rng, 500, 3072) - 128.0, np.ones((500, 1))])
    return [
        ("N=1, D=1, C=2", (rng.normal(size=(1, 2)), rng.normal(size=(1, 1)), np.array([1]), 0.5)),
        (
            "N=5, D=4, C=3, reg=0",
            (rng.normal(size=(4, 3)), rng.normal(size=(5, 4)), rng.integers(0, 3, size=5), 0.0),
        ),
        (
            "N=5, D=4, C=3, reg=0.1",
            (rng.normal(size=(4, 3)), rng.normal(size=(5, 4)), rng.integers(0, 3, size=5), 0.1),
        ),
        (
            "a margin of exactly 0",
            (np.array([[1.0, 0.0, 2.0]]), np.array([[1.0], [2.0]]), np.array([0, 2]), 0.25),
        ),
        (
            "no positive margin (empty hinge sets)",
            (
                np.array([[5.0, 0.0, -5.0], [0.0, 1.0, 0.0]]),
                np.array([[2.0, 0.5], [3.0, -1.0]]),
                np.array([0, 0]),
                0.05,
            ),
        ),
        (
            "float32 inputs",
            (
                rng.normal(size=(6, 4)).astype(np.float32),
                rng.normal(size=(9, 6)).astype(np.float32),
                rng.integers(0, 4, size=9),
                0.1,
            ),
        ),
        (
            "scores near 1000 (exp overflows without the max shift)",
            (_large_scores_W(rng), _large_scores_X(rng), np.array([0, 1, 2, 0]), 1e-4),
        ),
        (
            "the notebook's: W = 0.0001 * randn(3073, 10), 500 rows, reg=5e-6",
            (rng.normal(size=(3073, 10)) * 1e-4, X_dev, rng.integers(0, 10, size=500), 5e-6),
        ),
    ]


def _linear_loss_cases(reference: Callable, family: str) -> Callable[[], list[Case]]:
    def cases() -> list[Case]:
        out = []
        for label, (W, X, y, reg) in _loss_inputs(_rng()):
            W64, X64 = W.astype(np.float64), X.astype(np.float64)
            loss, dW = reference(W64, X64, y, reg)
            R, n = float(np.sum(W64 * W64)), X.shape[0]
            data_loss, data_dW = loss - reg * R, dW - 2 * reg * W64
            mistakes = [
                Mistake(
                    "the regularization term's gradient is missing: add 2 * reg * W to dW",
                    (loss, data_dW),
                ),
                Mistake(
                    "the regularization term is missing from the loss: add reg * np.sum(W * W)",
                    (data_loss, dW),
                ),
                Mistake(
                    "factor 2: the gradient of reg * sum(W * W) is 2 * reg * W, not reg * W",
                    (loss, data_dW + reg * W64),
                ),
                Mistake(
                    "uses 0.5 * reg * sum(W * W) (gradient reg * W); the course's linear "
                    "classifiers use reg * sum(W * W) (gradient 2 * reg * W)",
                    (data_loss + 0.5 * reg * R, data_dW + reg * W64),
                    convention=True,
                ),
                Mistake(
                    "the data loss and its gradient are summed, not averaged: divide by N",
                    (n * data_loss + reg * R, n * data_dW + 2 * reg * W64),
                ),
                Mistake(
                    "integer division: the loss is floored (use / not //)",
                    (np.floor(data_loss) + reg * R, dW),  # sum // N == floor(sum / N)
                ),
            ]
            if family == "softmax":
                mistakes.append(_NO_SHIFT)
            if family == "svm":
                mistakes.append(
                    Mistake(
                        "the correct class is counted in its own hinge: skip j == y[i]",
                        (loss + 1.0, dW),
                    )
                )
                mistakes.append(
                    Mistake(
                        "a margin of exactly 0 counts as positive: use margin > 0",
                        (loss, _svm_ge_dW(W64, X64, y, reg)),
                    )
                )
            tol = 1e-4 if X.dtype == np.float32 else 1e-7
            out.append(Case(label, {"args": [W, X, y, reg]}, (loss, dW), mistakes, tolerance=tol))
        return out

    return cases


# scores of a thousand overflow exp: NaN or inf where fastvr's answer is finite
_NO_SHIFT = Mistake(
    "missing max shift: subtract each row's largest score before np.exp (it overflows)",
    non_finite,
)


def _svm_ge_dW(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float) -> np.ndarray:
    """The SVM gradient if margins of exactly 0 counted (the mistake ``margin >= 0``)."""
    scores = X @ W
    n = X.shape[0]
    margins = scores - scores[np.arange(n), y][:, None] + 1
    on = (margins >= 0).astype(np.float64)
    on[np.arange(n), y] = 0
    on[np.arange(n), y] = -on.sum(axis=1)
    return X.T @ on / n + 2 * reg * W


def _loss_speed(reference: Callable) -> Callable[[], tuple[dict, Callable[[], object]]]:
    def speed() -> tuple[dict, Callable[[], object]]:
        rng = _rng(0)
        W, X = rng.normal(size=(3073, 10)) * 1e-4, _pixels(rng, 500, 3073) - 128
        y = rng.integers(0, 10, size=500)
        return {"args": [W, X, y, 5e-6]}, lambda: reference(W, X, y, 5e-6)

    return speed


def _loss_gradcheck() -> list[dict]:
    rng = _rng(1)
    W, X = rng.normal(size=(5, 3)), rng.normal(size=(4, 5))
    return [{"args": [W, X, np.array([0, 2, 1, 2]), 0.1], "wrt": 0}]


# -- the linear classifier -------------------------------------------------------------------


def _weights_unchanged(out: object, case: Case) -> bool:
    try:
        return bool(np.array_equal(out[1], case.inputs["W"]))
    except (TypeError, IndexError, ValueError):
        return False


def _predict_cases() -> list[Case]:
    rng = _rng()
    cases = []
    for label, (n, d, c) in [("one row, D=1, C=2", (1, 1, 2)), ("30 x 20, C=10", (30, 20, 10))]:
        W, X = rng.normal(size=(d, c)), rng.normal(size=(n, d))
        inputs = {"subclass": "Softmax", "W": W, "args": [X]}
        cases.append(Case(label, inputs, np.argmax(X @ W, axis=1)))
    return cases


def _train_cases() -> list[Case]:
    """Identical rows first (any minibatch draw gives the same batches, so the answer does
    not depend on how the batches are drawn), then varied rows under the course's draw."""
    rng = _rng()
    cases = []
    for label, same in [
        ("identical rows: any minibatch draw", True),
        ("varied rows, np.random.seed(0)", False),
    ]:
        X = np.tile(rng.normal(size=(1, 6)), (40, 1)) if same else rng.normal(size=(40, 6))
        y = np.full(40, 2) if same else rng.integers(0, 3, size=40)
        W0 = 0.001 * rng.normal(size=(6, 3))
        kwargs = {"learning_rate": 1e-1, "reg": 1e-3, "num_iters": 15, "batch_size": 8}
        model = Softmax()
        model.W = W0.copy()
        np.random.seed(0)
        history = model.train(X, y, **kwargs)
        inputs = {"subclass": "Softmax", "W": W0, "seed": 0, "args": [X, y], "kwargs": kwargs}
        # judged after the identical-rows case has passed: then only the draw differs
        mistakes = (
            []
            if same
            else [
                Mistake(
                    "draws minibatches differently from the course's np.random.choice("
                    "num_train, batch_size): right, but not the course's numbers for a seed",
                    lambda out: True,
                    convention=True,
                )
            ]
        )
        cases.append(Case(label, inputs, (np.asarray(history), model.W), mistakes))
    return cases


# -- layers (2021-2026) --------------------------------------------------------------------


def _affine_inputs() -> list[tuple[str, tuple]]:
    rng = _rng()
    n, shape, m = 2, (4, 5, 6), 3
    size = n * int(np.prod(shape))
    notebook = (
        np.linspace(-0.1, 0.5, num=size).reshape(n, *shape),
        np.linspace(-0.2, 0.3, num=int(np.prod(shape)) * m).reshape(int(np.prod(shape)), m),
        np.linspace(-0.3, 0.1, num=m),
    )
    return [
        (
            "a batch of 1, D=1",
            (rng.normal(size=(1, 1)), rng.normal(size=(1, 2)), rng.normal(size=2)),
        ),
        (
            "x of shape (3, 2, 4)",
            (rng.normal(size=(3, 2, 4)), rng.normal(size=(8, 5)), rng.normal(size=5)),
        ),
        ("the notebook's linspace case", notebook),
    ]


def _affine_forward_cases() -> list[Case]:
    return [
        Case(label, {"args": list(a)}, layers.affine_forward(*a)[0])
        for label, a in _affine_inputs()
    ]


def _affine_backward_cases() -> list[Case]:
    rng = _rng(5)
    cases = []
    for label, a in _affine_inputs():
        out, cache = layers.affine_forward(*a)
        dout = rng.normal(size=out.shape)
        dx, dw, db = layers.affine_backward(dout, cache)
        flat = Mistake(
            "dx must have x's shape: reshape it to x.shape", (dx.reshape(a[0].shape[0], -1), dw, db)
        )
        inputs = {"forward": f"{PKG}.layers.affine_forward", "args": list(a), "dout": dout}
        cases.append(Case(label, inputs, (dx, dw, db), [flat] if dx.ndim > 2 else []))
    return cases


def _small_affine() -> list:
    rng = _rng(10)
    return [rng.normal(size=(2, 3, 2)), rng.normal(size=(6, 4)), rng.normal(size=4)]


def _backward_gradcheck(forward: str, args: list) -> Callable[[], list[dict]]:
    def cases() -> list[dict]:
        out = getattr(layers, forward)(*args)[0]
        dout = _rng(9).normal(size=out.shape)
        return [
            {"via": "backward", "forward": f"{PKG}.layers.{forward}", "args": args, "dout": dout}
        ]

    return cases


def _relu_inputs() -> list[tuple[str, np.ndarray]]:
    rng = _rng()
    with_zeros = rng.normal(size=(4, 5))
    with_zeros[::2, ::2] = 0.0
    return [
        ("a batch of 1", rng.normal(size=(1, 3))),
        ("with exact zeros", with_zeros),
        ("x of shape (3, 4, 5)", rng.normal(size=(3, 4, 5))),
    ]


def _relu_forward_cases() -> list[Case]:
    return [Case(label, {"args": [x]}, layers.relu_forward(x)[0]) for label, x in _relu_inputs()]


def _relu_backward_cases() -> list[Case]:
    rng = _rng(6)
    cases = []
    for label, x in _relu_inputs():
        dout = rng.normal(size=x.shape)
        want = layers.relu_backward(dout, layers.relu_forward(x)[1])
        at_zero = Mistake("the gradient passes where x == 0: use x > 0", dout * (x >= 0))
        inputs = {"forward": f"{PKG}.layers.relu_forward", "args": [x], "dout": dout}
        cases.append(Case(label, inputs, want, [at_zero]))
    return cases


def _score_loss_cases(reference: Callable, softmax_like: bool) -> Callable[[], list[Case]]:
    def cases() -> list[Case]:
        rng = _rng(231)
        notebook_x = 0.001 * rng.normal(size=(50, 10))
        inputs = [
            ("a batch of 1, C=2", rng.normal(size=(1, 2)), np.array([1])),
            ("N=6, C=4", rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)),
            ("the notebook's: x = 0.001 * randn(50, 10)", notebook_x, rng.integers(0, 10, size=50)),
        ]
        if softmax_like:
            inputs.insert(
                2,
                (
                    "scores near 1000 (exp overflows without the max shift)",
                    1000 + rng.normal(size=(5, 4)) * 3,
                    rng.integers(0, 4, size=5),
                ),
            )
        out = []
        for label, x, y in inputs:
            loss, dx = reference(x, y)
            summed = Mistake(
                "dx is not divided by N (the loss is the batch mean)", (loss, dx * x.shape[0])
            )
            out.append(Case(label, {"args": [x, y]}, (loss, dx), [summed, _NO_SHIFT]))
        return out

    return cases


def _score_loss_gradcheck() -> list[dict]:
    rng = _rng(2)
    return [{"args": [rng.normal(size=(4, 3)), np.array([0, 2, 1, 1])], "wrt": 0}]


# -- networks ---------------------------------------------------------------------------------


def _two_layer_params(D: int, H: int, C: int) -> dict:
    return {
        "W1": np.linspace(-0.7, 0.3, num=D * H).reshape(D, H),
        "b1": np.linspace(-0.1, 0.9, num=H),
        "W2": np.linspace(-0.3, 0.4, num=H * C).reshape(H, C),
        "b2": np.linspace(-0.9, 0.1, num=C),
    }


def _reg_otherwise(answer: tuple, params: dict, reg: float, delta: float) -> tuple:
    """A net's ``(loss, grads)`` had its regularizer been ``delta * reg * sum(W * W)`` larger:
    the loss plus that, each weight's gradient plus ``2 * delta * reg * W`` (biases as they
    are). ``delta = 0.5``: the 2021+ nets' ½ left out; ``-0.5``: the 2019/2020 net given one."""
    loss, grads = answer
    R = sum(float(np.sum(params[n] ** 2)) for n in grads if n.startswith("W"))
    scaled = {
        n: g + 2 * delta * reg * params[n] if n.startswith("W") else g for n, g in grads.items()
    }
    return loss + delta * reg * R, scaled


def _fc_two_layer_loss_cases() -> list[Case]:
    N, D, H, C = 3, 5, 50, 7
    params = _two_layer_params(D, H, C)
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T
    y = np.array([0, 5, 1])
    init = {"input_dim": D, "hidden_dim": H, "num_classes": C, "weight_scale": 1e-3}
    cases = []
    for label, reg, labels in [
        ("scores (y=None)", 0.0, None),
        ("loss, reg=0", 0.0, y),
        ("loss, reg=1.0 (the notebook's 26.5948426952)", 1.0, y),
    ]:
        model = fc_net.TwoLayerNet(**init)
        model.params.update({k: v.copy() for k, v in params.items()})
        model.reg = reg
        args = [X] if labels is None else [X, labels]
        want = model.loss(*args)
        mistakes = []
        if labels is not None and reg:
            mistakes.append(
                Mistake(
                    "the 2021+ TwoLayerNet regularizes with 0.5 * reg * sum(W * W) (gradient "
                    "reg * W), as its TODO says; this one uses reg * sum(W * W)",
                    _reg_otherwise(want, model.params, reg, 0.5),
                )
            )
        inputs = {"init": init, "params": params, "attrs": {"reg": reg}, "args": args}
        cases.append(Case(label, inputs, want, mistakes))
    return cases


def _fc_net_loss_cases() -> list[Case]:
    rng = _rng(231)
    N, D, C = 2, 15, 10
    X, y = rng.normal(size=(N, D)), rng.integers(0, C, size=N)
    cases = []
    # the notebook's nets first; a net with no hidden layer (softmax regression, a valid
    # hidden_dims=[]) last, so that its failure does not hide the others'
    for label, hidden, reg in [
        ("[20, 30], reg=0", [20, 30], 0.0),
        ("[20, 30], reg=3.14", [20, 30], 3.14),
        ("a batch of 1, [4]", [4], 0.5),
        ("no hidden layer (hidden_dims=[])", [], 0.0),
    ]:
        init = {
            "hidden_dims": hidden,
            "input_dim": D,
            "num_classes": C,
            "reg": reg,
            "weight_scale": 5e-2,
            "dtype": np.float64,
        }
        np.random.seed(231)
        model = fc_net.FullyConnectedNet(**init)
        params = {k: np.array(v) for k, v in model.params.items()}
        Xc, yc = (X[:1], y[:1]) if label.startswith("a batch") else (X, y)
        want = model.loss(Xc, yc)
        mistakes = []
        if reg:
            mistakes.append(
                Mistake(
                    "FullyConnectedNet regularizes with 0.5 * reg * sum(W * W) (gradient reg * W); "
                    "this one uses reg * sum(W * W)",
                    _reg_otherwise(want, model.params, reg, 0.5),
                )
            )
        inputs = {"init": {**init, "hidden_dims": list(hidden)}, "params": params, "args": [Xc, yc]}
        cases.append(Case(label, inputs, want, mistakes))
        if not hidden:
            scores = model.loss(Xc)
            cases.append(Case("scores (y=None), no hidden layer", {**inputs, "args": [Xc]}, scores))
    return cases


def _init_cases(cls: type, inits: list[tuple[str, dict]]) -> list[Case]:
    cases = []
    for label, init in inits:
        np.random.seed(231)
        model = cls(**init)
        want = {k: np.array(v) for k, v in model.params.items()}
        drawn_otherwise = Mistake(
            "draws the weights differently from weight_scale * np.random.randn in the order "
            "W1, W2, ...: right shapes, zero biases and the right scale, but not the "
            "notebook's numbers for a seed",
            _initialised_like(want, init["weight_scale"]),
            convention=True,
        )
        cases.append(Case(label, {"seed": 231, "init": init}, want, [drawn_otherwise]))
    return cases


def _initialised_like(want: dict, scale: float) -> Callable[[object], bool]:
    """Whether drawn parameters have the right names and shapes, zero biases and weights of
    standard deviation ``scale`` (within a tenth, as the notebook asserts)."""

    def matches(out: object) -> bool:
        if not isinstance(out, dict) or set(out) != set(want):
            return False
        for name, value in out.items():
            value = np.asarray(value)
            if value.shape != want[name].shape:
                return False
            if name.startswith("b") and np.any(value):
                return False
            if name.startswith("W") and abs(value.std() - scale) > scale / 10:
                return False
        return True

    return matches


def _net2019_cases() -> list[Case]:
    np.random.seed(0)
    model = neural_net.TwoLayerNet(4, 10, 3, std=1e-1)
    np.random.seed(1)
    X, y = 10 * np.random.randn(5, 4), np.array([0, 1, 2, 2, 1])
    params = {k: np.array(v) for k, v in model.params.items()}
    init_args = [4, 10, 3]
    cases = []
    for label, kwargs, labels in [
        ("the toy net's scores (y=None)", {}, None),
        ("the toy loss, reg=0.05 (the notebook's 1.30378789133)", {"reg": 0.05}, y),
        ("reg=0", {"reg": 0.0}, y),
    ]:
        args = [X] if labels is None else [X, labels]
        want = model.loss(*args, **kwargs)
        mistakes = []
        if kwargs.get("reg"):
            mistakes.append(
                Mistake(
                    "uses 0.5 * reg * sum(W * W); the 2019/2020 net uses reg * sum(W * W) "
                    "(gradient 2 * reg * W), which the notebook's correct_loss needs",
                    _reg_otherwise(want, params, kwargs["reg"], -0.5),
                )
            )
        inputs = {
            "init_args": init_args,
            "init": {"std": 1e-1},
            "params": params,
            "args": args,
            "kwargs": kwargs,
        }
        cases.append(Case(label, inputs, want, mistakes))
    return cases


def _net2019_train_cases() -> list[Case]:
    np.random.seed(0)
    model = neural_net.TwoLayerNet(4, 10, 3, std=1e-1)
    params = {k: np.array(v) for k, v in model.params.items()}
    rng = _rng(3)
    X, y = 10 * rng.normal(size=(5, 4)), np.array([0, 1, 2, 2, 1])
    kwargs = {"learning_rate": 1e-1, "reg": 5e-6, "num_iters": 100, "verbose": False}
    np.random.seed(7)
    stats = model.train(X, y, X, y, **kwargs)
    want = (np.asarray(stats["loss_history"]), {k: np.array(v) for k, v in model.params.items()})
    inputs = {
        "init_args": [4, 10, 3],
        "init": {"std": 1e-1},
        "params": params,
        "call_seed": 7,
        "args": [X, y, X, y],
        "kwargs": kwargs,
    }
    return [Case("the toy training run (100 iterations, lr 0.1)", inputs, want)]


def _net2019_predict_cases() -> list[Case]:
    np.random.seed(0)
    model = neural_net.TwoLayerNet(6, 8, 4, std=1.0)
    params = {k: np.array(v) for k, v in model.params.items()}
    X = _rng(4).normal(size=(9, 6))
    inputs = {"init_args": [6, 8, 4], "init": {"std": 1.0}, "params": params, "args": [X]}
    return [Case("9 rows, 4 classes", inputs, model.predict(X))]


def _net_gradcheck(edition: str) -> Callable[[], list[dict]]:
    """A small net of the edition's class, with random parameters and ``reg > 0``."""

    def cases() -> list[dict]:
        rng = _rng(11)
        X, y = rng.normal(size=(5, 4)), np.array([0, 2, 1, 1, 0])
        if edition == "2019":
            params = {
                "W1": rng.normal(size=(4, 6)),
                "b1": rng.normal(size=6),
                "W2": rng.normal(size=(6, 3)),
                "b2": rng.normal(size=3),
            }
            return [
                {
                    "via": "net",
                    "init_args": [4, 6, 3],
                    "params": params,
                    "args": [X, y],
                    "kwargs": {"reg": 0.05},
                }
            ]
        if edition == "2021":
            init = {"input_dim": 4, "hidden_dim": 6, "num_classes": 3}
        else:
            init = {"hidden_dims": [5, 4], "input_dim": 4, "num_classes": 3, "dtype": np.float64}
        np.random.seed(0)
        model = (fc_net.TwoLayerNet if edition == "2021" else fc_net.FullyConnectedNet)(**init)
        params = {name: rng.normal(size=np.shape(v)) for name, v in model.params.items()}
        return [
            {"via": "net", "init": init, "params": params, "attrs": {"reg": 0.3}, "args": [X, y]}
        ]

    return cases


def _net_speed(edition: str) -> Callable[[], tuple[dict, Callable[[], object]]]:
    """One loss call at the course's sizes: 200 rows of 3072, 100 hidden units, 10 classes."""

    def speed() -> tuple[dict, Callable[[], object]]:
        rng = _rng(0)
        X, y = rng.normal(size=(200, 3072)), rng.integers(0, 10, size=200)
        np.random.seed(0)
        if edition == "2019":
            model = neural_net.TwoLayerNet(3072, 100, 10)
            inputs = {"init_args": [3072, 100, 10], "kwargs": {"reg": 0.1}}
            call = lambda: model.loss(X, y, reg=0.1)  # noqa: E731
        else:
            init = {"input_dim": 3072, "hidden_dim": 100, "num_classes": 10, "reg": 0.1}
            model = fc_net.TwoLayerNet(**init)
            inputs = {"init": init}
            call = lambda: model.loss(X, y)  # noqa: E731
        params = {name: np.array(v) for name, v in model.params.items()}
        return {**inputs, "params": params, "args": [X, y]}, call

    return speed


# -- optimisers -----------------------------------------------------------------------------


def _optim_cases(rule: str, state: tuple[str, ...]) -> Callable[[], list[Case]]:
    def cases() -> list[Case]:
        N, D = 4, 5
        w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
        dw = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
        notebook = {"learning_rate": 1e-2}
        if rule == "sgd_momentum":
            notebook = {
                "learning_rate": 1e-3,
                "velocity": np.linspace(0.6, 0.9, num=N * D).reshape(N, D),
            }
        elif rule == "rmsprop":
            notebook["cache"] = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
        elif rule == "adam":
            notebook.update(
                m=np.linspace(0.6, 0.9, num=N * D).reshape(N, D),
                v=np.linspace(0.7, 0.5, num=N * D).reshape(N, D),
                t=5,
            )
        rng = _rng(8)
        out = []
        for label, config in [
            ("the notebook's test", notebook),
            ("default config (None)", None),
            ("one weight", {"learning_rate": 0.1}),
        ]:
            ww, dd = (
                (w, dw) if label != "one weight" else (rng.normal(size=(1,)), rng.normal(size=(1,)))
            )
            given = (
                None
                if config is None
                else {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in config.items()}
            )
            next_w, cfg = getattr(optim, rule)(
                ww.copy(), dd.copy(), None if given is None else dict(given)
            )
            want = (next_w, {k: cfg[k] for k in state})
            mistakes = []
            if rule == "adam" and config is not None:
                mistakes.append(
                    Mistake(
                        "t must be incremented before the bias correction",
                        _adam_late_t(ww, dd, dict(given)),
                    )
                )
            # the course's own sgd updates w in place: so may the other rules
            out.append(Case(label, {"args": [ww, dd, given]}, want, mistakes, updates_inputs=True))
        return out

    return cases


# what the 2021+ nets call (through fc_net's star import of layers and layer_utils)
_LAYERS = tuple(
    f"layers.{name}"
    for name in (
        "affine_forward",
        "affine_backward",
        "relu_forward",
        "relu_backward",
        "softmax_loss",
    )
)

# the state each rule keeps in its config; plain sgd is a TODO of 2021 (provided from 2022)
_OPTIM_STATE = {
    "sgd": (),
    "sgd_momentum": ("velocity",),
    "rmsprop": ("cache",),
    "adam": ("m", "t", "v"),
}


def _optim_state(state: tuple[str, ...]) -> Callable[[object], object]:
    def project(out: object) -> object:
        next_w, config = out
        return next_w, {key: config[key] for key in state}

    return project


def _first(out: object) -> object:
    return out[0]


def _adam_late_t(w: np.ndarray, dw: np.ndarray, config: dict) -> tuple:
    lr, b1, b2 = config.get("learning_rate", 1e-3), 0.9, 0.999
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw**2
    t = config.get("t", 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        next_w = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + 1e-8)
    return next_w, {"m": m, "t": t + 1, "v": v}


# -- the list ---------------------------------------------------------------------------------


def _loss_target(module: str, fn: Callable, name: str, family: str, vectorized: bool) -> Target:
    return Target(
        f"{PKG}.classifiers.{module}.{name}",
        "call",
        _linear_loss_cases(fn, family),
        f"classifiers/{module}.py",
        speed=_loss_speed(fn) if vectorized else None,
        gradcheck=_loss_gradcheck,
    )


def all_targets() -> list[Target]:
    knn = f"{PKG}.classifiers.k_nearest_neighbor.KNearestNeighbor"
    knn_file = "classifiers/k_nearest_neighbor.py"
    lc = f"{PKG}.classifiers.linear_classifier.LinearClassifier"
    fc = f"{PKG}.classifiers.fc_net"
    two_layer_init = [
        (
            "weight_scale=1e-3, D=5, H=50, C=7",
            {"input_dim": 5, "hidden_dim": 50, "num_classes": 7, "weight_scale": 1e-3},
        )
    ]
    fc_init = [
        (
            "[20, 30], D=15, C=10, weight_scale=5e-2",
            {
                "hidden_dims": [20, 30],
                "input_dim": 15,
                "num_classes": 10,
                "weight_scale": 5e-2,
                "dtype": np.float64,
            },
        )
    ]
    svm_ref, softmax_ref = linear_svm.svm_loss_vectorized, softmax.softmax_loss_vectorized
    return [
        Target(f"{knn}.compute_distances_two_loops", "knn", _distance_cases, knn_file),
        Target(f"{knn}.compute_distances_one_loop", "knn", _distance_cases, knn_file),
        Target(
            f"{knn}.compute_distances_no_loops",
            "knn",
            _distance_cases,
            knn_file,
            speed=_distance_speed,
        ),
        Target(f"{knn}.predict_labels", "knn", _vote_cases, knn_file),
        _loss_target("linear_svm", svm_ref, "svm_loss_naive", "svm", False),
        _loss_target("linear_svm", svm_ref, "svm_loss_vectorized", "svm", True),
        _loss_target("softmax", softmax_ref, "softmax_loss_naive", "softmax", False),
        _loss_target("softmax", softmax_ref, "softmax_loss_vectorized", "softmax", True),
        Target(
            f"{lc}.train",
            "linear",
            _train_cases,
            "classifiers/linear_classifier.py",
            stub=_weights_unchanged,  # the skeleton's update is a TODO
            uses=("softmax.softmax_loss_vectorized",),
        ),
        Target(f"{lc}.predict", "linear", _predict_cases, "classifiers/linear_classifier.py"),
        Target(
            f"{PKG}.classifiers.neural_net.TwoLayerNet.loss",
            "net",
            _net2019_cases,
            "classifiers/neural_net.py",
            gradcheck=_net_gradcheck("2019"),
            speed=_net_speed("2019"),
        ),
        Target(
            f"{PKG}.classifiers.neural_net.TwoLayerNet.train",
            "net",
            _net2019_train_cases,
            "classifiers/neural_net.py",
            project=lambda out: (np.asarray(out[0]["loss_history"]), out[1]),
        ),
        Target(
            f"{PKG}.classifiers.neural_net.TwoLayerNet.predict",
            "net",
            _net2019_predict_cases,
            "classifiers/neural_net.py",
        ),
        Target(
            f"{PKG}.layers.affine_forward",
            "call",
            _affine_forward_cases,
            "layers.py",
            project=_first,
        ),
        Target(
            f"{PKG}.layers.affine_backward",
            "backward",
            _affine_backward_cases,
            "layers.py",
            gradcheck=_backward_gradcheck("affine_forward", _small_affine()),
        ),
        Target(
            f"{PKG}.layers.relu_forward", "call", _relu_forward_cases, "layers.py", project=_first
        ),
        Target(
            f"{PKG}.layers.relu_backward",
            "backward",
            _relu_backward_cases,
            "layers.py",
            # away from the kink, where centred differences are exact
            gradcheck=_backward_gradcheck("relu_forward", [np.array([[-1.5, 0.5, 2.0, -0.25]])]),
        ),
        Target(
            f"{PKG}.layers.svm_loss",
            "call",
            _score_loss_cases(layers.svm_loss, False),
            "layers.py",
            gradcheck=_score_loss_gradcheck,
        ),
        Target(
            f"{PKG}.layers.softmax_loss",
            "call",
            _score_loss_cases(layers.softmax_loss, True),
            "layers.py",
            gradcheck=_score_loss_gradcheck,
        ),
        Target(
            f"{fc}.TwoLayerNet.__init__",
            "net",
            lambda: _init_cases(fc_net.TwoLayerNet, two_layer_init),
            "classifiers/fc_net.py",
        ),
        Target(
            f"{fc}.TwoLayerNet.loss",
            "net",
            _fc_two_layer_loss_cases,
            "classifiers/fc_net.py",
            gradcheck=_net_gradcheck("2021"),
            speed=_net_speed("2021"),
            uses=_LAYERS,
        ),
        Target(
            f"{fc}.FullyConnectedNet.__init__",
            "net",
            lambda: _init_cases(fc_net.FullyConnectedNet, fc_init),
            "classifiers/fc_net.py",
            editions=("2025",),
        ),
        Target(
            f"{fc}.FullyConnectedNet.loss",
            "net",
            _fc_net_loss_cases,
            "classifiers/fc_net.py",
            editions=("2025",),
            gradcheck=_net_gradcheck("2025"),
            uses=_LAYERS,
        ),
        *(
            Target(
                f"{PKG}.optim.{rule}",
                "call",
                _optim_cases(rule, state),
                "optim.py",
                editions=("2021", "2025") if rule == "sgd" else ("2025",),
                project=_optim_state(state),
            )
            for rule, state in _OPTIM_STATE.items()
        ),
    ]
