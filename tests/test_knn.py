"""KNearestNeighbor against scikit-learn, the course's loop, and hand-built tie cases."""

from __future__ import annotations

import numpy as np
import pytest

import fastvr
from fastvr.classifiers import KNearestNeighbor
from fastvr.classifiers.k_nearest_neighbor import KNearestNeighbor as FromModulePath

from .conftest import library_name, placed, to_xp
from .oracles import distances_loop, knn_predict_loop


def _blobs(rng, n, d=20, classes=4):
    centres = rng.normal(size=(classes, d)) * 3
    y = rng.integers(0, classes, n)
    return centres[y] + rng.normal(size=(n, d)), y


def test_course_module_path():
    assert FromModulePath is KNearestNeighbor


@pytest.mark.parametrize("k", [1, 3, 7])
def test_predict_matches_scikit_learn_brute(k, rng):
    from sklearn.neighbors import KNeighborsClassifier

    X, y = _blobs(rng, 300)
    T, _ = _blobs(rng, 80)
    knn = KNearestNeighbor()
    knn.train(X, y)
    want = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(X, y).predict(T)
    for num_loops in (0, 1, 2):
        np.testing.assert_array_equal(knn.predict(T, k=k, num_loops=num_loops), want)


@pytest.mark.parametrize("num_loops", [0, 1, 2])
def test_predict_follows_the_course_loop_on_every_backend(xp, num_loops, rng):
    X = rng.integers(0, 4, size=(60, 5)).astype(np.float64)  # integer grid: many exact ties
    y = rng.integers(0, 3, 60)
    T = rng.integers(0, 4, size=(25, 5)).astype(np.float64)
    knn = KNearestNeighbor()
    knn.train(to_xp(xp, X), to_xp(xp, y))
    dists = distances_loop(T, X)
    for k in (1, 2, 5, 10):
        got = knn.predict(to_xp(xp, T), k=k, num_loops=num_loops)
        assert placed(got) == placed(to_xp(xp, T))
        np.testing.assert_array_equal(fastvr.to_numpy(got), knn_predict_loop(dists, y, k))


def test_equal_distances_keep_the_lower_training_index():
    # Test point 0 is at distance 1 from rows 0..3; rows 2 and 3 are labelled 1, rows 0 and 1
    # are labelled 0. With k=2 the course keeps rows 0 and 1 (lower indices): label 0.
    X = np.array([[1.0], [-1.0], [1.0], [-1.0], [10.0]])
    y = np.array([0, 0, 1, 1, 1])
    knn = KNearestNeighbor()
    knn.train(X, y)
    for num_loops in (0, 1, 2):
        assert knn.predict(np.array([[0.0]]), k=2, num_loops=num_loops).tolist() == [0]
    knn.train(X[::-1].copy(), y[::-1].copy())  # reversed: the labelled-1 rows come first
    for num_loops in (0, 1, 2):
        assert knn.predict(np.array([[0.0]]), k=2, num_loops=num_loops).tolist() == [1]


def test_vote_ties_go_to_the_smaller_label():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([7, 2, 7, 2])  # k=4: two votes each
    knn = KNearestNeighbor()
    knn.train(X, y)
    assert knn.predict(np.array([[1.5]]), k=4).tolist() == [2]
    assert knn.predict(np.array([[0.0]]), k=2).tolist() == [2]  # rows 0 (7) and 1 (2) tie


def test_labels_need_not_be_contiguous(rng):
    X, y = _blobs(rng, 100, classes=3)
    labels = np.array([5, 40, 900])
    knn = KNearestNeighbor()
    knn.train(X, labels[y])
    dense = KNearestNeighbor()
    dense.train(X, y)
    T, _ = _blobs(rng, 30, classes=3)
    np.testing.assert_array_equal(knn.predict(T, k=5), labels[dense.predict(T, k=5)])


def test_compute_distances_match_the_float64_loop(xp, rng):
    X, y = rng.normal(size=(40, 12)), rng.integers(0, 3, 40)
    T = rng.normal(size=(9, 12))
    knn = KNearestNeighbor()
    knn.train(to_xp(xp, X), to_xp(xp, y))
    want = distances_loop(T, X)
    for method in (
        knn.compute_distances_no_loops,
        knn.compute_distances_one_loop,
        knn.compute_distances_two_loops,
    ):
        got = method(to_xp(xp, T))
        assert got.shape == (9, 40)
        assert placed(got) == placed(to_xp(xp, T))
        np.testing.assert_allclose(fastvr.to_numpy(got), want, rtol=1e-10, atol=1e-12)


def test_predict_labels_matches_course_loop(rng):
    X, y = rng.normal(size=(50, 4)), rng.integers(0, 5, 50)
    knn = KNearestNeighbor()
    knn.train(X, y)
    dists = knn.compute_distances_two_loops(rng.normal(size=(20, 4)))
    for k in (1, 4, 50):
        np.testing.assert_array_equal(knn.predict_labels(dists, k=k), knn_predict_loop(dists, y, k))


def test_streaming_in_small_blocks_gives_the_same_labels(rng):
    X, y = _blobs(rng, 400)
    T, _ = _blobs(rng, 150)
    knn = KNearestNeighbor()
    knn.train(X, y)
    whole = knn.predict(T, k=5)
    small = KNearestNeighbor(working_memory=0.05)  # ~50 KiB: a few rows per block
    small.train(X, y)
    np.testing.assert_array_equal(small.predict(T, k=5), whole)
    with fastvr.working_memory(0.01):
        np.testing.assert_array_equal(knn.predict(T, k=5), whole)


