"""The whole Assignment-1 pipeline on one dataset: what ``fastvr demo`` runs.

k-NN with cross-validation over k, linear SVM and softmax with a small hyper-parameter
search, the two-layer network (2019/2020 course), a fully connected network with batch norm
trained by the Solver with Adam (2021–2026 course), and on colour images the HOG + hue
features feeding a two-layer network. Each model is chosen on the validation split and
scored once on the test split; the figures are written as PNG files.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import plots
from ._backend import current_backend
from .classifiers import KNearestNeighbor
from .classifiers.fc_net import FullyConnectedNet
from .data_utils import load_CIFAR10
from .datasets import load_digits
from .features import color_histogram_hsv, extract_features, hog_feature
from .solver import Solver
from .tuning import cross_validate_k, train_linear_grid, train_two_layer_grid

CIFAR_CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@dataclass(frozen=True)
class Dataset:
    """Images split three ways; ``images_*`` are (N, H, W, C) float64."""

    name: str
    images_train: np.ndarray
    y_train: np.ndarray
    images_val: np.ndarray
    y_val: np.ndarray
    images_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]

    @property
    def colour(self) -> bool:
        return self.images_train.shape[-1] == 3


@dataclass(frozen=True)
class Result:
    """One row of the final table."""

    model: str
    val_accuracy: float
    test_accuracy: float
    seconds: float
    chosen: str


def bundled_digits(seed: int = 0) -> Dataset:
    """The bundled UCI digits (8 x 8 grey), shuffled and split 1197 / 300 / 300."""
    images, labels = load_digits()
    order = np.random.default_rng(seed).permutation(len(labels))
    images, labels = images[order][..., None], labels[order]
    return Dataset(
        "UCI digits (bundled)",
        images[:1197],
        labels[:1197],
        images[1197:1497],
        labels[1197:1497],
        images[1497:],
        labels[1497:],
        tuple("0123456789"),
    )


def cifar10(root: str, quick: bool) -> Dataset:
    """CIFAR-10 from ``root``, split as in the course (smaller with ``quick``)."""
    X_train, y_train, X_test, y_test = load_CIFAR10(root)
    num_train, num_val, num_test = (4000, 500, 500) if quick else (49000, 1000, 1000)
    num_val = min(num_val, len(y_train) // 10)  # a smaller folder still splits sensibly
    num_train = min(num_train, len(y_train) - num_val)
    return Dataset(
        "CIFAR-10",
        X_train[:num_train],
        y_train[:num_train],
        X_train[num_train : num_train + num_val],
        y_train[num_train : num_train + num_val],
        X_test[:num_test],
        y_test[:num_test],
        CIFAR_CLASSES,
    )


def _accuracy(model: Any, X: np.ndarray, y: np.ndarray, **kwargs: Any) -> float:
    return float(np.mean(np.asarray(model.predict(X, **kwargs)) == y))


def _grid_result(
    name: str, grid: Any, X_test: np.ndarray, y_test: np.ndarray, start: float, prefix: str
) -> Result:
    """The table row of a grid's best model: validation and test accuracy, time, choice."""
    lr, reg = grid.best_params
    return Result(
        name,
        grid.best_val,
        _accuracy(grid.best_model, X_test, y_test),
        time.perf_counter() - start,
        f"{prefix}lr={lr:g}, reg={reg:g}",
    )


def epoch_batch(num_train: int, target: int = 200) -> int:
    """The largest batch size up to ``target`` that divides ``num_train``.

    The 2019/2020 course loop records accuracies when ``it % (num_train / batch_size) == 0``;
    with a fractional quotient (1197 / 200) that is true at ``it = 0`` only, and the history
    has one point. A divisor makes every epoch end count.

    Examples
    --------
    >>> epoch_batch(1197), epoch_batch(49000)
    (171, 200)
    """
    return max(b for b in range(1, min(target, num_train) + 1) if num_train % b == 0)


def _flat(images: np.ndarray, mean: np.ndarray, bias: bool) -> np.ndarray:
    X = images.reshape(images.shape[0], -1) - mean
    return np.hstack([X, np.ones((X.shape[0], 1))]) if bias else X


