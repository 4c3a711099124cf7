"""Training loops at the course's sizes: fastvr against the course's own numpy code,
interleaved in one process from the same seed (issue 22's per-step overhead).

Run::

    python -m benchmarks.per_step            # 3 alternations of each loop
    python -m benchmarks.per_step --rounds 5

Every loop is the course's setting (1500 steps of the linear classifiers, 1000 of the
2019/2020 net, as their notebooks run them): 49,000 CIFAR-shaped float64 rows (3073 with
the bias column for the linear classifiers, 3072 for the nets), batch 200, 10 classes,
hidden 50
(2019/2020 ``TwoLayerNet.train``) or 100 (2021–2026 ``Solver`` with the course's
``TwoLayerNet``, one epoch: 245 steps and the Solver's accuracy checks). The two sides take
turns, each round both from ``np.random.seed(0)``; the table gives the median time of each
and the ratio course / fastvr (above 1: fastvr is faster), and checks the losses agree.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import fastvr._warmup
from benchmarks import course_code as course
from fastvr.classifiers import LinearSVM, Softmax
from fastvr.classifiers.fc_net import TwoLayerNet as FcTwoLayerNet
from fastvr.classifiers.neural_net import TwoLayerNet
from fastvr.solver import Solver
from tests.course_2025 import PlainNet, course_solver, sgd

NUM_TRAIN, NUM_VAL, DIM, CLASSES, BATCH = 49_000, 1_000, 3072, 10, 200


def cifar_like(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Centred pixels as the notebooks prepare them (float64), and labels."""
    X = rng.integers(0, 256, (NUM_TRAIN + NUM_VAL, DIM)).astype(np.float64)
    X -= X[:NUM_TRAIN].mean(axis=0)
    y = rng.integers(0, CLASSES, NUM_TRAIN + NUM_VAL)
    return X[:NUM_TRAIN], y[:NUM_TRAIN], X[NUM_TRAIN:], y[NUM_TRAIN:]


def pairs(iters: int | None) -> dict[str, tuple[Callable[[], list], Callable[[], list]]]:
    """(fastvr, course) loop of each group; each returns its loss history."""
    rng = np.random.default_rng(231)
    X, y, X_val, y_val = cifar_like(rng)
    X_bias = np.hstack([X, np.ones((NUM_TRAIN, 1))])
    # the notebooks' own lengths: 1500 steps (svm, softmax), 1000 (two_layer_net, 2019/2020)
    linear = {"learning_rate": 1e-7, "reg": 2.5e4, "num_iters": iters or 1500, "batch_size": BATCH}
    net = {"num_iters": iters or 1000, "batch_size": BATCH, "learning_rate": 1e-4, "reg": 0.25}
    data = {"X_train": X, "y_train": y, "X_val": X_val, "y_val": y_val}

    def seeded(fn: Callable[[], list]) -> Callable[[], list]:
        def run() -> list:
            np.random.seed(0)
            return fn()

        return run

    def fastvr_solver() -> list:
        model = FcTwoLayerNet(DIM, 100, CLASSES, weight_scale=1e-3, reg=0.0)
        solver = Solver(
            model,
            data,
            update_rule="sgd",
            optim_config={"learning_rate": 1e-4},
            lr_decay=0.95,
            num_epochs=1,
            batch_size=BATCH,
            verbose=False,
        )
        solver.train()
        return solver.loss_history

    def course_solver_loop() -> list:
        model = PlainNet([DIM, 100, CLASSES], weight_scale=1e-3)
        history, _, _ = course_solver(
            model, data, sgd, {"learning_rate": 1e-4}, 0.95, BATCH, 1, 1000, None
        )
        return history

    return {
        "LinearSVM.train": (
            seeded(lambda: LinearSVM().train(X_bias, y, **linear)),
            seeded(
                lambda: course.LinearClassifier(course.svm_loss_vectorized).train(
                    X_bias, y, **linear
                )
            ),
        ),
        "Softmax.train": (
            seeded(lambda: Softmax().train(X_bias, y, **linear)),
            seeded(
                lambda: course.LinearClassifier(course.softmax_loss_vectorized).train(
                    X_bias, y, **linear
                )
            ),
        ),
        "TwoLayerNet.train (2019/2020, H 50)": (
            seeded(
                lambda: TwoLayerNet(DIM, 50, CLASSES).train(X, y, X_val, y_val, **net)[
                    "loss_history"
                ]
            ),
            seeded(
                lambda: course.TwoLayerNet(DIM, 50, CLASSES).train(X, y, X_val, y_val, **net)[
                    "loss_history"
                ]
            ),
        ),
        "Solver.train (2021–2026 TwoLayerNet, H 100)": (
            seeded(fastvr_solver),
            seeded(course_solver_loop),
        ),
    }


