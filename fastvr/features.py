"""Image features of the course (HOG and hue histograms), per image and for whole batches.

The per-image functions keep the course's signatures and numbers. The batched functions
compute the same features for every image at once on numpy or CuPy, and
:func:`extract_features` uses them automatically when every feature function has one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import array_api_compat
import numpy as np

# The kernels (Numba, Numba-CUDA) are imported inside the functions that run them, so that
# `import fastvr` loads no compiler (fastvr._warmup compiles them in the background).
from . import _config
from ._backend import bincount, itemsize, library_of, overflow_quietly, placement_for, take_nd
from ._progress import progress_bar
from ._validation import (
    check_array,
    check_fits,
    check_flag,
    check_image,
    check_int,
    check_real,
    check_samples,
)
from .ops.distances import blocks

# The course's grey weights. 0.144 (not the usual 0.114) is the course's own constant; it is
# kept so features, and the accuracies built on them, match the course's numbers.
GRAY_WEIGHTS = (0.299, 0.587, 0.144)
HOG_ORIENTATIONS = 9
HOG_CELL = 8


@overflow_quietly
def rgb2gray(rgb: Any) -> Any:
    """Grey image(s) from RGB with the course's weights; a grey (2-D) image passes through.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.features import rgb2gray
    >>> rgb2gray(np.ones((1, 2, 3))).round(3)
    array([[1.03, 1.03]])
    >>> rgb2gray(np.ones((2, 2))).shape  # already grey
    (2, 2)
    """
    xp = check_array(rgb, "rgb")
    if rgb.ndim < 2 or (rgb.ndim > 2 and rgb.shape[-1] < 3):
        raise ValueError(f"rgb must be grey (H, W) or colour (..., 3) pixels; got {rgb.shape}")
    if rgb.ndim == 2:
        return rgb
    weights = xp.asarray(GRAY_WEIGHTS, dtype=xp.float64, device=array_api_compat.device(rgb))
    return xp.astype(rgb[..., :3], xp.float64) @ weights


def _check_cells(size: tuple, name: str) -> None:
    if size[0] < HOG_CELL or size[1] < HOG_CELL:
        raise ValueError(
            f"{name} must be at least {HOG_CELL} x {HOG_CELL} pixels (one HOG cell); got "
            f"{size[0]} x {size[1]}"
        )


def _check_bins(nbin: Any, images: int, xmin: Any, xmax: Any) -> int:
    """``nbin`` as an int whose histograms fit in memory; ``xmin < xmax``."""
    nbin = check_int(nbin, "nbin", low=1)
    # the bin edges, the counts and the result: three arrays of nbin + 1 per image
    check_fits(3 * images * (nbin + 1) * 8, f"nbin = {nbin} hue bins per image")
    xmin, xmax = check_real(xmin, "xmin"), check_real(xmax, "xmax")
    if xmax <= xmin:
        raise ValueError(f"xmax must be greater than xmin; got xmin={xmin}, xmax={xmax}")
    return nbin


# -- HOG ----------------------------------------------------------------------------------------


def _bin_of(values: Any, width: float, xp: Any) -> Any:
    """``k`` such that ``width * k <= v < width * (k + 1)``, by the same comparisons the
    course's code makes (a bare ``floor(v / width)`` can round across a bin edge)."""
    k = xp.astype(xp.floor(values / width), xp.int64)
    k = k - xp.astype(values < width * xp.astype(k, values.dtype), xp.int64)
    return k + xp.astype(values >= width * xp.astype(k + 1, values.dtype), xp.int64)


