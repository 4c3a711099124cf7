"""Independent references written plainly in float64 (no fastvr code)."""

from __future__ import annotations

import numpy as np


def distances_loop(X, Y, metric="l2"):
    """Pairwise distances by a double loop over rows, every sum in float64 (math.fsum-exact
    enough: numpy's pairwise summation on float64 differences)."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    out = np.empty((X.shape[0], Y.shape[0]))
    for i in range(X.shape[0]):
        for j in range(Y.shape[0]):
            diff = X[i] - Y[j]
            out[i, j] = np.sum(np.abs(diff)) if metric == "l1" else np.sqrt(np.sum(diff * diff))
    return out


def knn_predict_loop(dists, y_train, k):
    """The course's predict_labels: stable order by distance, bincount vote, smallest label."""
    y_train = np.asarray(y_train)
    out = np.empty(dists.shape[0], dtype=y_train.dtype)
    for i, row in enumerate(np.asarray(dists)):
        closest_y = y_train[np.argsort(row, kind="stable")[:k]]
        out[i] = np.argmax(np.bincount(closest_y))
    return out


def svm_loss_loop(W, X, y, reg):
    """The course's naive SVM loss, in plain Python float64 loops."""
    W, X = np.asarray(W, np.float64), np.asarray(X, np.float64)
    dW = np.zeros_like(W)
    loss = 0.0
    for i in range(X.shape[0]):
        scores = X[i] @ W
        for j in range(W.shape[1]):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    n = X.shape[0]
    return loss / n + reg * np.sum(W * W), dW / n + 2 * reg * W


def softmax_loss_loop(W, X, y, reg):
    """The course's naive softmax loss, in plain Python float64 loops (log-sum-exp shift)."""
    W, X = np.asarray(W, np.float64), np.asarray(X, np.float64)
    dW = np.zeros_like(W)
    loss = 0.0
    for i in range(X.shape[0]):
        scores = X[i] @ W
        scores = scores - scores.max()
        p = np.exp(scores) / np.sum(np.exp(scores))
        loss -= np.log(p[y[i]])
        p[y[i]] -= 1
        dW += np.outer(X[i], p)
    n = X.shape[0]
    return loss / n + reg * np.sum(W * W), dW / n + 2 * reg * W


def course_rgb2gray(rgb):
    return np.dot(rgb[..., :3], [0.299, 0.587, 0.144])


def course_hog_feature(im):
    """The course's hog_feature, verbatim but for the 2-D fix."""
    from scipy.ndimage import uniform_filter

    image = course_rgb2gray(im) if im.ndim == 3 else np.atleast_2d(im)
    sx, sy = image.shape
    orientations = 9
    cx, cy = (8, 8)
    gx = np.zeros(image.shape)
    gy = np.zeros(image.shape)
    gx[:, :-1] = np.diff(image, n=1, axis=1)
    gy[:-1, :] = np.diff(image, n=1, axis=0)
    grad_mag = np.sqrt(gx**2 + gy**2)
    grad_ori = np.arctan2(gy, (gx + 1e-15)) * (180 / np.pi) + 90
    n_cellsx = int(np.floor(sx / cx))
    n_cellsy = int(np.floor(sy / cy))
    orientation_histogram = np.zeros((n_cellsx, n_cellsy, orientations))
    for i in range(orientations):
        temp_ori = np.where(grad_ori < 180 / orientations * (i + 1), grad_ori, 0)
        temp_ori = np.where(grad_ori >= 180 / orientations * i, temp_ori, 0)
        cond2 = temp_ori > 0
        temp_mag = np.where(cond2, grad_mag, 0)
        orientation_histogram[:, :, i] = uniform_filter(temp_mag, size=(cx, cy))[
            round(cx / 2) :: cx, round(cy / 2) :: cy
        ].T
    return orientation_histogram.ravel()


def course_color_histogram_hsv(im, nbin=10, xmin=0, xmax=255, normalized=True):
    import matplotlib.colors

    bins = np.linspace(xmin, xmax, nbin + 1)
    hsv = matplotlib.colors.rgb_to_hsv(im / xmax) * xmax
    imhist, bin_edges = np.histogram(hsv[:, :, 0], bins=bins, density=normalized)
    return imhist * np.diff(bin_edges)


def svm_loss_vectorized(W, X, y, reg):
    """The course's vectorized SVM loss, as students write it."""
    n = X.shape[0]
    scores = X.dot(W)
    correct = scores[np.arange(n), y][:, None]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(n), y] = 0
    loss = margins.sum() / n + reg * np.sum(W * W)
    binary = (margins > 0).astype(float)
    binary[np.arange(n), y] = -binary.sum(axis=1)
    return loss, X.T.dot(binary) / n + 2 * reg * W


def softmax_loss_vectorized(W, X, y, reg):
    """The course's vectorized softmax loss, as students write it."""
    n = X.shape[0]
    scores = X.dot(W)
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(n), y]).sum() / n + reg * np.sum(W * W)
    probs[np.arange(n), y] -= 1
    return loss, X.T.dot(probs) / n + 2 * reg * W


def course_cross_validation(knn_cls, X, y, k_choices, num_folds):
    """The course's knn.ipynb loop with the k-NN class ``knn_cls``: one train and predict per
    fold and per k; accuracies as Python floats."""
    X_folds, y_folds = np.array_split(X, num_folds), np.array_split(y, num_folds)
    k_to_accuracies = {}
    for k in k_choices:
        k_to_accuracies[k] = []
        for i in range(num_folds):
            knn = knn_cls()
            knn.train(
                np.concatenate(X_folds[:i] + X_folds[i + 1 :]),
                np.concatenate(y_folds[:i] + y_folds[i + 1 :]),
            )
            y_pred = knn.predict(X_folds[i], k=k)
            k_to_accuracies[k].append(float(np.sum(y_pred == y_folds[i]) / len(y_folds[i])))
    return k_to_accuracies