class Demo:
    """Runs the pipeline step by step; ``progress`` wraps iterables (e.g. ``tqdm``)."""

    def __init__(
        self,
        data: Dataset,
        out_dir: str,
        quick: bool,
        progress: Callable[..., Iterable] | None = None,
    ) -> None:
        self.data, self.out_dir, self.quick = data, out_dir, quick
        self.progress = progress or (lambda it, **_: it)
        self.mean = data.images_train.reshape(data.images_train.shape[0], -1).mean(axis=0)
        self.figures: list[str] = []

    def _save(self, fig: Any, name: str) -> None:
        path = os.path.join(self.out_dir, name)
        fig.savefig(path, dpi=110)
        self.figures.append(path)

    def _split(self, bias: bool) -> tuple[np.ndarray, ...]:
        d = self.data
        return (
            _flat(d.images_train, self.mean, bias),
            _flat(d.images_val, self.mean, bias),
            _flat(d.images_test, self.mean, bias),
        )

    def knn(self) -> Result:
        start = time.perf_counter()
        d = self.data
        limit = 5000 if not self.quick else 2000  # the course's k-NN subsample on CIFAR
        X = d.images_train[:limit].reshape(min(limit, len(d.y_train)), -1)
        y = d.y_train[:limit]
        k_choices = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]
        k_to_accuracies = cross_validate_k(X, y, k_choices, num_folds=5)
        best_k = max(k_choices, key=lambda k: (np.mean(k_to_accuracies[k]), -k))
        self._save(plots.cross_validation(k_to_accuracies, best_k), "knn_cross_validation.png")
        knn = KNearestNeighbor()
        knn.train(X, y)
        val = _accuracy(knn, d.images_val.reshape(len(d.y_val), -1), d.y_val, k=best_k)
        test = _accuracy(knn, d.images_test.reshape(len(d.y_test), -1), d.y_test, k=best_k)
        return Result("k-NN", val, test, time.perf_counter() - start, f"k={best_k}")

    def linear(
        self, kind: str, name: str, rates: list[float], regs: list[float], num_iters: int
    ) -> Result:
        """A linear classifier's learning-rate x regularisation grid, trained in one run."""
        start = time.perf_counter()
        X_train, X_val, X_test = self._split(bias=True)
        d = self.data
        np.random.seed(0)
        grid = train_linear_grid(
            kind,
            X_train,
            d.y_train,
            X_val,
            d.y_val,
            rates,
            regs,
            num_iters=num_iters,
            batch_size=200,
        )
        slug = name.lower().replace(" ", "_")
        self._save(
            plots.hyperparameter_grid(grid.results, title=name, chosen=grid.best_params),
            f"{slug}_grid.png",
        )
        self._save(
            plots.training_history(grid.histories[grid.best_params], title=name), f"{slug}_loss.png"
        )
        shape = d.images_train.shape[1:]
        self._save(
            plots.class_templates(
                grid.best_model.W,
                d.class_names,
                shape if shape[-1] == 3 else shape[:-1],
                title=f"{name}: the learned weights of each class",
            ),
            f"{slug}_templates.png",
        )
        return _grid_result(name, grid, X_test, d.y_test, start, "")

    def net(
        self,
        name: str,
        X_train: np.ndarray,
        X_val: np.ndarray,
        X_test: np.ndarray,
        hidden: int,
        rates: list[float],
        regs: list[float],
        num_iters: int,
        figure: str,
    ) -> Result:
        """A two-layer net's learning-rate x regularisation grid, trained in one run."""
        start = time.perf_counter()
        d = self.data
        batch = epoch_batch(len(d.y_train))
        epochs = num_iters * batch / len(d.y_train)
        np.random.seed(0)
        grid = train_two_layer_grid(
            X_train,
            d.y_train,
            X_val,
            d.y_val,
            hidden,
            rates,
            regs,
            num_iters=num_iters,
            batch_size=batch,
            learning_rate_decay=0.5 ** (1 / epochs),  # the rate halves over the whole run
            std=1e-2,
        )
        stats = grid.stats[grid.best_params]
        every = len(d.y_train) // batch  # the 2019/2020 loop checks accuracy once per epoch
        self._save(plots.training_history(title=name, accuracy_every=every, **stats), figure)
        return _grid_result(name, grid, X_test, d.y_test, start, f"hidden={hidden}, ")

    def features(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """HOG + hue histograms, standardised as in the course's features notebook."""
        d = self.data
        fns = [hog_feature, functools.partial(color_histogram_hsv, nbin=10)]
        feats = [
            extract_features(images, fns)
            for images in (d.images_train, d.images_val, d.images_test)
        ]
        mean = feats[0].mean(axis=0, keepdims=True)
        std = feats[0].std(axis=0, keepdims=True)
        return tuple((f - mean) / np.where(std > 0, std, 1.0) for f in feats)

    def run(self) -> list[Result]:
        iters = 300 if self.quick else 1500
        steps: list[tuple[str, Callable[[], Result]]] = [
            ("k-NN", self.knn),
            (
                "linear SVM",
                lambda: self.linear("svm", "Linear SVM", *self._linear_grid(), iters),
            ),
            ("softmax", lambda: self.linear("softmax", "Softmax", *self._linear_grid(), iters)),
            (
                "two-layer net",
                lambda: self.net(
                    "Two-layer net",
                    *self._split(bias=False),
                    *self._net_grid(),
                    iters * 2,
                    "two_layer_net_history.png",
                ),
            ),
        ]
        steps.append(("fully connected net", self.fully_connected))
        if self.data.colour:
            steps.append(("features + net", self._features_net))
        results = []
        for _, step in self.progress(steps, desc="demo"):
            results.append(step())
        return results

    def fully_connected(self) -> Result:
        """The 2021–2026 course's pipeline: a FullyConnectedNet with batch norm, trained by
        the Solver with Adam; the best epoch's parameters are kept, as the Solver does."""
        start = time.perf_counter()
        d = self.data
        X_train, X_val, X_test = self._split(bias=False)
        hidden = [100, 100]
        np.random.seed(0)
        model = FullyConnectedNet(
            hidden,
            input_dim=X_train.shape[1],
            num_classes=len(d.class_names),
            normalization="batchnorm",
            reg=1e-3,
            weight_scale=5e-2,
        )
        data = {"X_train": X_train, "y_train": d.y_train, "X_val": X_val, "y_val": d.y_val}
        solver = Solver(
            model,
            data,
            update_rule="adam",
            optim_config={"learning_rate": 1e-3},
            lr_decay=0.95,
            batch_size=100,
            num_epochs=5 if self.quick else 20,
            verbose=False,
        )
        solver.train()
        title = "Fully connected net (Solver, Adam)"
        self._save(
            plots.training_history(
                solver.loss_history,
                solver.train_acc_history,
                solver.val_acc_history,
                title=title,
            ),
            "fully_connected_net_history.png",
        )
        scores = model.loss(X_test)
        test = float(np.mean(np.argmax(scores, axis=1) == d.y_test))
        return Result(
            "Fully connected net",
            float(solver.best_val_acc),
            test,
            time.perf_counter() - start,
            f"hidden={hidden}, batchnorm, adam lr=1e-3",
        )

    def _features_net(self) -> Result:
        start = time.perf_counter()
        result = self.net(
            "Features + net",
            *self.features(),
            200,
            [0.3, 1.0],
            [1e-4, 1e-3],
            600 if self.quick else 3000,
            "features_net_history.png",
        )
        return Result(
            result.model,
            result.val_accuracy,
            result.test_accuracy,
            time.perf_counter() - start,
            result.chosen,
        )

    def _rates(self, factors: tuple[float, ...]) -> list[float]:
        """Learning rates for this data's scale (pixels of 0..16 or 0..255), one digit each."""
        scale = float(np.mean(np.square(self.mean))) or 1.0
        return [float(f"{f / scale:.0e}") for f in factors]

    def _linear_grid(self) -> tuple[list[float], list[float]]:
        # Decades around the optimum of both losses: on the bundled digits the SVM's best is
        # (second rate, third strength) and softmax's (third rate, second strength), so
        # neither sits on the grid's edge (the figures outline the chosen cell).
        if self.quick:
            return self._rates((1e-2, 1e-1)), [1e-3, 1e-1]
        return self._rates((1e-3, 1e-2, 1e-1, 1.0)), [1e-3, 1e-2, 1e-1, 1.0]

    def _net_grid(self) -> tuple[int, list[float], list[float]]:
        if self.quick:
            return 100, self._rates((1e-1,)), [1e-3]
        return 100, self._rates((3e-2, 1e-1, 3e-1)), [1e-4, 1e-2]


def format_table(results: list[Result], backend: str) -> str:
    """The final table, in Markdown."""
    lines = ["| model | validation | test | time | chosen |", "|---|---:|---:|---:|---|"]
    for r in results:
        lines.append(
            f"| {r.model} | {r.val_accuracy:.3f} | {r.test_accuracy:.3f} | "
            f"{r.seconds:.1f} s | {r.chosen} |"
        )
    return "\n".join(lines) + f"\n\nbackend: {backend}"


def run(
    data_path: str | None,
    out_dir: str,
    quick: bool,
    progress: Callable[..., Iterable] | None = None,
) -> tuple[Dataset, list[Result], Demo]:
    """Load the data, run every step, write the figures; returns what the command prints."""
    data = cifar10(data_path, quick) if data_path else bundled_digits()
    os.makedirs(out_dir, exist_ok=True)
    demo = Demo(data, out_dir, quick, progress)
    return data, demo.run(), demo


def backend_name() -> str:
    return str(current_backend())
