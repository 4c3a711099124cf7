"""HOG + hue-histogram features of 10000 CIFAR-shaped images: batched vs per-image loops.

``extract_features`` with the batched forms against the course's per-image loop running the
course's own feature code (scipy's ``uniform_filter``, matplotlib's ``rgb_to_hsv``), timed on
1000 images and scaled to 10000, and against fastvr's per-image functions in the same loop.
"""

from __future__ import annotations

import functools

import numpy as np

from fastvr.features import color_histogram_hsv, extract_features, hog_feature

from .conftest import run_benchmark

N, SLICE = 10000, 1000


@functools.cache
def images():
    return np.random.default_rng(32).integers(0, 256, (N, 32, 32, 3)).astype(np.float64)


def _group(benchmark):
    benchmark.group = "features 10000 x 32 x 32 x 3"


def test_batched(benchmark):
    fns = [hog_feature, functools.partial(color_histogram_hsv, nbin=10)]
    _group(benchmark)
    run_benchmark(benchmark, lambda: extract_features(images(), fns), rounds=3)


def test_fastvr_functions_per_image(benchmark):
    fns = [hog_feature, lambda im: color_histogram_hsv(im, nbin=10)]  # a lambda: no batching
    _group(benchmark)
    run_benchmark(
        benchmark, lambda: extract_features(images()[:SLICE], fns), rounds=1, scale=N / SLICE
    )


def test_course_code_per_image(benchmark):
    from tests.oracles import course_color_histogram_hsv, course_hog_feature

    fns = [course_hog_feature, lambda im: course_color_histogram_hsv(im, nbin=10)]
    _group(benchmark)
    run_benchmark(
        benchmark, lambda: extract_features(images()[:SLICE], fns), rounds=1, scale=N / SLICE
    )
