"""SPEC §4: bad input raises at the public boundary, names the argument, changes nothing."""

from __future__ import annotations

import functools

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
    from fastvr.classifiers import LinearSVM, Softmax

    knn = KNearestNeighbor()
    for call in (
        lambda: LinearSVM().predict(np.zeros((1, 2))),
        lambda: Softmax().loss(np.zeros((1, 2)), np.zeros(1, dtype=int), 0.0),
        lambda: knn.predict(np.zeros((1, 2))),
        lambda: knn.compute_distances_two_loops(np.zeros((1, 2))),
        lambda: knn.compute_distances_no_loops(np.zeros((1, 2))),
        lambda: knn.predict_labels(np.zeros((1, 2))),
    ):
        with pytest.raises(RuntimeError, match=r"not trained yet: call train"):
            call()
    with pytest.raises(RuntimeError, match=r"has no W to save: train it first"):
        LinearSVM().save("never.npy")


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
    with pytest.raises(ValueError, match=r"y must have one label per sample of X \(4\); got 3"):
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


def test_per_image_features_refuse_what_is_not_an_image():
    """Found by hand (issue 14): a grey image leaked a Numba TypingError from the hue kernel,
    and NaN pixels went through HOG with a cast warning and gave garbage."""
    from fastvr.features import color_histogram_hsv, hog_feature

    rgb = np.zeros((8, 8, 3))
    for bad in (np.zeros((8, 8)), np.zeros(8), np.zeros((8, 8, 2)), np.zeros((2, 8, 8, 3))):
        with pytest.raises(ValueError, match=r"im must be an RGB image \(H, W, 3\); got shape"):
            color_histogram_hsv(bad)
    for bad in (np.zeros(8), np.zeros((8, 8, 2))):
        with pytest.raises(ValueError, match=r"im must be an image \(H, W\) or \(H, W, 3\)"):
            hog_feature(bad)
    assert hog_feature(np.zeros((8, 8))).shape == (9,)  # grey is fine for HOG
    for fn in (hog_feature, color_histogram_hsv):
        for value in (np.nan, np.inf):
            image = rgb.copy()
            image[3, 4, 1] = value
            with pytest.raises(ValueError, match=r"^im contains NaN or infinity"):
                fn(image)
        with pytest.raises(TypeError, match=r"im must hold real pixel values; got dtype complex"):
            fn(rgb.astype(complex))
        with pytest.raises(ValueError, match=r"im must not be empty"):
            fn(np.zeros((0, 8, 3)))
    with pytest.raises(ValueError, match=r"nbin must be at least 1"):
        color_histogram_hsv(rgb, nbin=0)
    with pytest.raises(ValueError, match=r"xmax must be greater than xmin"):
        color_histogram_hsv(rgb, xmin=5, xmax=5)


def test_labels_that_are_ids_not_class_indices():
    """Found by hand (issue 14): labels such as [0, 1, 10**12] asked for a 43.7 TiB weight
    matrix. Now a ValueError names the label and the memory, before anything is drawn."""
    from fastvr.classifiers import LinearSVM, Softmax
    from fastvr.tuning import train_linear_grid

    X, y = np.ones((3, 4)), np.array([0, 1, 10**12])
    for cls in (LinearSVM, Softmax):
        model = cls()
        state = np.random.get_state()[1].copy()
        with pytest.raises(ValueError, match=r"y holds label 1000000000000: weights for .* GiB"):
            model.train(X, y)
        assert model.W is None
        np.testing.assert_array_equal(np.random.get_state()[1], state)  # nothing drawn
    with pytest.raises(ValueError, match=r"y or y_val holds label 1000000000000"):
        train_linear_grid("svm", X, y, X, np.array([0, 1, 2]), [1e-3], [0.0])
    many = np.array([0, 1, 299_999])  # 300000 classes x 4 features: 9.6 MB of weights
    svm = LinearSVM()
    svm.train(X, many, num_iters=1, batch_size=2)
    assert svm.W.shape == (4, 300_000)
    with fastvr.working_memory(1):  # the budget shapes chunking only: nothing is refused
        LinearSVM().train(X, many, num_iters=1, batch_size=2)


