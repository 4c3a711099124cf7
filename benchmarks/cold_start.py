"""Cold start: what the first calls of a course notebook cost, next to the course's own code.

Each case runs in a fresh Python process, as a student's first call in a new Colab session:
``cold`` with an empty Numba cache (``NUMBA_CACHE_DIR`` a new folder), then ``warm`` with the
cache the cold run left. A case times its call twice; the **one-off cost** is the first call
minus the second. Each case runs ``--repeat`` times (fresh caches each time) and the quicker
run counts: this machine is shared, and its noise moves single runs by seconds. The course's
plain numpy code (``benchmarks/course_code.py``) runs the same calls on the same data in its
own fresh process. ``notebook`` runs every case in one process,
in a notebook's order, as a student meets them, and adds up the one-off costs.

Between the import and the first case each process loads CIFAR-10 as the notebooks' second
cell does: 50,000 + 10,000 images in the dataset's own files (random pixels written in its
format, so the script runs offline), by each side's own ``load_CIFAR10``. That cell is timed
too: fastvr compiles its kernels in the background meanwhile (``fastvr._warmup``), and what
that costs the loading shows there. Set ``FASTVR_WARMUP=off`` to see the calls without it.

Run::

    python benchmarks/cold_start.py                 # table on stdout
    python benchmarks/cold_start.py --json out.json # and the raw numbers

The numbers are wall-clock seconds on a shared machine: read the table's ratios and
one-off costs, not the last digit.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Case:
    """One first call of a notebook: ``setup`` (untimed) returns the state ``call`` takes."""

    name: str
    setup: Callable[[Any, Any], Any]
    call: Callable[[Any, Any], Any]


def _fastvr_impl() -> SimpleNamespace:
    """fastvr under the names the course code uses (the notebook's one-word import change)."""
    from fastvr import layers, optim
    from fastvr.classifiers import KNearestNeighbor, LinearSVM, Softmax
    from fastvr.classifiers.fc_net import FullyConnectedNet
    from fastvr.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
    from fastvr.classifiers.neural_net import TwoLayerNet
    from fastvr.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
    from fastvr.data_utils import load_CIFAR10
    from fastvr.features import color_histogram_hsv, extract_features, hog_feature
    from fastvr.gradient_check import eval_numerical_gradient, grad_check_sparse
    from fastvr.solver import Solver

    return SimpleNamespace(
        name="fastvr",
        load_CIFAR10=load_CIFAR10,
        KNearestNeighbor=KNearestNeighbor,
        LinearSVM=LinearSVM,
        Softmax=Softmax,
        svm_loss_naive=svm_loss_naive,
        svm_loss_vectorized=svm_loss_vectorized,
        softmax_loss_naive=softmax_loss_naive,
        softmax_loss_vectorized=softmax_loss_vectorized,
        grad_check_sparse=grad_check_sparse,
        eval_numerical_gradient=eval_numerical_gradient,
        TwoLayerNet=TwoLayerNet,
        layers=layers,
        FullyConnectedNet=FullyConnectedNet,
        Solver=Solver,
        optim=optim,
        hog_feature=hog_feature,
        color_histogram_hsv=color_histogram_hsv,
        extract_features=extract_features,
    )


def _course_impl() -> SimpleNamespace:
    from benchmarks import course_code as cc

    return SimpleNamespace(
        name="course",
        load_CIFAR10=cc.load_CIFAR10,
        KNearestNeighbor=cc.KNearestNeighbor,
        LinearSVM=lambda: cc.LinearClassifier(cc.svm_loss_vectorized),
        Softmax=lambda: cc.LinearClassifier(cc.softmax_loss_vectorized),
        svm_loss_naive=cc.svm_loss_naive,
        svm_loss_vectorized=cc.svm_loss_vectorized,
        softmax_loss_naive=cc.softmax_loss_naive,
        softmax_loss_vectorized=cc.softmax_loss_vectorized,
        grad_check_sparse=cc.grad_check_sparse,
        eval_numerical_gradient=cc.eval_numerical_gradient,
        TwoLayerNet=cc.TwoLayerNet,
        layers=cc,
        FullyConnectedNet=cc.PlainNet,
        hog_feature=cc.hog_feature,
        color_histogram_hsv=cc.color_histogram_hsv,
        extract_features=cc.extract_features,
    )


# -- the data: the course's shapes, CIFAR-like integer pixels --------------------------------


def write_cifar10(folder: pathlib.Path) -> None:
    """CIFAR-10's six batch files (random pixels), pickled as the dataset ships them."""
    import pickle

    import numpy as np

    rng = np.random.default_rng(231)
    for name in [*(f"data_batch_{b}" for b in range(1, 6)), "test_batch"]:
        batch = {
            "data": rng.integers(0, 256, (10000, 3072), dtype=np.uint8),
            "labels": rng.integers(0, 10, 10000).tolist(),
        }
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)


