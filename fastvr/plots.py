"""Figures for the assignment's results, as matplotlib ``Figure`` objects (no pyplot state).

Every function returns a :class:`matplotlib.figure.Figure`; save it with
``fig.savefig(path)`` (works headless) or display it in a notebook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._validation import check_host_values, check_int, check_real


def _accuracies(values: Any, name: str, count: int | None = None) -> np.ndarray:
    """Accuracies as fractions in [0, 1] (1-D; exactly ``count`` of them when given)."""
    values = check_host_values(values, name, ndim=1)
    if count is not None and values.shape != (count,):
        raise ValueError(f"{name} must be {count} accuracies; got {values.shape[0]}")
    if not ((values >= 0) & (values <= 1)).all():
        raise ValueError(f"{name} must hold accuracies, fractions in [0, 1]; got {values}")
    return values


def _mapping(value: Any, name: str) -> Mapping:
    if not isinstance(value, Mapping) or not value:
        raise TypeError(f"{name} must be a non-empty dict; got {value!r}")
    return value


def _figure(width: float = 6.4, height: float = 4.2):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def cross_validation(k_to_accuracies: Mapping[int, Sequence[float]], chosen: int | None = None):
    """Accuracy of every fold against k, with the mean and standard deviation per k; the
    ``chosen`` k, when given, is marked.

    Examples
    --------
    >>> from fastvr.plots import cross_validation
    >>> fig = cross_validation({1: [0.2, 0.3], 5: [0.4, 0.35]}, chosen=5)
    >>> fig.axes[0].get_xlabel(), [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ('k', ['one fold', 'mean ± std over folds', 'chosen: k = 5'])
    """
    folds = {
        check_int(k, "k_to_accuracies: each k", low=1): _accuracies(v, f"k_to_accuracies[{k!r}]")
        for k, v in _mapping(k_to_accuracies, "k_to_accuracies").items()
    }
    if chosen is not None and chosen not in folds:
        raise ValueError(f"chosen must be one of the k in k_to_accuracies; got {chosen!r}")
    fig = _figure()
    ax = fig.add_subplot()
    ks = sorted(folds)
    xs = [k for k in ks for _ in folds[k]]
    handles = [
        ax.scatter(
            xs, np.concatenate([folds[k] for k in ks]), color="tab:gray", s=12, label="one fold"
        )
    ]
    means = [np.mean(folds[k]) for k in ks]
    stds = [np.std(folds[k]) for k in ks]
    handles.append(
        ax.errorbar(
            ks,
            means,
            yerr=stds,
            color="tab:blue",
            marker="o",
            capsize=3,
            label="mean ± std over folds",
        )
    )
    if chosen is not None:
        handles.append(
            ax.scatter(
                [chosen],
                [np.mean(folds[chosen])],
                s=160,
                facecolors="none",
                edgecolors="tab:red",
                linewidths=2,
                zorder=3,
                label=f"chosen: k = {chosen}",
            )
        )
    ax.set(
        title="k-NN: cross-validation accuracy against k",
        xlabel="k",
        ylabel="cross-validation accuracy",
    )
    ax.legend(handles=handles)
    return fig


def training_history(
    loss_history: Sequence[float],
    train_acc_history: Sequence[float] = (),
    val_acc_history: Sequence[float] = (),
    title: str = "Training",
    accuracy_every: int | None = None,
):
    """Loss per iteration and, when given, train and validation accuracy per epoch; with
    ``accuracy_every`` (iterations between two accuracy checks) the accuracies are drawn
    against iterations too, on the loss's axis.

    Examples
    --------
    >>> from fastvr.plots import training_history
    >>> fig = training_history([2.3, 1.9, 1.2], [0.3, 0.5], [0.28, 0.45], title="net")
    >>> [ax.get_title() for ax in fig.axes]
    ['net: loss', 'net: accuracy']
    """
    # a diverged run's loss is NaN or infinite: drawn as a gap, not refused
    loss_history = check_host_values(loss_history, "loss_history", ndim=1, finite=False, empty=True)
    train_acc_history = check_host_values(
        train_acc_history, "train_acc_history", ndim=1, empty=True
    )
    val_acc_history = check_host_values(val_acc_history, "val_acc_history", ndim=1, empty=True)
    if not isinstance(title, str):
        raise TypeError(f"title must be a str; got {title!r}")
    if accuracy_every is not None:
        accuracy_every = check_int(accuracy_every, "accuracy_every", low=1)
    with_accuracy = bool(len(train_acc_history) or len(val_acc_history))
    fig = _figure(height=6.0 if with_accuracy else 4.2)
    axes = fig.subplots(
        2 if with_accuracy else 1, 1, squeeze=False, sharex=accuracy_every is not None
    )[:, 0]
    axes[0].plot(loss_history, linewidth=0.8)
    axes[0].set(title=f"{title}: loss", xlabel="iteration", ylabel="loss")
    if with_accuracy:
        step, unit = (1, "epoch") if accuracy_every is None else (accuracy_every, "iteration")
        for values, label in ((train_acc_history, "train"), (val_acc_history, "validation")):
            axes[1].plot(np.arange(len(values)) * step, values, label=label, marker=".")
        axes[1].set(title=f"{title}: accuracy", xlabel=unit, ylabel="accuracy")
        axes[1].legend()
    return fig


def class_templates(
    W: Any, class_names: Sequence[str], image_shape: tuple[int, ...], title: str | None = None
):
    """The learned weights of each class as an image (the bias row, if any, is dropped),
    under ``title`` (the model's name) when given.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.plots import class_templates
    >>> W = np.random.default_rng(0).normal(size=(8 * 8 + 1, 3))  # 8 x 8 grey, bias row last
    >>> fig = class_templates(W, ["zero", "one", "two"], (8, 8))
    >>> [ax.get_title() for ax in fig.axes]
    ['zero', 'one', 'two']
    """
    W = check_host_values(W, "W", ndim=2)
    if isinstance(image_shape, (str, bytes)) or not isinstance(image_shape, Sequence):
        raise TypeError(f"image_shape must be a tuple of sizes; got {image_shape!r}")
    image_shape = tuple(check_int(n, "image_shape", low=1) for n in image_shape)
    size = int(np.prod(image_shape))
    if not image_shape or size > W.shape[0]:
        raise ValueError(
            f"image_shape {image_shape} needs {size} weights per class; W has {W.shape[0]}"
        )
    if isinstance(class_names, (str, bytes)) or not isinstance(class_names, Sequence):
        raise TypeError(f"class_names must be a list of names; got {class_names!r}")
    if len(class_names) != W.shape[1]:
        raise ValueError(
            f"class_names has {len(class_names)} names for the {W.shape[1]} classes of W"
        )
    templates = W[:size, :].reshape(*image_shape, -1)
    low, high = templates.min(), templates.max()
    fig = _figure(width=max(1.3 * len(class_names), 4.0), height=1.9 if title is None else 2.3)
    for i, name in enumerate(class_names):
        ax = fig.add_subplot(1, len(class_names), i + 1)
        image = 255.0 * (templates[..., i] - low) / (high - low if high > low else 1.0)
        ax.imshow(image.astype("uint8"), cmap="gray" if image.ndim == 2 else None)
        ax.set_axis_off()
        ax.set_title(str(name), fontsize=9)
    if title is not None:
        fig.suptitle(str(title))
    return fig


def hyperparameter_grid(
    results: Mapping[tuple[float, float], tuple[float, float]],
    title: str | None = None,
    chosen: tuple[float, float] | None = None,
):
    """Train and validation accuracy over a (learning rate, regularisation) grid, on one
    colour scale; the ``chosen`` (learning rate, reg) cell, when given, is outlined.

    ``results[(lr, reg)] = (train_accuracy, val_accuracy)``, the course's layout. Ticks read
    as the demo's table does (``0.0002``); ``title`` names the model.

    Examples
    --------
    >>> from fastvr.plots import hyperparameter_grid
    >>> results = {(1e-7, 2.5e4): (0.37, 0.38), (1e-6, 2.5e4): (0.30, 0.29)}
    >>> fig = hyperparameter_grid(results, title="SVM", chosen=(1e-7, 2.5e4))
    >>> [ax.get_title() for ax in fig.axes[:2]]  # the two heat maps, then their colour bar
    ['SVM: training accuracy', 'SVM: validation accuracy']
    """
    results = dict(_mapping(results, "results"))
    for combo, accuracies in results.items():
        if not isinstance(combo, tuple) or len(combo) != 2:
            raise TypeError(f"results must be keyed by (learning rate, reg) pairs; got {combo!r}")
        for value in combo:
            check_real(value, f"results: the key {combo!r}")
        _accuracies(accuracies, f"results[{combo!r}]", count=2)
    if chosen is not None and chosen not in results:
        raise ValueError(f"chosen must be one of the (learning rate, reg) keys; got {chosen!r}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str; got {title!r}")
    rates = sorted({lr for lr, _ in results})
    regs = sorted({reg for _, reg in results})
    values = np.array(list(results.values()))
    low, high = float(values.min()), float(values.max())
    fig = _figure(width=9.0)
    axes = fig.subplots(1, 2)
    for ax, (name, column) in zip(axes, (("training", 0), ("validation", 1)), strict=True):
        grid = np.full((len(regs), len(rates)), np.nan)
        for (lr, reg), accuracies in results.items():
            grid[regs.index(reg), rates.index(lr)] = accuracies[column]
        image = ax.imshow(grid, origin="lower", cmap="viridis", aspect="auto", vmin=low, vmax=high)
        ax.set_xticks(range(len(rates)), [f"{v:g}" for v in rates], rotation=45)
        ax.set_yticks(range(len(regs)), [f"{v:g}" for v in regs])
        prefix = f"{title}: " if title else ""
        ax.set(title=f"{prefix}{name} accuracy", xlabel="learning rate", ylabel="regularisation")
        if chosen is not None:
            x, y = rates.index(chosen[0]), regs.index(chosen[1])
            ax.add_patch(_outline(x, y, label="chosen (best validation)"))
    fig.colorbar(image, ax=list(axes), label="accuracy")
    if chosen is not None:
        axes[1].legend(loc="upper left", bbox_to_anchor=(0, -0.25), frameon=False)
    return fig


def _outline(x: int, y: int, label: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(
        (x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="tab:red", linewidth=2.5, label=label
    )
