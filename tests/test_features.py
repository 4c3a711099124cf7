"""Features against the course's own code (scipy's uniform_filter, matplotlib's rgb_to_hsv;
in ``tests/oracles.py``)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import fastvr
from fastvr.features import (
    batched_form,
    color_histogram_hsv,
    color_histograms_hsv,
    extract_features,
    hog_feature,
    hog_features,
    rgb2gray,
)

from .conftest import placed, to_xp
from .oracles import course_color_histogram_hsv, course_hog_feature, course_rgb2gray


def _images(rng, n=6, size=32):
    imgs = rng.integers(0, 256, size=(n, size, size, 3)).astype(np.float64)
    imgs[0] = 128.0  # flat: zero gradients everywhere, grey hue
    imgs[1, :, :, 0] = 255.0  # red is the maximum everywhere (ties with others possible)
    imgs[2, :, :, 1] = imgs[2, :, :, 2]  # green == blue ties
    return imgs


def test_rgb2gray_keeps_the_course_weights_and_accepts_grey(rng):
    im = rng.random((4, 5, 3))
    np.testing.assert_allclose(rgb2gray(im), course_rgb2gray(im), rtol=1e-15)
    grey = rng.random((4, 5))
    assert rgb2gray(grey) is grey


def test_hog_matches_the_course(rng):
    for im in _images(rng):
        got = hog_feature(im)
        assert got.shape == (144,)
        np.testing.assert_allclose(got, course_hog_feature(im), rtol=1e-10, atol=1e-12)
    grey = rng.random((16, 16)) * 255
    np.testing.assert_allclose(hog_feature(grey), course_hog_feature(grey), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("nbin", [10, 25])
@pytest.mark.parametrize("normalized", [True, False])
def test_color_histogram_matches_the_course(rng, nbin, normalized):
    for im in _images(rng):
        np.testing.assert_allclose(
            color_histogram_hsv(im, nbin=nbin, normalized=normalized),
            course_color_histogram_hsv(im, nbin=nbin, normalized=normalized),
            rtol=1e-10,
            atol=1e-12,
        )


def test_batched_equals_per_image(xp, rng):
    imgs = _images(rng, n=7)
    hog = hog_features(to_xp(xp, imgs))
    hist = color_histograms_hsv(to_xp(xp, imgs), nbin=12)
    assert placed(hog) == placed(to_xp(xp, imgs))
    for i, im in enumerate(imgs):
        np.testing.assert_allclose(
            fastvr.to_numpy(hog)[i], course_hog_feature(im), rtol=1e-10, atol=1e-12
        )
        np.testing.assert_allclose(
            fastvr.to_numpy(hist)[i],
            course_color_histogram_hsv(im, nbin=12),
            rtol=1e-10,
            atol=1e-12,
        )


def test_extract_features_batched_and_per_image_agree(rng):
    imgs = _images(rng, n=9)
    batched_fns = [hog_feature, functools.partial(color_histogram_hsv, nbin=8)]
    course_fns = [course_hog_feature, lambda im: course_color_histogram_hsv(im, nbin=8)]
    assert all(batched_form(fn) is not None for fn in batched_fns)
    assert batched_form(course_fns[1]) is None  # a lambda falls back to the loop
    fast = extract_features(imgs, batched_fns)
    slow = extract_features(imgs, course_fns)
    assert fast.shape == slow.shape == (9, 144 + 8)
    np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=1e-12)
    with fastvr.working_memory(0.5):  # chunks of a couple of images
        np.testing.assert_allclose(extract_features(imgs, batched_fns), fast, rtol=1e-12)


def test_extract_features_edge_cases(rng):
    assert extract_features(np.zeros((0, 32, 32, 3)), [hog_feature]).size == 0
    with pytest.raises(ValueError, match="one-dimensional"):
        extract_features(_images(rng, n=3), [lambda im: np.zeros((2, 2))])


def test_extract_features_progress_bar(rng, capsys):
    extract_features(_images(rng, n=3), [hog_feature], verbose=True)
    assert "features" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_pixels_are_reported(xp, bad, rng):
    imgs = _images(rng, n=4)
    imgs[2, 5, 7, 1] = bad
    fns = [hog_feature, functools.partial(color_histogram_hsv, nbin=10)]
    for subset in (fns, fns[:1], fns[1:]):
        with pytest.raises(ValueError, match="imgs contains NaN or infinity"):
            extract_features(to_xp(xp, imgs), subset)
