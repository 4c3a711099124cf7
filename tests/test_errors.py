"""SPEC §4: bad input raises at the public boundary, names the argument, changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

import fastvr
from fastvr.classifiers import KNearestNeighbor


@pytest.fixture
def trained(rng):
    knn = KNearestNeighbor()
    knn.train(rng.normal(size=(10, 4)), rng.integers(0, 3, 10))
    return knn


def test_feature_count_mismatch(trained):
    for call in (
        trained.predict,
        trained.compute_distances_no_loops,
        trained.compute_distances_one_loop,
        trained.compute_distances_two_loops,
    ):
        with pytest.raises(ValueError, match=r"X has 5 features but the training data has 4"):
            call(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"X has 3 features but Y has 2"):
        fastvr.pairwise_distances(np.zeros((1, 3)), np.zeros((1, 2)))


@pytest.mark.parametrize("k", [0, -1, 11])
def test_k_out_of_range(trained, k):
    with pytest.raises(ValueError, match=r"k must be between 1 and 10; got"):
        trained.predict(np.zeros((1, 4)), k=k)
    with pytest.raises(ValueError, match=r"k must be between 1 and 10"):
        trained.predict_labels(np.zeros((1, 10)), k=k)


@pytest.mark.parametrize("k", [2.5, "3", True, None])
def test_k_not_an_integer(trained, k):
    with pytest.raises(TypeError, match=r"k must be an integer"):
        trained.predict(np.zeros((1, 4)), k=k)


def test_numpy_integer_k_is_fine(trained):
    assert trained.predict(np.zeros((1, 4)), k=np.int64(3)).shape == (1,)


@pytest.mark.parametrize("num_loops", [3, -1])
def test_invalid_num_loops_uses_the_course_message(trained, num_loops):
    with pytest.raises(ValueError, match=f"^Invalid value {num_loops} for num_loops$"):
        trained.predict(np.zeros((1, 4)), num_loops=num_loops)


def test_num_loops_not_an_integer(trained):
    with pytest.raises(TypeError, match="num_loops"):
        trained.predict(np.zeros((1, 4)), num_loops="two")


def test_calls_before_train():
    knn = KNearestNeighbor()
    for call in (
        lambda: knn.predict(np.zeros((1, 2))),
        lambda: knn.compute_distances_two_loops(np.zeros((1, 2))),
        lambda: knn.compute_distances_no_loops(np.zeros((1, 2))),
        lambda: knn.predict_labels(np.zeros((1, 2))),
    ):
        with pytest.raises(RuntimeError, match=r"not trained yet: call train"):
            call()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_data(trained, bad, rng):
    X = rng.normal(size=(10, 4))
    X[3, 2] = bad
    with pytest.raises(ValueError, match=r"^X contains NaN or infinity"):
        KNearestNeighbor().train(X, np.zeros(10, dtype=int))
    with pytest.raises(ValueError, match=r"^X contains NaN or infinity"):
        trained.predict(X)
    with pytest.raises(ValueError, match=r"^Y contains NaN or infinity"):
        fastvr.pairwise_distances(np.zeros((1, 4)), X)
    dists = np.zeros((2, 10))
    dists[1, 3] = bad
    with pytest.raises(ValueError, match=r"^dists contains NaN or infinity"):
        trained.predict_labels(dists)


@pytest.mark.parametrize("shape", [(0, 4), (3, 0)])
def test_empty(trained, shape):
    with pytest.raises(ValueError, match=r"X must not be empty"):
        trained.predict(np.zeros(shape))
    with pytest.raises(ValueError, match=r"X must not be empty"):
        KNearestNeighbor().train(np.zeros(shape), np.zeros(shape[0], dtype=int))


@pytest.mark.parametrize("shape", [(4,), (2, 2, 1), ()])
def test_not_two_dimensional(trained, shape):
    with pytest.raises(ValueError, match=r"X must be a 2-D array \(n_samples, n_features\)"):
        trained.predict(np.zeros(shape))


def test_non_numeric_data(trained):
    with pytest.raises(TypeError, match=r"X must hold real numbers; got dtype complex"):
        trained.predict(np.zeros((1, 4), dtype=complex))
    with pytest.raises(TypeError, match=r"X must hold real numbers; got dtype bool"):
        trained.predict(np.zeros((1, 4), dtype=bool))
    with pytest.raises(TypeError, match=r"X must be a numeric array"):
        trained.predict(np.array([[object()] * 4]))


def test_bad_labels(rng):
    X = rng.normal(size=(4, 2))
    knn = KNearestNeighbor()
    with pytest.raises(TypeError, match=r"y must hold integer class labels; got dtype float64"):
        knn.train(X, np.array([0.0, 1.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match=r"y must hold non-negative labels; got min -1"):
        knn.train(X, np.array([0, -1, 1, 0]))
    with pytest.raises(ValueError, match=r"y must have one label per sample \(4\); got 3"):
        knn.train(X, np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"y must be a 1-D array of labels"):
        knn.train(X, np.zeros((4, 1), dtype=int))


def test_failed_train_leaves_the_model_as_it_was(trained):
    X_before, y_before = trained.X_train, trained.y_train
    pred_before = trained.predict(np.ones((2, 4)), k=3)
    with pytest.raises(ValueError):
        trained.train(np.zeros((5, 4)), np.array([0, 1, -2, 0, 1]))
    assert trained.X_train is X_before and trained.y_train is y_before
    np.testing.assert_array_equal(trained.predict(np.ones((2, 4)), k=3), pred_before)


def test_dists_with_the_wrong_number_of_columns(trained):
    with pytest.raises(ValueError, match=r"dists must have one column per training sample"):
        trained.predict_labels(np.zeros((2, 9)))


def test_mixed_array_libraries(rng):
    xps = pytest.importorskip("array_api_strict")
    X = rng.normal(size=(3, 2))
    with pytest.raises(TypeError, match=r"different libraries or devices.*numpy.*array_api_strict"):
        fastvr.pairwise_distances(X, xps.asarray(X))
    knn = KNearestNeighbor()
    with pytest.raises(TypeError, match=r"different libraries"):
        knn.train(xps.asarray(X), np.array([0, 1, 0]))
    with fastvr.backend("numpy"):
        knn.train(X, np.array([0, 1, 0]))
    with pytest.raises(TypeError, match=r"fitted on numpy but got array_api_strict "):
        knn.predict(xps.asarray(X))


def test_mixed_numpy_and_cupy(rng):
    from fastvr._backend import cuda_device_count

    if cuda_device_count() == 0:
        pytest.skip("needs a CUDA device")
    import cupy

    X = rng.normal(size=(3, 2))
    with pytest.raises(TypeError, match=r"numpy and cupy \(GPU 0\)"):
        fastvr.pairwise_distances(X, cupy.asarray(X))


def test_bad_metric_method_and_options():
    X = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"metric must be one of"):
        fastvr.pairwise_distances(X, metric="cosine")
    with pytest.raises(ValueError, match=r"method must be one of"):
        fastvr.pairwise_distances(X, method="three_loops")
    with pytest.raises(ValueError, match=r"squared=True only applies to metric='l2'"):
        fastvr.pairwise_distances(X, metric="l1", squared=True)
    with pytest.raises(ValueError, match=r"metric must be one of"):
        KNearestNeighbor(metric="chebyshev")


@pytest.mark.parametrize(
    ("value", "error"),
    [(0, ValueError), (-5, ValueError), (float("nan"), ValueError), ("1GB", TypeError)],
)
def test_bad_working_memory(value, error):
    with pytest.raises(error, match="working_memory"):
        fastvr.set_working_memory(value)
    with pytest.raises(error, match="working_memory"):
        KNearestNeighbor(working_memory=value)
    assert fastvr.get_working_memory() == 1024.0