def _data(np: Any, X_train: Any, y_train: Any) -> SimpleNamespace:
    pixels = X_train[:5500].reshape(5500, -1)  # float64 pixels, as load_CIFAR10 gives them
    labels = y_train[:5500]
    rng = np.random.default_rng(231)
    mean = pixels[:5000].mean(axis=0)
    with_bias = np.hstack([pixels - mean, np.ones((5500, 1))])
    return SimpleNamespace(
        X_train=pixels[:5000],
        y_train=labels[:5000],
        X_test=pixels[5000:],
        y_test=labels[5000:],
        X_dev=with_bias[:500],
        y_dev=labels[:500],
        X_lin=with_bias[:5000],
        W=rng.standard_normal((3073, 10)) * 1e-4,
        images=pixels[:200].reshape(200, 32, 32, 3),
    )


def _trained_knn(impl: Any, d: Any) -> Any:
    knn = impl.KNearestNeighbor()
    knn.train(d.X_train, d.y_train)
    return knn


def _toy_net_2019(impl: Any, np: Any) -> tuple[Any, Any, Any]:
    np.random.seed(0)
    net = impl.TwoLayerNet(4, 10, 3, std=1e-1)
    np.random.seed(1)
    return net, 10 * np.random.randn(5, 4), np.array([0, 1, 2, 2, 1])


def _fc_net(impl: Any, np: Any) -> tuple[Any, Any, Any]:
    np.random.seed(231)
    X, y = np.random.randn(2, 15), np.random.randint(10, size=2)
    if impl.name == "fastvr":
        net = impl.FullyConnectedNet(
            [20, 30], input_dim=15, num_classes=10, reg=3.14, weight_scale=5e-2, dtype=np.float64
        )
    else:
        net = impl.FullyConnectedNet([15, 20, 30, 10], weight_scale=5e-2, reg=3.14)
    return net, X, y


def _solver_step_setup(impl: Any, np: Any, d: Any) -> Any:
    np.random.seed(0)
    X = d.X_dev[:, :64]
    y = d.y_dev
    if impl.name == "course":
        from benchmarks.course_code import sgd_step

        net = impl.FullyConnectedNet([64, 100, 100, 10], weight_scale=5e-2)
        return lambda: sgd_step(net, X[:100], y[:100], 1e-3)
    net = impl.FullyConnectedNet([100, 100], input_dim=64, weight_scale=5e-2)
    data = {"X_train": X, "y_train": y, "X_val": X[:50], "y_val": y[:50]}
    solver = impl.Solver(
        net,
        data,
        update_rule="sgd",
        optim_config={"learning_rate": 1e-3},
        batch_size=100,
        print_every=10**9,
        verbose=False,
    )
    return solver._step  # what Solver.train calls once per iteration


def _two_layer_train(impl: Any, np: Any, d: Any) -> Callable[[], Any]:
    np.random.seed(0)
    net = impl.TwoLayerNet(3072, 50, 10)
    X, Xv = d.X_lin[:1000, :3072], d.X_lin[1000:1200, :3072]
    y, yv = d.y_train[:1000], d.y_train[1000:1200]
    return lambda: net.train(
        X, y, Xv, yv, num_iters=20, batch_size=200, learning_rate=1e-4, reg=0.25
    )


def _features_batch(impl: Any, d: Any) -> Callable[[], Any]:
    fns = [impl.hog_feature, lambda img: impl.color_histogram_hsv(img, nbin=10)]
    return lambda: impl.extract_features(d.images, fns)


