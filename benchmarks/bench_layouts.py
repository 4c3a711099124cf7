"""The array layouts notebooks pass: views, slices, Fortran order, memory maps, uint8.

Each group times one operation on the same values in every layout, next to the course's own
numpy code fed the same arrays; ratios are to fastvr on the C-contiguous array (marked
``reference``). The goal: at most 1.1x on every layout, and never slower than the course's
code on the same layout. Shapes are the features notebook's (49000 x 154 HOG + hue
features, float64) and the k-NN notebook's (500 x 5000 x 3072).

Run: ``python -m pytest benchmarks/bench_layouts.py --benchmark-json=layouts.json`` then
``python benchmarks/report.py layouts.json``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from fastvr.classifiers import KNearestNeighbor, LinearSVM
from fastvr.classifiers.linear_svm import svm_loss_vectorized
from fastvr.classifiers.neural_net import TwoLayerNet
from fastvr.features import color_histogram_hsv, extract_features, hog_feature
from tests.layouts import in_layout

from .bench_linear import _course_train as course_svm_train
from .bench_neural_net import _course_train as course_net_train
from .conftest import run_benchmark

LAYOUTS = ["contiguous", "column slice", "fortran", "reversed rows", "memmap"]
STEPS = {"num_iters": 200, "batch_size": 200}


@functools.cache
def features_data():
    rng = np.random.default_rng(154)
    X = rng.standard_normal((49000, 154))
    return (
        X,
        rng.integers(0, 10, 49000),
        rng.standard_normal((1000, 154)),
        rng.integers(0, 10, 1000),
    )


@pytest.fixture(params=LAYOUTS)
def layout(request):
    return request.param


def _info(layout: str, who: str) -> dict:
    return {"layout": layout, "reference": who == "fastvr" and layout == "contiguous"}


@pytest.mark.parametrize("who", ["fastvr", "course"])
def test_linear_svm_train(benchmark, layout, who, tmp_path_factory):
    X, y, _, _ = features_data()
    X = in_layout(X, layout, tmp_path_factory.mktemp("layouts"))
    benchmark.group = "layouts: LinearSVM.train 200 x 200, 49000 x 154 float64"
    rates = {"learning_rate": 1e-7, "reg": 2.5e4}

    def run():
        np.random.seed(0)
        if who == "course":
            return course_svm_train(X, y, **rates, **STEPS)
        return LinearSVM().train(X, y, **rates, **STEPS)

    run_benchmark(benchmark, run, rounds=10, **_info(layout, who))


@pytest.mark.parametrize("who", ["fastvr", "course"])
def test_two_layer_net_train(benchmark, layout, who, tmp_path_factory):
    X, y, X_val, y_val = features_data()
    X = in_layout(X, layout, tmp_path_factory.mktemp("layouts"))
    benchmark.group = "layouts: TwoLayerNet.train 200 x 200, H = 500, 49000 x 154 float64"
    settings = {"learning_rate": 1e-1, "learning_rate_decay": 0.95, "reg": 1e-3, **STEPS}

    def run():
        np.random.seed(0)
        net = TwoLayerNet(154, 500, 10)
        if who == "course":
            return course_net_train(net.params, X, y, X_val, y_val, **settings)
        return net.train(X, y, X_val, y_val, **settings)

    run_benchmark(benchmark, run, rounds=3, **_info(layout, who))


def test_svm_loss_vectorized(benchmark, layout, tmp_path_factory):
    X, y, _, _ = features_data()
    X = in_layout(X, layout, tmp_path_factory.mktemp("layouts"))
    W = np.random.default_rng(0).standard_normal((154, 10)) * 1e-3
    benchmark.group = "layouts: svm_loss_vectorized, 49000 x 154 float64"
    run_benchmark(
        benchmark, lambda: svm_loss_vectorized(W, X, y, 2.5e4), rounds=10, **_info(layout, "fastvr")
    )


@functools.cache
def knn_data():
    rng = np.random.default_rng(3072)
    X_train = rng.integers(0, 256, (5000, 3072)).astype(np.float64)
    return X_train, rng.integers(0, 10, 5000), rng.integers(0, 256, (500, 3072)).astype(np.float64)


def test_knn_train_predict(benchmark, layout, tmp_path_factory):
    X_train, y_train, X_test = knn_data()
    X_train = in_layout(X_train, layout, tmp_path_factory.mktemp("layouts"))
    X_test = in_layout(X_test, layout, tmp_path_factory.mktemp("layouts"))
    benchmark.group = "layouts: KNearestNeighbor train + predict(k=10), 500 x 5000 x 3072 float64"

    def run():
        knn = KNearestNeighbor()
        knn.train(X_train, y_train)
        return knn.predict(X_test, k=10)

    run_benchmark(benchmark, run, **_info(layout, "fastvr"))


IMAGE_LAYOUTS = ["contiguous", "channels-first transposed", "memmap", "uint8"]


@pytest.mark.parametrize("image_layout", IMAGE_LAYOUTS)
def test_extract_features(benchmark, image_layout, tmp_path_factory):
    rng = np.random.default_rng(32)
    pixels = rng.integers(0, 256, (2000, 32, 32, 3))
    imgs = pixels.astype(np.float64)
    if image_layout == "channels-first transposed":  # get_CIFAR10_data's (N, 3, 32, 32), back
        imgs = np.ascontiguousarray(imgs.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
    elif image_layout == "memmap":
        path = tmp_path_factory.mktemp("images") / "imgs.npy"
        np.save(path, imgs)
        imgs = np.load(path, mmap_mode="r")
    elif image_layout == "uint8":
        imgs = pixels.astype(np.uint8)
    benchmark.group = "layouts: extract_features (HOG + hue), 2000 images"
    fns = [hog_feature, functools.partial(color_histogram_hsv, nbin=25)]
    run_benchmark(
        benchmark,
        lambda: extract_features(imgs, fns),
        layout=image_layout,
        reference=image_layout == "contiguous",
    )