def test_holes_a_first_fuzz_found():
    """A draft property-based fuzz of the public surface (issue 14) found these escaping as
    AttributeError or DeprecationWarning; each is now one of the documented errors."""
    from fastvr import layers, optim
    from fastvr.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
    from fastvr.features import extract_features, hog_feature
    from fastvr.solver import Solver

    x = np.ones((2, 3))
    for call in (
        lambda: layers.affine_forward(x, np.ones((3, 2)), np.nan),
        lambda: layers.softmax_loss(np.nan, np.array([0, 1])),
        lambda: layers.relu_forward([1.0, -1.0]),
    ):
        with pytest.raises(TypeError, match=r"(b|x) must be an array; got (float|list)"):
            call()
    with pytest.raises(TypeError, match="x must hold real numbers; got dtype complex128"):
        layers.relu_forward(x.astype(complex))
    with pytest.raises(TypeError, match="dw must be an array; got float"):
        optim.adam(np.ones(3), np.nan)
    with pytest.raises(TypeError, match="w must hold floating numbers; got dtype int64"):
        optim.sgd(np.ones(3, dtype=int), np.ones(3, dtype=int))
    with pytest.raises(ValueError, match="normalization must be None, 'batchnorm' or"):
        FullyConnectedNet([3], normalization=np.array([]))
    data = {"X_train": x, "y_train": np.array([0, 1]), "X_val": x, "y_val": np.array([0, 1])}
    with pytest.raises(TypeError, match="verbose must be True or False; got array"):
        Solver(TwoLayerNet(3, 2, 2), data, verbose=np.array([]))
    with pytest.raises(TypeError, match=r"imgs must be an array of images; got NoneType"):
        extract_features(None, [hog_feature])
    with pytest.raises(ValueError, match=r"imgs must be an array of images \(N, H, W"):
        extract_features(3.0, [hog_feature])
    with pytest.raises(TypeError, match="feature_fns must be a list of functions"):
        extract_features(np.zeros((2, 8, 8)), "hog")


def test_absurd_sizes_are_refused_before_they_allocate():
    """Sizes no machine holds (10**13: tens of TiB), as the fuzz tries them: each a
    ValueError naming the argument, not MemoryError or the OOM killer. (The working-memory
    budget refuses nothing: sizes a machine can hold are allocated, as the course does.)"""
    from fastvr.classifiers import LinearSVM
    from fastvr.classifiers.fc_net import FullyConnectedNet
    from fastvr.classifiers.neural_net import TwoLayerNet
    from fastvr.features import color_histogram_hsv, extract_features, hog_feature
    from fastvr.solver import Solver

    X, y, huge = np.ones((6, 4)), np.arange(6) % 3, 10**13
    with pytest.raises(
        ValueError, match=r"batch_size = 10000000000000 \(one minibatch\) would take"
    ):
        LinearSVM().train(X, y, batch_size=huge)
    with pytest.raises(ValueError, match=r"input_dim, hidden_dims, num_classes = \[10000000000000"):
        FullyConnectedNet([5], input_dim=huge)
    with pytest.raises(ValueError, match="input_size x hidden_size x output_size weights"):
        TwoLayerNet(4, huge, 3)
    data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    with pytest.raises(ValueError, match="batch_size = 10000000000000"):
        Solver(FullyConnectedNet([5], input_dim=4, num_classes=3), data, batch_size=huge)
    rgb = np.zeros((8, 8, 3))
    with pytest.raises(ValueError, match="nbin = 10000000000000 hue bins"):
        color_histogram_hsv(rgb, nbin=huge)
    with pytest.raises(ValueError, match=r"im must be at least 8 x 8 pixels"):
        hog_feature(np.zeros((4, 8)))
    with pytest.raises(ValueError, match=r"imgs must be RGB images \(N, H, W, 3\)"):
        extract_features(np.zeros((2, 8, 8)), [functools.partial(color_histogram_hsv, nbin=5)])


