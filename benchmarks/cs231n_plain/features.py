"""The course's ``features.py``: per-image HOG and hue histogram, one image at a time."""

from __future__ import annotations

import numpy as np

from benchmarks.course_code import color_histogram_hsv, hog_feature


def rgb2gray(rgb):
    return np.dot(rgb[..., :3], [0.299, 0.587, 0.144])


def extract_features(imgs, feature_fns, verbose=False):
    num_images = imgs.shape[0]
    if num_images == 0:
        return np.array([])
    feature_dims, first_image_features = [], []
    for feature_fn in feature_fns:
        feats = feature_fn(imgs[0].squeeze())
        feature_dims.append(feats.size)
        first_image_features.append(feats)
    imgs_features = np.zeros((num_images, sum(feature_dims)))
    imgs_features[0] = np.hstack(first_image_features).T
    for i in range(1, num_images):
        idx = 0
        for feature_fn, feature_dim in zip(feature_fns, feature_dims, strict=True):
            imgs_features[i, idx : idx + feature_dim] = feature_fn(imgs[i].squeeze())
            idx += feature_dim
        if verbose and i % 1000 == 999:
            print(f"Done extracting features for {i + 1} / {num_images} images")
    return imgs_features


__all__ = ["color_histogram_hsv", "extract_features", "hog_feature", "rgb2gray"]