def loss_calls(rounds: int) -> str:
    """One public vectorized loss call on a 200-row minibatch against the course's function
    and against fastvr's own op without the checks: what validation and dispatch cost."""
    import timeit

    import array_api_compat.numpy as xp

    from fastvr.classifiers.linear_svm import svm_loss_vectorized
    from fastvr.classifiers.softmax import softmax_loss_vectorized
    from fastvr.ops.losses import hinge_loss, linear_loss, softmax_cross_entropy

    rng = np.random.default_rng(0)
    lines = [
        "| loss call | fastvr | its op unchecked | course |",
        "|---|---:|---:|---:|",
    ]
    # the course's minibatch, and a toy one where the boundary's fixed cost is all there is
    for n, d, number in ((BATCH, DIM + 1, 100), (5, 4, 2000)):
        X, y = rng.standard_normal((n, d)), rng.integers(0, CLASSES, n)
        W = rng.standard_normal((d, CLASSES)) * 1e-3
        for name, public, score_loss, theirs in (
            ("softmax_loss_vectorized", softmax_loss_vectorized, softmax_cross_entropy,
             course.softmax_loss_vectorized),
            ("svm_loss_vectorized", svm_loss_vectorized, hinge_loss, course.svm_loss_vectorized),
        ):  # fmt: skip
            calls = {
                "fastvr": lambda f=public, X=X, y=y, W=W: f(W, X, y, 1e-3),
                "op": lambda f=score_loss, X=X, y=y, W=W: linear_loss(W, X, y, 1e-3, f, xp=xp),
                "course": lambda f=theirs, X=X, y=y, W=W: f(W, X, y, 1e-3),
            }
            best = {k: float("inf") for k in calls}
            for _ in range(rounds * 3):
                for k, fn in calls.items():
                    runs = timeit.repeat(fn, number=number, repeat=3)
                    best[k] = min(best[k], min(runs) / number)
            us = {k: f"{v * 1e6:.1f} us" for k, v in best.items()}
            lines.append(f"| {name}, {n} x {d} | {us['fastvr']} | {us['op']} | {us['course']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, help="steps per loop (default: the notebooks')")
    parser.add_argument("--calls-only", action="store_true", help="only the loss-call table")
    args = parser.parse_args(argv)
    if args.calls_only:
        print(loss_calls(args.rounds))
        return 0
    fastvr._warmup.wait()  # steady state: the background warm-up's own work is not a step
    steps = f"{args.iters} steps" if args.iters else "1500 / 1000 steps (the notebooks')"
    print(f"{steps}, batch {BATCH}, median of {args.rounds} interleaved rounds")
    print("| loop | fastvr | course | course / fastvr | same losses |")
    print("|---|---:|---:|---:|---|")
    for name, (ours, theirs) in pairs(args.iters).items():
        times: dict[str, list[float]] = {"fastvr": [], "course": []}
        histories = {}
        for _ in range(args.rounds + 1):  # the first round is a warm-up, not counted
            for side, fn in (("fastvr", ours), ("course", theirs)):
                start = time.perf_counter()
                histories[side] = fn()
                times[side].append(time.perf_counter() - start)
        a, b = (statistics.median(times[s][1:]) for s in ("fastvr", "course"))
        same = np.allclose(histories["fastvr"], histories["course"], rtol=1e-9, atol=0)
        print(f"| {name} | {a:.3f} s | {b:.3f} s | {b / a:.2f}x | {same} |", flush=True)
    print()
    print(loss_calls(args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
