"""The figures say what they show: model names, one colour scale for compared panels, the
chosen setting marked, ticks in the table's notation, legends, meaningful x axes."""

from __future__ import annotations

import numpy as np
import pytest

from fastvr import plots

RESULTS = {
    (1e-4, 1e-2): (0.90, 0.80),
    (1e-3, 1e-2): (0.99, 0.95),
    (1e-4, 1e-1): (0.70, 0.60),
    (1e-3, 1e-1): (0.85, 0.86),
}


def test_the_grid_names_the_model_shares_one_scale_and_outlines_the_choice():
    fig = plots.hyperparameter_grid(RESULTS, title="Linear SVM", chosen=(1e-3, 1e-2))
    grids = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in grids] == [
        "Linear SVM: training accuracy",
        "Linear SVM: validation accuracy",
    ]
    assert {ax.images[0].get_clim() for ax in grids} == {(0.6, 0.99)}  # one scale for both
    assert len(fig.axes) == 3  # two heat maps, one colour bar
    for ax in grids:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["0.0001", "0.001"]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["0.01", "0.1"]
        (outline,) = ax.patches
        assert outline.get_xy() == (0.5, -0.5)  # column of lr 1e-3, row of reg 1e-2
    with pytest.raises(ValueError, match="chosen must be one of"):
        plots.hyperparameter_grid(RESULTS, chosen=(1.0, 1.0))


def test_cross_validation_has_a_legend_and_marks_the_chosen_k():
    fig = plots.cross_validation({1: [0.9, 0.8], 3: [0.85, 0.95]}, chosen=3)
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["one fold", "mean ± std over folds", "chosen: k = 3"]
    assert "k-NN" in ax.get_title()


def test_accuracy_against_iterations_when_told_how_often_it_was_checked():
    fig = plots.training_history(
        np.linspace(2.3, 0.1, 21), [0.1, 0.5, 0.9], [0.1, 0.4, 0.8], "net", accuracy_every=10
    )
    accuracy = fig.axes[1]
    assert accuracy.get_xlabel() == "iteration"
    np.testing.assert_array_equal(accuracy.lines[0].get_xdata(), [0, 10, 20])
    assert [t.get_text() for t in accuracy.get_legend().get_texts()] == ["train", "validation"]
    epochs = plots.training_history([1.0, 0.5], [0.2, 0.4], [0.2, 0.3]).axes[1]
    assert epochs.get_xlabel() == "epoch"


def test_templates_carry_the_models_name():
    W = np.random.default_rng(0).normal(size=(17, 2))
    fig = plots.class_templates(W, ["a", "b"], (4, 4), title="Softmax")
    assert fig.get_suptitle() == "Softmax"