def _cases() -> list[Case]:
    def c(name, setup, call=lambda s, d: s()):
        return Case(name, setup, call)

    return [
        c("KNearestNeighbor.train", lambda i, d: lambda: _trained_knn(i, d)),
        c(
            "compute_distances_two_loops (20 rows)",
            lambda i, d: lambda: _trained_knn(i, d).compute_distances_two_loops(d.X_test[:20]),
        ),
        c(
            "compute_distances_one_loop (50 rows)",
            lambda i, d: lambda: _trained_knn(i, d).compute_distances_one_loop(d.X_test[:50]),
        ),
        c(
            "compute_distances_no_loops",
            lambda i, d: lambda: _trained_knn(i, d).compute_distances_no_loops(d.X_test),
        ),
        c("predict_labels (k=1)", lambda i, d: _predict_labels(i, d)),
        c("predict (k=10)", lambda i, d: lambda: _trained_knn(i, d).predict(d.X_test, k=10)),
        c("svm_loss_naive", lambda i, d: lambda: i.svm_loss_naive(d.W, d.X_dev, d.y_dev, 5e-6)),
        c(
            "svm_loss_vectorized",
            lambda i, d: lambda: i.svm_loss_vectorized(d.W, d.X_dev, d.y_dev, 5e-6),
        ),
        c("grad_check_sparse (svm naive)", lambda i, d: _grad_check(i, d)),
        c(
            "softmax_loss_naive",
            lambda i, d: lambda: i.softmax_loss_naive(d.W, d.X_dev, d.y_dev, 5e-6),
        ),
        c(
            "softmax_loss_vectorized",
            lambda i, d: lambda: i.softmax_loss_vectorized(d.W, d.X_dev, d.y_dev, 5e-6),
        ),
        c("LinearSVM.train (20 steps)", lambda i, d: _linear_train(i, d, i.LinearSVM)),
        c("Softmax.train (20 steps)", lambda i, d: _linear_train(i, d, i.Softmax)),
        c("TwoLayerNet.loss (2019 toy)", lambda i, d: _toy_loss(i)),
        c("TwoLayerNet.train (20 steps)", lambda i, d: _two_layer_train(i, _np(), d)),
        c("layers: affine, relu, softmax_loss", lambda i, d: _layers(i, d)),
        c("FullyConnectedNet.loss (toy, reg)", lambda i, d: _fc_loss(i)),
        c("Solver step (2 x 100 hidden, batch 100)", lambda i, d: _solver_step_setup(i, _np(), d)),
        c("hog_feature (one image)", lambda i, d: lambda: i.hog_feature(d.images[0])),
        c(
            "color_histogram_hsv (one image)",
            lambda i, d: lambda: i.color_histogram_hsv(d.images[0], nbin=10),
        ),
        c("extract_features (200 images)", lambda i, d: _features_batch(i, d)),
    ]


def _np() -> Any:
    import numpy

    return numpy


def _predict_labels(impl: Any, d: Any) -> Callable[[], Any]:
    knn = _trained_knn(impl, d)
    dists = impl.KNearestNeighbor.compute_distances_no_loops(knn, d.X_test)
    return lambda: knn.predict_labels(dists, k=1)


def _grad_check(impl: Any, d: Any) -> Callable[[], Any]:
    W = d.W.copy()

    def check():
        _, grad = impl.svm_loss_naive(W, d.X_dev, d.y_dev, 0.0)
        f = lambda w: impl.svm_loss_naive(w, d.X_dev, d.y_dev, 0.0)[0]  # noqa: E731
        impl.grad_check_sparse(f, W, grad, 5)

    return check


def _linear_train(impl: Any, d: Any, cls: Any) -> Callable[[], Any]:
    np = _np()
    model = cls()
    np.random.seed(0)
    return lambda: model.train(d.X_lin, d.y_train, learning_rate=1e-7, reg=2.5e4, num_iters=20)


def _toy_loss(impl: Any) -> Callable[[], Any]:
    net, X, y = _toy_net_2019(impl, _np())
    return lambda: net.loss(X, y, reg=0.05)


def _layers(impl: Any, d: Any) -> Callable[[], Any]:
    np = _np()
    x, w, b = d.X_dev[:50, :64], d.W[:64], np.zeros(10)
    L = impl.layers

    def run():
        h, _ = L.affine_forward(x, w, b)
        r, _ = L.relu_forward(h)
        return L.softmax_loss(r, d.y_dev[:50])

    return run


def _fc_loss(impl: Any) -> Callable[[], Any]:
    net, X, y = _fc_net(impl, _np())
    return lambda: net.loss(X, y)


# -- the child process: import, set up, time the call twice ----------------------------------


def _child(impl_name: str, cifar: str, names: list[str]) -> None:
    t0 = time.perf_counter()
    impl = _fastvr_impl() if impl_name == "fastvr" else _course_impl()
    imported = time.perf_counter() - t0
    print(json.dumps({"case": "import", "first": imported, "second": 0.0}), flush=True)
    t0 = time.perf_counter()
    X_train, y_train, _, _ = impl.load_CIFAR10(cifar)
    loaded = time.perf_counter() - t0
    print(json.dumps({"case": "load_CIFAR10", "first": loaded, "second": loaded}), flush=True)
    np = _np()
    d = _data(np, X_train, y_train)
    del X_train
    cases = {case.name: case for case in _cases()}
    for name in names:
        case = cases[name]
        state = case.setup(impl, d)
        times = []
        for _ in range(2):
            with contextlib.redirect_stdout(io.StringIO()):
                t = time.perf_counter()
                case.call(state, d)
                times.append(time.perf_counter() - t)
        print(json.dumps({"case": name, "first": times[0], "second": times[1]}), flush=True)
    if impl_name == "fastvr":  # the next run of this case finds the cache the warm-up left
        import fastvr._warmup

        fastvr._warmup.wait()