def _hog_of_grey(grey: Any, xp: Any) -> Any:
    """HOG of grey images ``(N, H, W)``: ``(N, 9 * (W // 8) * (H // 8))``, course layout."""
    n, rows, cols = grey.shape
    device = array_api_compat.device(grey)
    zeros_col = xp.zeros((n, rows, 1), dtype=grey.dtype, device=device)
    zeros_row = xp.zeros((n, 1, cols), dtype=grey.dtype, device=device)
    gx = xp.concat([grey[:, :, 1:] - grey[:, :, :-1], zeros_col], axis=2)
    gy = xp.concat([grey[:, 1:, :] - grey[:, :-1, :], zeros_row], axis=1)
    magnitude = xp.sqrt(gx**2 + gy**2)
    orientation = xp.atan2(gy, gx + 1e-15) * (180 / np.pi) + 90
    # The course's bins: bin i holds 20i <= angle < 20(i + 1); an angle of exactly 0 (or 180)
    # counts nowhere; pixels past the last whole cell count nowhere either.
    cells_r, cells_c = rows // HOG_CELL, cols // HOG_CELL
    orientation_bin = _bin_of(orientation, 180 / HOG_ORIENTATIONS, xp)
    counted = (orientation > 0) & (orientation_bin < HOG_ORIENTATIONS)
    cell_r = xp.arange(rows, device=device) // HOG_CELL
    cell_c = xp.arange(cols, device=device) // HOG_CELL
    counted = counted & (cell_r < cells_r)[None, :, None] & (cell_c < cells_c)[None, None, :]
    image = xp.arange(n, dtype=xp.int64, device=device)[:, None, None]
    cell = (
        image * cells_r + xp.minimum(cell_r, cells_r - 1)[None, :, None]
    ) * cells_c + xp.minimum(cell_c, cells_c - 1)[None, None, :]
    key = cell * HOG_ORIENTATIONS + xp.where(counted, orientation_bin, 0)
    sums = bincount(
        xp.reshape(key, (-1,)),
        xp.reshape(xp.where(counted, magnitude, 0.0), (-1,)),
        n * cells_r * cells_c * HOG_ORIENTATIONS,
        xp=xp,
    )
    # A cell's mean magnitude per bin (the course's uniform_filter sampled at cell centres),
    # each orientation's cell grid transposed as the course stores it: (cells_c, cells_r, 9).
    means = xp.reshape(sums, (n, cells_r, cells_c, HOG_ORIENTATIONS)) / (HOG_CELL * HOG_CELL)
    return xp.reshape(xp.permute_dims(means, (0, 2, 1, 3)), (n, -1))


# numpy batches of at least this many pixels use the compiled kernels (4096 CIFAR images);
# smaller ones (one image, the bundled digits) the vectorized code, which needs no compiler.
_COMPILED_MIN_PIXELS = 1 << 22


def _compiled_pays(imgs: Any, xp: Any) -> bool:
    pixels = imgs.shape[0] * imgs.shape[1] * imgs.shape[2]
    return array_api_compat.is_numpy_namespace(xp) and pixels >= _COMPILED_MIN_PIXELS


def hog_feature(im: Any) -> Any:
    """Histogram of oriented gradients of one image (the course's ``hog_feature``).

    9 orientation bins over 8 x 8 cells: 144 values for a 32 x 32 image. A colour image is
    made grey with :func:`rgb2gray` first; a 2-D image is used as it is.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.features import hog_feature
    >>> hog_feature(np.random.default_rng(0).random((32, 32, 3))).shape
    (144,)
    """
    im = check_image(im, "im", colour=False)
    _check_cells(im.shape[:2], "im")
    xp = array_api_compat.array_namespace(im)
    grey = xp.astype(rgb2gray(im), xp.float64)
    return _hog_of_grey(grey[None, ...], xp)[0, ...]


