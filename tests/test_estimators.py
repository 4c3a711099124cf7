"""scikit-learn compatibility: the estimator checks, Pipeline and GridSearchCV."""

from __future__ import annotations

import numpy as np
import pytest

import fastvr

sklearn = pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastvr.estimators import (  # noqa: E402
    KNNClassifier,
    LinearSVMClassifier,
    SoftmaxClassifier,
    TwoLayerNetClassifier,
)

ESTIMATORS = [
    KNNClassifier(),
    LinearSVMClassifier(),
    SoftmaxClassifier(),
    TwoLayerNetClassifier(num_iters=300),
]


@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def _blobs(rng, n=150):
    centres = np.array([[0.0, 0.0], [4.0, 4.0], [0.0, 5.0]])
    y = rng.integers(0, 3, n)
    return centres[y] + rng.normal(size=(n, 2)), np.array(["ant", "bee", "cow"])[y]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_pipeline_grid_search_and_string_labels(estimator, rng):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _blobs(rng)
    estimator = clone(estimator)
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=0)  # independent of numpy's global random state
    name = type(estimator).__name__.lower()
    grid = {
        "knnclassifier": {"knnclassifier__n_neighbors": [1, 5]},
        "linearsvmclassifier": {"linearsvmclassifier__reg": [1e-4, 1e-1]},
        "softmaxclassifier": {"softmaxclassifier__learning_rate": [1e-2, 1e-1]},
        "twolayernetclassifier": {"twolayernetclassifier__hidden_size": [10, 20]},
    }[name]
    search = GridSearchCV(make_pipeline(StandardScaler(), estimator), grid, cv=3).fit(X, y)
    assert set(search.predict(X)) <= {"ant", "bee", "cow"}
    assert search.score(X, y) > 0.9
    fitted = search.best_estimator_[-1]
    assert list(fitted.classes_) == ["ant", "bee", "cow"]
    if hasattr(fitted, "predict_proba"):
        proba = search.predict_proba(X)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert (fitted.classes_[np.argmax(proba, axis=1)] == search.predict(X)).mean() > 0.95


def test_random_state_leaves_the_global_state_alone(rng):
    X, y = _blobs(rng)
    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    a = LinearSVMClassifier(random_state=0).fit(X, y)
    b = LinearSVMClassifier(random_state=0).fit(X, y)
    np.testing.assert_array_equal(fastvr.to_numpy(a.model_.W), fastvr.to_numpy(b.model_.W))
    np.testing.assert_array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_device_arrays_stay_on_their_device(estimator, rng):
    """The CuPy input path, rehearsed on the off-host stand-in: fastvr validates, fits and
    predicts where the arrays live, and the answers equal the numpy ones."""
    from sklearn.base import clone

    from .conftest import StrictOffHost, placed

    X, names = _blobs(rng, n=90)
    y = np.searchsorted(["ant", "bee", "cow"], names) * 10  # numeric labels 0, 10, 20
    estimator = clone(estimator)
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=0)
    device = StrictOffHost()
    Xd, yd = device.asarray(X), device.asarray(y)
    on_device = clone(estimator).fit(Xd, yd)
    on_host = clone(estimator).fit(X, y)
    np.testing.assert_array_equal(on_device.classes_, [0, 10, 20])
    predicted = on_device.predict(Xd)
    assert placed(predicted) == placed(Xd)
    np.testing.assert_array_equal(fastvr.to_numpy(predicted), on_host.predict(X))
    if hasattr(estimator, "predict_proba"):
        proba = on_device.predict_proba(Xd)
        assert placed(proba) == placed(Xd)
        np.testing.assert_allclose(fastvr.to_numpy(proba), on_host.predict_proba(X), rtol=1e-10)