def _run_child(impl: str, names: list[str], cache: str, cifar: str) -> list[dict]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, __file__, "--child", impl, cifar, *names],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{impl} {names}: {out.stderr[-2000:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def _process_seconds(code: str) -> float:
    """Wall time of ``python -c code`` in a fresh process (interpreter start included)."""
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="write the raw numbers here")
    parser.add_argument("--only", nargs="*", help="case names (default: all)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each case (quickest kept)")
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], args.child[2:])
        return 0
    names = [c.name for c in _cases() if not args.only or c.name in args.only]
    rows: dict[str, dict] = {}
    # (a warm-up process may still be writing to a cache folder when the run ends)
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        cifar = os.path.join(tmp, "cifar-10-batches-py")
        os.mkdir(cifar)
        write_cifar10(pathlib.Path(cifar))
        for n, name in enumerate(names):
            runs: dict[str, list[list[dict]]] = {"cold": [], "warm": [], "course": []}
            for rep in range(args.repeat):  # this machine is noisy: the quicker run counts
                cache = os.path.join(tmp, f"case{n}-{rep}")  # empty: compiles, stores
                runs["cold"].append(_run_child("fastvr", [name], cache, cifar))
                runs["warm"].append(_run_child("fastvr", [name], cache, cifar))
                runs["course"].append(_run_child("course", [name], cache, cifar))
            best = {side: min(r, key=lambda run: run[-1]["first"]) for side, r in runs.items()}
            rows[name] = {side: run[-1] for side, run in best.items()}
            if n == 0:
                for first in (0, 1):  # the import and the loading cell
                    rows[best["cold"][first]["case"]] = {
                        side: min((run[first] for run in r), key=lambda c: c["first"])
                        for side, r in runs.items()
                    }
            print(f"  {name}: done", file=sys.stderr)
        seq_cache = os.path.join(tmp, "notebook")
        sequence = {
            side: _run_child(impl, names, seq_cache, cifar)
            for side, impl in (("cold", "fastvr"), ("warm", "fastvr"), ("course", "course"))
        }
    processes = {
        "python -c 'import fastvr'": _process_seconds("import fastvr"),
        "python -c 'import numpy'": _process_seconds("import numpy"),
    }
    result = {"cases": rows, "notebook": sequence, "processes": processes}
    print(_table(rows, sequence, processes))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


def _one_off(r: dict) -> float:
    return r["first"] - r["second"]


def _table(rows: dict, sequence: dict, processes: dict) -> str:
    lines = [
        "| first call | fastvr cold: first / one-off | fastvr warm: first / one-off "
        "| course: first / second |",
        "|---|---:|---:|---:|",
    ]
    order = ["import", "load_CIFAR10", *[k for k in rows if k not in ("import", "load_CIFAR10")]]
    for name in order:
        r = rows[name]
        lines.append(
            f"| {name} | {r['cold']['first']:.3f} / {_one_off(r['cold']):.3f} "
            f"| {r['warm']['first']:.3f} / {_one_off(r['warm']):.3f} "
            f"| {r['course']['first']:.3f} / {r['course']['second']:.3f} |"
        )
    calls = {k: [r for r in v if r["case"] != "load_CIFAR10"] for k, v in sequence.items()}
    totals = {k: sum(_one_off(r) for r in v) for k, v in calls.items()}
    firsts = {k: sum(r["first"] for r in v) for k, v in calls.items()}
    lines.append(
        f"| **one notebook process, all of the above but the loading** (sum) "
        f"| {firsts['cold']:.2f} / **{totals['cold']:.2f}** "
        f"| {firsts['warm']:.2f} / **{totals['warm']:.2f}** "
        f"| {firsts['course']:.2f} / {sum(r['second'] for r in calls['course']):.2f} |"
    )
    worst = {k: max(v, key=_one_off) for k, v in calls.items() if k != "course"}
    lines.append("")
    for k, r in worst.items():
        lines.append(
            f"Largest one-off cost, {k} cache, one process: {r['case']} {_one_off(r):.3f} s"
        )
    for cmd, s in processes.items():
        lines.append(f"`{cmd}`: {s:.2f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