def test_kneighbors_orders_by_distance_then_index():
    Y = np.array([[2.0], [-1.0], [1.0], [0.0], [1.0]])
    d, i = fastvr.kneighbors(np.array([[0.0]]), Y, k=4)
    np.testing.assert_array_equal(i, [[3, 1, 2, 4]])
    np.testing.assert_allclose(d, [[0.0, 1.0, 1.0, 1.0]])


@pytest.mark.parametrize("k", [1, 5, 80, 100])  # small k: scan kernel; large: partition
def test_kneighbors_matches_a_stable_sort(k, rng):
    X = rng.integers(0, 3, size=(30, 3)).astype(float)
    Y = rng.integers(0, 3, size=(100, 3)).astype(float)
    d, i = fastvr.kneighbors(X, Y, k=k)
    full = distances_loop(X, Y)
    order = np.argsort(full, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(i, order)
    np.testing.assert_allclose(d, np.take_along_axis(full, order, axis=1), atol=1e-12)


def test_kneighbors_l1_and_on_every_backend(xp, rng):
    X, Y = rng.normal(size=(10, 6)), rng.normal(size=(25, 6))
    for metric in ("l2", "l1"):
        d, i = fastvr.kneighbors(to_xp(xp, X), to_xp(xp, Y), k=3, metric=metric)
        assert placed(d) == placed(i) == placed(to_xp(xp, X))
        full = distances_loop(X, Y, metric)
        order = np.argsort(full, axis=1, kind="stable")[:, :3]
        np.testing.assert_array_equal(fastvr.to_numpy(i), order)
        np.testing.assert_allclose(
            fastvr.to_numpy(d), np.take_along_axis(full, order, 1), rtol=1e-10
        )


def test_l1_classifier(rng):
    from sklearn.neighbors import KNeighborsClassifier

    X, y = _blobs(rng, 200)
    T, _ = _blobs(rng, 50)
    knn = KNearestNeighbor(metric="l1")
    knn.train(X, y)
    want = KNeighborsClassifier(5, algorithm="brute", metric="manhattan").fit(X, y).predict(T)
    for num_loops in (0, 1, 2):
        np.testing.assert_array_equal(knn.predict(T, k=5, num_loops=num_loops), want)


def test_uint8_images_are_converted_before_arithmetic():
    X = np.array([[0, 0], [255, 255]], dtype=np.uint8)
    knn = KNearestNeighbor()
    knn.train(X, np.array([0, 1]))
    # With uint8 arithmetic, 250 - 255 wraps to 251 and [250, 250] would look far from row 1.
    assert knn.predict(np.array([[250, 250]], dtype=np.uint8)).tolist() == [1]
    np.testing.assert_allclose(
        knn.compute_distances_no_loops(np.array([[250, 250]], dtype=np.uint8)),
        [[np.hypot(250, 250), np.hypot(5, 5)]],
    )


def test_training_data_stays_where_it_was_put(host_backend, rng):
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, 20)
    knn = KNearestNeighbor()
    knn.train(X, y)
    assert library_name(knn.X_train) == host_backend
    assert isinstance(knn.predict(X[:3]), np.ndarray)  # outputs follow the numpy inputs


def test_device_queries_of_a_model_fitted_from_host_data_stay_on_the_device(host_backend, rng):
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 3, 20)
    knn = KNearestNeighbor()
    knn.train(X, y)
    T = fastvr.asarray(X[:5])  # on the fitted device: outputs must follow it, not the training
    outputs = (knn.predict(T, k=3), *knn.kneighbors(T, k=2), knn.compute_distances_no_loops(T))
    assert [library_name(out) for out in outputs] == [host_backend] * 4
    np.testing.assert_array_equal(fastvr.to_numpy(outputs[0]), knn.predict(X[:5], k=3))


def test_train_only_remembers_and_the_index_is_built_once_when_first_needed(rng, monkeypatch):
    """train costs what the course's costs; the first query that needs the index builds it,
    the later ones reuse it, and the loop paths never need it."""
    from fastvr import _search, _warmup

    _warmup.wait()  # its own k-NN would count too
    built = []
    build_index = _search.build_index
    monkeypatch.setattr(
        _search, "build_index", lambda *a, **k: built.append(1) or build_index(*a, **k)
    )
    X, y = rng.integers(0, 256, (60, 12)).astype(float), rng.integers(0, 3, 60)
    knn = KNearestNeighbor()
    knn.train(X, y)
    assert built == []
    two = knn.compute_distances_two_loops(X[:4])
    one = knn.compute_distances_one_loop(X[:4])
    assert built == []
    np.testing.assert_allclose(two, distances_loop(X[:4], X), rtol=1e-12)
    np.testing.assert_array_equal(one, two)
    labels = knn.predict(X[:9], k=3)
    knn.predict(X[:9], k=5)
    np.testing.assert_allclose(knn.compute_distances_no_loops(X[:4]), two, rtol=1e-12)
    knn.kneighbors(X[:2], k=2)
    assert built == [1]
    expected = knn_predict_loop(distances_loop(X[:9], X), y, 3)
    np.testing.assert_array_equal(labels, expected)