def hog_features(imgs: Any) -> Any:
    """:func:`hog_feature` of every image of ``imgs`` (N, H, W[, 3]) at once: ``(N, F)``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.features import hog_feature, hog_features
    >>> imgs = np.random.default_rng(0).random((4, 32, 32, 3)) * 255
    >>> feats = hog_features(imgs)
    >>> feats.shape, bool(np.allclose(feats[2], hog_feature(imgs[2])))
    ((4, 144), True)
    """
    imgs = check_image(imgs, "imgs", colour=False, batch=True)
    _check_cells(imgs.shape[1:3], "imgs")
    xp = array_api_compat.array_namespace(imgs)
    if not _compiled_pays(imgs, xp):
        grey = rgb2gray(imgs) if imgs.ndim == 4 else xp.astype(imgs, xp.float64)
        return _hog_of_grey(grey, xp)
    from .kernels import cpu  # numpy fast path: grey, gradients and cells in one pass

    pixels = imgs[..., :3] if imgs.ndim == 4 else imgs[..., None]
    n, rows, cols = pixels.shape[:3]
    out = np.empty((n, cols // HOG_CELL, rows // HOG_CELL, HOG_ORIENTATIONS))
    cpu.hog_cells(np.ascontiguousarray(pixels, dtype=np.float64), np.asarray(GRAY_WEIGHTS), out)
    return out.reshape(n, -1)


# -- hue histogram ------------------------------------------------------------------------------


def _hue(rgb: Any, xp: Any) -> Any:
    """Hue in [0, 1) of RGB values in [0, 1], exactly as ``matplotlib.colors.rgb_to_hsv``."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    top = xp.maximum(xp.maximum(r, g), b)  # element-wise: far faster than max over axis 3
    delta = top - xp.minimum(xp.minimum(r, g), b)
    positive = delta > 0
    safe = xp.where(positive, delta, 1.0)
    # matplotlib assigns red, then green, then blue: a later maximum overwrites an earlier one
    hue = xp.where(
        b == top, 4.0 + (r - g) / safe, xp.where(g == top, 2.0 + (b - r) / safe, (g - b) / safe)
    )
    return (xp.where(positive, hue, 0.0) / 6.0) % 1.0


def _histogram_bin(values: Any, edges: list[float], xp: Any) -> Any:
    """np.histogram's bin of each value for sorted ``edges``: ``[e_k, e_k+1)``, the last bin
    closed. Values outside ``[e_0, e_last]`` get -1."""
    nbin = len(edges) - 1
    device = array_api_compat.device(values)
    edge = xp.asarray(edges, dtype=values.dtype, device=device)
    width = (edges[-1] - edges[0]) / nbin
    k = xp.astype(xp.clip(xp.floor((values - edges[0]) / width), min=0.0, max=nbin - 1.0), xp.int64)
    # the estimate can be one off where rounding meets an edge: settle it on the edges
    k = k - xp.astype((values < take_nd(edge, k, xp=xp)) & (k > 0), xp.int64)
    k = k + xp.astype((values >= take_nd(edge, k + 1, xp=xp)) & (k < nbin - 1), xp.int64)
    inside = (values >= edges[0]) & (values <= edges[-1])
    return xp.where(inside, k, -1)


def _hue_counts(imgs: Any, edges: list[float], xmax: float, xp: Any) -> Any:
    """Per image, how many pixels' hue (scaled by ``xmax``) falls in each bin of ``edges``."""
    n, nbin = imgs.shape[0], len(edges) - 1
    if _compiled_pays(imgs, xp):
        from .kernels import cpu  # numpy fast path: one fused pass per image

        counts = np.empty((n, nbin))
        rgb = np.ascontiguousarray(imgs[..., :3], dtype=np.float64)
        cpu.hue_histograms(rgb, np.asarray(edges), float(xmax), counts)
        return counts
    hue = xp.reshape(_hue(xp.astype(imgs, xp.float64) / xmax, xp) * xmax, (n, -1))
    index = _histogram_bin(hue, edges, xp)
    image = xp.arange(n, dtype=xp.int64, device=array_api_compat.device(hue))[:, None]
    key = xp.reshape(image * nbin + xp.clip(index, min=0), (-1,))
    weight = xp.reshape(xp.astype(index >= 0, xp.float64), (-1,))
    return xp.reshape(bincount(key, weight, n * nbin, xp=xp), (n, nbin))


def _hue_histograms(
    imgs: Any, nbin: int, xmin: float, xmax: float, normalized: bool, xp: Any
) -> Any:
    normalized = check_flag(normalized, "normalized")
    edges = [float(e) for e in np.linspace(xmin, xmax, nbin + 1)]
    counts = _hue_counts(imgs, edges, xmax, xp)
    widths = xp.asarray(np.diff(edges), device=array_api_compat.device(counts))
    if normalized:  # np.histogram's density, then the course's multiplication by the widths
        counts = counts / widths / xp.sum(counts, axis=1, keepdims=True)
    return counts * widths


def color_histogram_hsv(
    im: Any, nbin: int = 10, xmin: float = 0, xmax: float = 255, normalized: bool = True
) -> Any:
    """Histogram of the hue of one RGB image (the course's ``color_histogram_hsv``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.features import color_histogram_hsv
    >>> red = np.zeros((4, 4, 3)); red[..., 0] = 255
    >>> color_histogram_hsv(red, nbin=4).tolist()  # every pixel has hue 0
    [1.0, 0.0, 0.0, 0.0]
    """
    im = check_image(im, "im", colour=True)
    nbin = _check_bins(nbin, 1, xmin, xmax)
    xp = array_api_compat.array_namespace(im)
    return _hue_histograms(im[None, ...], nbin, xmin, xmax, normalized, xp)[0, ...]


def color_histograms_hsv(
    imgs: Any, nbin: int = 10, xmin: float = 0, xmax: float = 255, normalized: bool = True
) -> Any:
    """:func:`color_histogram_hsv` of every image of ``imgs`` (N, H, W, 3) at once.

    Examples
    --------
    >>> import numpy as np
    >>> from fastvr.features import color_histograms_hsv
    >>> hist = color_histograms_hsv(np.random.default_rng(0).random((4, 32, 32, 3)) * 255)
    >>> hist.shape
    (4, 10)
    """
    imgs = check_image(imgs, "imgs", colour=True, batch=True)
    nbin = _check_bins(nbin, imgs.shape[0], xmin, xmax)
    xp = array_api_compat.array_namespace(imgs)
    return _hue_histograms(imgs, nbin, xmin, xmax, normalized, xp)


# -- extraction ---------------------------------------------------------------------------------

_BATCHED: dict[Callable, Callable] = {
    hog_feature: hog_features,
    color_histogram_hsv: color_histograms_hsv,
}


def batched_form(feature_fn: Callable) -> Callable | None:
    """The whole-batch equivalent of a per-image feature function, if fastvr knows one.

    Knows :func:`hog_feature`, :func:`color_histogram_hsv` and ``functools.partial`` of
    them; a lambda wrapping them cannot be seen through (use ``partial`` instead).

    Examples
    --------
    >>> import functools
    >>> from fastvr.features import batched_form, color_histogram_hsv, hog_feature
    >>> batched_form(hog_feature).__name__
    'hog_features'
    >>> batched_form(functools.partial(color_histogram_hsv, nbin=25)).keywords
    {'nbin': 25}
    >>> batched_form(lambda im: hog_feature(im)) is None
    True
    """
    if not callable(feature_fn):
        raise TypeError(f"feature_fn must be a function; got {type(feature_fn).__name__}")
    if isinstance(feature_fn, functools.partial) and feature_fn.func in _BATCHED:
        if feature_fn.args:
            return None
        return functools.partial(_BATCHED[feature_fn.func], **feature_fn.keywords)
    try:
        return _BATCHED.get(feature_fn)
    except TypeError:  # an unhashable callable object: not one of fastvr's functions
        return None


def _per_image(imgs: Any, feature_fns: Sequence[Callable], verbose: bool) -> np.ndarray:
    """The course's loop: every function on every image."""
    tqdm = progress_bar()

    first = [np.asarray(fn(np.squeeze(imgs[0]))) for fn in feature_fns]
    for feats in first:
        if feats.ndim != 1:
            raise ValueError("feature functions must return one-dimensional arrays")
    dims = [f.size for f in first]
    out = np.zeros((imgs.shape[0], sum(dims)))
    out[0] = np.hstack(first)
    bounds = np.cumsum([0, *dims])
    for i in tqdm(
        range(1, imgs.shape[0]),
        desc="features",
        disable=not verbose,
        initial=1,
        total=imgs.shape[0],
    ):
        for fn, start, stop in zip(feature_fns, bounds[:-1], bounds[1:], strict=True):
            out[i, start:stop] = fn(np.squeeze(imgs[i]))
    return out


def extract_features(imgs: Any, feature_fns: Sequence[Callable], verbose: bool = False) -> Any:
    """Features of every image: the outputs of ``feature_fns`` side by side, ``(N, F)``.

    When every function has a batched form (see :func:`batched_form`) all images are
    processed at once, in chunks bounded by the working-memory budget, on the images'
    backend (numpy or CuPy); otherwise the course's per-image loop runs. ``verbose`` shows a
    progress bar.

    Examples
    --------
    >>> import functools, numpy as np
    >>> from fastvr.features import extract_features, hog_feature, color_histogram_hsv
    >>> imgs = np.random.default_rng(0).random((5, 32, 32, 3)) * 255
    >>> fns = [hog_feature, functools.partial(color_histogram_hsv, nbin=10)]
    >>> extract_features(imgs, fns).shape
    (5, 154)
    """
    try:
        on_host = library_of(imgs) == "numpy"
    except TypeError:
        raise TypeError(f"imgs must be an array of images; got {type(imgs).__name__}") from None
    if on_host:
        imgs = np.asarray(imgs)
    if imgs.ndim not in (3, 4):
        raise ValueError(f"imgs must be an array of images (N, H, W[, C]); got shape {imgs.shape}")
    if not array_api_compat.array_namespace(imgs).isdtype(
        imgs.dtype, ("real floating", "integral")
    ):
        raise TypeError(f"imgs must hold real pixel values; got dtype {imgs.dtype}")
    if isinstance(feature_fns, (str, bytes)) or not all(callable(fn) for fn in feature_fns):
        raise TypeError("feature_fns must be a list of functions, each taking one image")
    if imgs.shape[0] == 0:
        return np.array([])
    batched = [batched_form(fn) for fn in feature_fns]
    if any(fn is None for fn in batched):
        return _per_image(imgs, feature_fns, verbose)
    tqdm = progress_bar()

    place = placement_for(imgs)
    # numpy's fused kernels mark images with NaN or inf pixels in their output (checked
    # below); the generic path would silently drop such pixels, so it checks the input.
    fused = place.library == "numpy"
    imgs = check_samples(imgs, "imgs", place, ndim=imgs.ndim, finite=not fused)
    xp = place.xp
    # Temporaries per image: a few float64 copies of its pixels per feature function (the
    # generic path; numpy's fused kernels need far less).
    per_image = 16 * int(np.prod(imgs.shape[1:])) * itemsize(xp.float64, xp=xp)
    chunk = max(1, _config.budget_bytes() // per_image)
    parts = []
    with place.active():
        for part in tqdm(list(blocks(imgs.shape[0], chunk)), desc="features", disable=not verbose):
            chunk_imgs = imgs[part, ...]
            if fused:  # one conversion for every feature function's kernel, whatever the layout
                chunk_imgs = np.ascontiguousarray(chunk_imgs, dtype=np.float64)
            parts.append(xp.concat([fn(chunk_imgs) for fn in batched], axis=1))
        features = xp.concat(parts, axis=0)
        if fused and not bool(xp.all(xp.isfinite(features))):
            raise ValueError("imgs contains NaN or infinity")
        return place.give_back(features)