def test_overflowing_scores_still_rank_without_a_warning():
    from fastvr.classifiers import Softmax

    model = Softmax()
    model.W = np.array([[1.0, -1.0], [1.0, 1.0]])
    X = np.full((1, 2), np.finfo(np.float64).max)
    assert model.predict(X).tolist() == [0]  # scores [inf, 0]: the overflow still ranks
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        model.predict(np.array([[np.inf, -np.inf]]))  # no 'invalid value' warning on the way


def test_holes_the_whole_surface_fuzz_found():
    """Found when the fuzz was widened to every public callable (issue 14); each failed with
    an exception that did not name the argument, a warning, or a half-updated dict."""
    from fastvr import layer_utils, layers, optim, plots, saved, vis_utils
    from fastvr.estimators import KNNClassifier
    from fastvr.gradient_check import eval_numerical_gradient_array, grad_check_sparse

    x, w, b = np.ones((4, 3)), np.ones((3, 2)), np.zeros(2)
    _, cache = layers.affine_forward(x, w, b)
    with pytest.raises(TypeError, match=r"cache must be what affine_forward returned"):
        layers.affine_backward(np.ones((4, 2)), None)  # was: cannot unpack NoneType
    with pytest.raises(ValueError, match=r"dout has shape \(4, 3\) but the output of affine"):
        layers.affine_backward(np.ones((4, 3)), cache)  # was: numpy's matmul message
    with pytest.raises(TypeError, match=r"cache must be what affine_relu_forward returned"):
        layer_utils.affine_relu_backward(np.ones((4, 2)), ())
    with pytest.raises(ValueError, match=r"dropout_param must have the key\(s\) 'mode'"):
        layers.dropout_forward(x, {"p": 0.5})  # was: KeyError
    bn_param = {"mode": "train", "running_mean": np.zeros(5)}
    with pytest.raises(ValueError, match=r"bn_param\['running_mean'\] has shape \(5,\)"):
        layers.batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    with pytest.raises(ValueError, match=r"bn_param\['eps'\] must be positive"):
        layers.batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "test", "eps": 0.0})
    config = {"beta1": 1.0}  # Adam's bias correction would divide by zero
    with pytest.raises(ValueError, match=r"config\['beta1'\] must be \[0, 1\)"):
        optim.adam(np.ones(2), np.ones(2), config)
    assert config == {"beta1": 1.0}  # no defaults filled in for a failed call
    with pytest.raises(ValueError, match=r"config\['velocity'\] has shape"):
        optim.sgd_momentum(np.ones(2), np.ones(2), {"velocity": np.ones(3)})
    with pytest.raises(ValueError, match=r"analytic_grad has shape \(3,\) but x's is \(2,\)"):
        grad_check_sparse(lambda v: float(v.sum()), np.ones(2), np.ones(3))  # was: IndexError
    with pytest.raises(ValueError, match="df contains NaN or infinity"):
        eval_numerical_gradient_array(np.tanh, np.ones(2), np.array([np.inf, 1.0]))
    with pytest.raises(TypeError, match="x is complex"):
        fastvr.asarray(np.ones(2) + 1j, "float32")  # was: ComplexWarning
    with pytest.raises(ValueError, match="beyond the range of float32"):
        fastvr.asarray(np.array([1e300]), "float32")  # was: inf and a RuntimeWarning
    with pytest.raises(TypeError, match="params must be a dict"):
        saved.save_params("m.npy", None)  # was: AttributeError
    with pytest.raises(TypeError, match="folder must be a file name"):
        fastvr.set_save_folder(3)
    with pytest.raises(ValueError, match=r"k_to_accuracies\[1\] must hold accuracies"):
        plots.cross_validation({1: [1e308, 1e308]})  # was: overflow warnings in np.std
    with pytest.raises(ValueError, match="padding = 1000000000"):
        vis_utils.visualize_grid(np.ones((4, 2, 2, 3)), padding=10**9)  # was: 'too big'
    big = np.finfo(np.float64).max
    grid = vis_utils.vis_grid(np.array([[[[-big]], [[big]]]]))  # was: overflow warning
    assert grid.min() == 0.0 and grid.max() == 1.0
    with pytest.raises(ValueError, match=r"^X: Expected 2D array"):
        KNNClassifier().fit(np.ones((6, 2)), np.arange(6) % 2).predict_proba(np.ones(2))
