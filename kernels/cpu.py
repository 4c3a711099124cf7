"""Numba CPU loops: the course's reference paths, compiled.

Every kernel accumulates in float64 whatever the input dtype, so the loops are an accurate
reference for the vectorized paths. ``l1=True`` sums absolute differences (Manhattan);
otherwise squared differences, with the square root taken unless ``squared=True``.

Kernels are serial Numba functions over a range of rows that release the GIL; the large ones
are split into one contiguous range per core and run on a few Python threads
(:func:`over_rows`). Numba's own parallel loops did the same work at the same speed but cost
1-1.5 s more to compile each (parfors and a threading layer), which a student on a fresh
machine pays before the first result. Each row is computed by the same code whichever
thread runs it, so results do not depend on the split.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

# Below this many inner-loop steps per thread, splitting costs more than it saves.
_MIN_WORK_PER_THREAD = 1 << 18
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def thread_count() -> int:
    """Threads the kernels use: Numba's setting (``NUMBA_NUM_THREADS``, default the cores
    this process may use)."""
    return max(1, int(numba.config.NUMBA_NUM_THREADS))


def over_rows(n, work, kernel, *args):
    """``kernel(start, stop, *args)`` over ``range(n)`` in contiguous ranges, one per thread.

    ``work`` (the inner-loop steps of the whole call) decides how many threads pay off. The
    calling thread takes the first range; exceptions reach the caller.
    """
    threads = min(thread_count(), n, max(1, work // _MIN_WORK_PER_THREAD))
    if threads <= 1:
        kernel(0, n, *args)
        return
    pool = _thread_pool(threads - 1)
    bounds = [n * t // threads for t in range(threads + 1)]
    rest = [pool.submit(kernel, bounds[t], bounds[t + 1], *args) for t in range(1, threads)]
    kernel(bounds[0], bounds[1], *args)
    for future in rest:
        future.result()


def _thread_pool(workers: int) -> ThreadPoolExecutor:
    """The kernels' worker threads, made once (callers on several threads share them: the
    workers only run kernels, which never wait for the pool themselves)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < workers:
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="fastvr-kernel")
        return _pool


def _forget_pool() -> None:  # a forked child has none of its parent's threads
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere processes are spawned, not forked
    os.register_at_fork(after_in_child=_forget_pool)


# Tile sizes for two_loops: a tile of test rows and one of training rows (a few hundred KiB
# of 3072-feature rows) stay in cache while every pair between them is computed. Without the
# tiles each test row streams the whole training set from memory and the loop is memory-bound.
_TEST_TILE = 16
_TRAIN_TILE = 16


def two_loops(X, Y, out, l1=False, squared=False):
    """``out[i, j] = dist(X[i], Y[j])``: a loop over test rows, one over training rows.

    Parameters
    ----------
    X : (n, d) float array; Y : (m, d) float array; out : (n, m) float array, written.
    l1 : bool, Manhattan instead of Euclidean. squared : bool, skip the square root.
    """
    tiles = (X.shape[0] + _TEST_TILE - 1) // _TEST_TILE
    work = X.shape[0] * Y.shape[0] * X.shape[1]
    over_rows(tiles, work, _two_loops_tiles, X, Y, out, bool(l1), bool(squared))


@numba.njit(nogil=True, fastmath=True, cache=True)
def _two_loops_tiles(start, stop, X, Y, out, l1, squared):
    n, d = X.shape
    m = Y.shape[0]
    for tile in range(start, stop):
        i0 = tile * _TEST_TILE
        for j0 in range(0, m, _TRAIN_TILE):
            i1, j1 = i0 + _TEST_TILE, j0 + _TRAIN_TILE
            for i in range(i0, i1 if i1 < n else n):  # (min() is a compile of its own)
                for j in range(j0, j1 if j1 < m else m):
                    acc = 0.0
                    for k in range(d):
                        diff = np.float64(X[i, k]) - np.float64(Y[j, k])
                        acc += abs(diff) if l1 else diff * diff
                    out[i, j] = acc if (l1 or squared) else np.sqrt(acc)


def one_loop(X, YT, out, l1=False, squared=False):
    """``out[i, :] = dist(X[i], all training rows)``: one loop over test rows.

    Each test row is compared with the whole training set at once; ``YT`` is the training
    set transposed, ``(d, m)`` and C-contiguous, so the inner loop runs along contiguous
    memory over training rows and vectorizes.
    """
    work = X.shape[0] * YT.shape[0] * YT.shape[1]
    over_rows(X.shape[0], work, _one_loop_rows, X, YT, out, bool(l1), bool(squared))


@numba.njit(nogil=True, fastmath=True, cache=True)
def _one_loop_rows(start, stop, X, YT, out, l1, squared):
    d, m = YT.shape
    acc = np.empty(m)
    for i in range(start, stop):
        for j in range(m):
            acc[j] = 0.0
        for k in range(d):
            xik = np.float64(X[i, k])
            for j in range(m):
                diff = xik - np.float64(YT[k, j])
                acc[j] += abs(diff) if l1 else diff * diff
        for j in range(m):
            out[i, j] = acc[j] if (l1 or squared) else np.sqrt(acc[j])


# Serial on purpose: this runs right after a BLAS product, whose threads are still spinning;
# threads here would fight them for the cores (measured 5x slower, not faster).
@numba.njit(nogil=True, cache=True)
def smallest_k(D, values, indices):
    """The ``k = values.shape[1]`` smallest entries of each row of ``D``, in one pass.

    Each row is scanned once in column order while a sorted list of the best ``k`` is kept
    by insertion; an entry replaces the list's worst only when strictly smaller, so equal
    values keep the lower column. Output is ordered by ``(value, column)``. Meant for small
    ``k`` (the insertion costs up to ``k`` moves per accepted entry).
    """
    n, m = D.shape
    k = values.shape[1]
    for i in range(n):
        for j in range(k):
            values[i, j] = np.inf
            indices[i, j] = m  # sentinel larger than any column
        for j in range(m):
            v = D[i, j]
            if v < values[i, k - 1] or (v == values[i, k - 1] and indices[i, k - 1] == m):
                pos = k - 1
                while pos > 0 and (v < values[i, pos - 1] or indices[i, pos - 1] == m):
                    values[i, pos] = values[i, pos - 1]
                    indices[i, pos] = indices[i, pos - 1]
                    pos -= 1
                values[i, pos] = v
                indices[i, pos] = j


def svm_loss_naive(W, X, y, reg):
    """The course's ``svm_loss_naive``: loops over samples and classes. Returns (loss, dW).

    W (D, C), X (N, D), y (N,) integer labels; margin Δ = 1; data loss averaged over N;
    regulariser ``reg * sum(W * W)`` with gradient ``2 * reg * W``. Sums in float64.
    Each sample's class loop yields one coefficient per class (``+1`` for every violated
    margin, minus their count for the true class); ``dW`` then takes ``X[i]`` times those
    coefficients in one pass, where the course adds ``X[i]`` twice per violated margin.
    """
    return _naive_linear_loss(W, X, y, reg, False)


def softmax_loss_naive(W, X, y, reg):
    """The course's ``softmax_loss_naive``: loops over samples and classes. Returns (loss, dW).

    Scores are shifted by their maximum before ``exp`` (numerical stability).
    """
    return _naive_linear_loss(W, X, y, reg, True)


def _naive_linear_loss(W, X, y, reg, softmax, loop=None):
    # The gradient's arrays are made here: numpy's constructors of a shape tuple are each a
    # compile of their own in a kernel (0.2 s of its first call). The per-sample rows stay
    # in the kernel, where they are known not to overlap its inputs: passed in, they made
    # the class loops 5 % slower. ``loop``: the kernel, or its Python source (a benchmark's
    # interpreted baseline).
    dW = np.zeros(W.shape)
    grad = np.empty(W.shape, dtype=W.dtype)
    loss = (loop or naive_linear_loss)(W, X, y, reg, softmax, dW, grad)
    return loss, grad


# One compiled function for both losses, written out in full: each separately compiled
# helper (and Numba's IR inlining, which this replaced) cost a compile of its own.
@numba.njit(nogil=True, cache=True)
def naive_linear_loss(W, X, y, reg, softmax, dW, grad):
    """:func:`svm_loss_naive` (``softmax=False``) or :func:`softmax_loss_naive`: the loss,
    with its gradient written into ``grad``; ``dW`` (float64 zeros, W's shape) is scratch."""
    num_train, dims = X.shape
    num_classes = W.shape[1]
    scores = np.empty(num_classes)
    coef = np.empty(num_classes)
    loss = 0.0
    for i in range(num_train):
        for j in range(num_classes):  # scores = X[i] @ W, accumulated in float64
            scores[j] = 0.0
        for d in range(dims):
            xid = np.float64(X[i, d])
            for j in range(num_classes):
                scores[j] += xid * W[d, j]
        label = y[i]
        if softmax:
            top = scores[0]
            for j in range(1, num_classes):
                if scores[j] > top:
                    top = scores[j]
            for j in range(num_classes):
                scores[j] -= top
            total = 0.0
            for j in range(num_classes):
                total += np.exp(scores[j])
            loss += np.log(total) - scores[label]
            for j in range(num_classes):
                coef[j] = np.exp(scores[j]) / total - (1.0 if j == label else 0.0)
        else:
            correct = scores[label]
            for j in range(num_classes):
                coef[j] = 0.0
            for j in range(num_classes):
                if j == label:
                    continue
                margin = scores[j] - correct + 1.0
                if margin > 0:
                    loss += margin
                    coef[j] += 1.0
                    coef[label] -= 1.0
        for d in range(dims):  # dW += outer(X[i], coef), row by row (contiguous in dW)
            xid = np.float64(X[i, d])
            for j in range(num_classes):
                dW[d, j] += xid * coef[j]
    penalty = 0.0  # reg * sum(W * W); the gradient dW / N + 2 reg W in W's dtype
    for d in range(W.shape[0]):
        for j in range(num_classes):
            w = np.float64(W[d, j])
            penalty += w * w
            grad[d, j] = dW[d, j] / num_train + 2.0 * reg * W[d, j]
    return loss / num_train + reg * penalty


def hog_cells(imgs, weights, out):
    """The course's HOG of images ``(N, H, W, 1 or 3)`` into ``out`` ``(N, W//8, H//8, 9)``.

    Same arithmetic as the course's code, in one pass per image: grey by ``weights`` (colour
    images), forward-difference gradients, ``atan2(gy, gx + 1e-15)`` in degrees plus 90, bin
    ``i`` for ``20i <= angle < 20(i + 1)`` (angles of 0 or from 180 up count nowhere), and the
    mean magnitude per 8 x 8 cell, laid out as the course stores it (cells transposed).
    """
    over_rows(imgs.shape[0], imgs.size * 16, _hog_cells_rows, imgs, weights, out)


@numba.njit(nogil=True, cache=True)
def _hog_cells_rows(start, stop, imgs, weights, out):
    _, rows, cols, channels = imgs.shape
    cells_c, cells_r, bins = out.shape[1], out.shape[2], out.shape[3]
    width = 180.0 / bins
    grey = np.empty((rows, cols))
    for im in range(start, stop):
        finite = True
        for r in range(rows):
            for c in range(cols):
                if channels == 1:
                    grey[r, c] = imgs[im, r, c, 0]
                else:
                    grey[r, c] = (
                        imgs[im, r, c, 0] * weights[0]
                        + imgs[im, r, c, 1] * weights[1]
                        + imgs[im, r, c, 2] * weights[2]
                    )
                finite = finite and np.isfinite(grey[r, c])
        # NaN or inf pixels: say so in the output, for the caller to report
        fill = 0.0 if finite else np.nan
        for a in range(cells_c):
            for b in range(cells_r):
                for i in range(bins):
                    out[im, a, b, i] = fill
        if not finite:
            continue
        for r in range(cells_r * 8):
            for c in range(cells_c * 8):
                gx = grey[r, c + 1] - grey[r, c] if c + 1 < cols else 0.0
                gy = grey[r + 1, c] - grey[r, c] if r + 1 < rows else 0.0
                x = gx + 1e-15
                if x < 0 and -x >= 1e-8 * abs(gy):
                    # atan2 is then at least 1e-8 beyond +-pi/2: the angle lands below 0 or
                    # above 180, where the course counts nothing. Skipping atan2 halves the work.
                    continue
                angle = np.arctan2(gy, x) * (180 / np.pi) + 90
                if angle <= 0:
                    continue
                for i in range(bins):
                    if angle >= width * i and angle < width * (i + 1):
                        out[im, c // 8, r // 8, i] += np.sqrt(gx**2 + gy**2)
                        break
        for a in range(cells_c):
            for b in range(cells_r):
                for i in range(bins):
                    out[im, a, b, i] /= 64.0


def hue_histograms(rgb, edges, xmax, counts):
    """Counts of hue values (as ``matplotlib.colors.rgb_to_hsv(rgb / xmax) * xmax``) per bin
    of ``edges`` for images ``(N, H, W, 3)``, as ``np.histogram`` bins them. An image with a
    NaN or infinite pixel gets NaN counts."""
    over_rows(rgb.shape[0], rgb.size * 4, _hue_histograms_rows, rgb, edges, float(xmax), counts)


@numba.njit(nogil=True, cache=True)
def _hue_histograms_rows(start, stop, rgb, edges, xmax, counts):
    _, rows, cols, _ = rgb.shape
    nbin = edges.shape[0] - 1
    width = (edges[nbin] - edges[0]) / nbin
    for im in range(start, stop):
        for b in range(nbin):
            counts[im, b] = 0.0
        for r in range(rows):
            for c in range(cols):
                red = rgb[im, r, c, 0] / xmax
                green = rgb[im, r, c, 1] / xmax
                blue = rgb[im, r, c, 2] / xmax
                if not (np.isfinite(red) and np.isfinite(green) and np.isfinite(blue)):
                    counts[im, 0] = np.nan  # NaN or inf pixels: reported by the caller
                    continue
                # (min(), max() and int() would each be a compile of their own)
                top = green if green > red else red
                top = blue if blue > top else top
                low = green if green < red else red
                delta = top - (blue if blue < low else low)
                hue = 0.0
                if delta > 0:  # matplotlib's order: a later maximum overwrites an earlier one
                    if blue == top:
                        hue = 4.0 + (red - green) / delta
                    elif green == top:
                        hue = 2.0 + (blue - red) / delta
                    else:
                        hue = (green - blue) / delta
                value = hue / 6.0
                if value < 0:  # np.remainder(value, 1.0) for value in [-1/6, 1)
                    value += 1.0
                value *= xmax
                if value < edges[0] or value > edges[nbin]:
                    continue
                # the bin from the (uniform) width, then settled on the edges themselves
                k = np.int64((value - edges[0]) / width)
                k = 0 if k < 0 else (nbin - 1 if k > nbin - 1 else k)
                if k > 0 and value < edges[k]:
                    k -= 1
                elif k < nbin - 1 and value >= edges[k + 1]:
                    k += 1
                counts[im, k] += 1.0


def pair_sq_distances(X, Y, rows, cols, out):
    """``out[p] = Σ (X[rows[p]] − Y[cols[p]])²`` for a list of pairs, in the inputs' float64.

    The exact re-ranking of screened k-NN candidates. Any summation order keeps the sum
    within its error bound (``γ_{d+2}`` relative), and integer data stay exact.
    """
    over_rows(rows.shape[0], rows.shape[0] * X.shape[1], _pair_sq_rows, X, Y, rows, cols, out)


@numba.njit(nogil=True, fastmath={"reassoc", "contract"}, cache=True)
def _pair_sq_rows(start, stop, X, Y, rows, cols, out):
    for p in range(start, stop):
        x, y = X[rows[p]], Y[cols[p]]
        acc = 0.0
        for j in range(x.shape[0]):
            diff = x[j] - y[j]
            acc += diff * diff
        out[p] = acc


def screen_candidates(S, y_norms, x_norms, slack, widen, out_cols, counts):
    """The certified screen's candidates of each row, in two passes over the row.

    ``s = (S + y_norms) + x_norms`` in float32, rounded as the vectorized path rounds it
    (no fastmath: the certificate counts these roundings). Pass one keeps the ``k``
    smallest ``s + slack`` (``k`` is ``counts[i]`` on entry); the threshold is the k-th of
    them plus ``widen[i]`` (float64), rounded up to float32. Pass two lists the columns whose
    ``s − slack`` is at most the threshold, up to ``out_cols.shape[1]`` of them, and leaves
    their number (which may be larger) in ``counts[i]``.
    """
    best = np.empty((S.shape[0], int(counts.max(initial=1))), dtype=np.float32)  # scratch
    args = (S, y_norms, x_norms, slack, widen, out_cols, counts, best)
    over_rows(S.shape[0], S.size, _screen_candidates_rows, *args)


@numba.njit(nogil=True, cache=True)
def _screen_candidates_rows(start, stop, S, y_norms, x_norms, slack, widen, out_cols, counts, best):
    m = S.shape[1]
    for i in range(start, stop):
        k = counts[i]
        for p in range(k):
            best[i, p] = np.inf
        for j in range(m):
            upper = (S[i, j] + y_norms[j]) + x_norms[i] + slack[j]
            if upper < best[i, k - 1]:
                p = k - 1
                while p > 0 and best[i, p - 1] > upper:
                    best[i, p] = best[i, p - 1]
                    p -= 1
                best[i, p] = upper
        wide = np.float64(best[i, k - 1]) + widen[i]
        threshold = np.float32(wide)
        if np.float64(threshold) < wide:
            threshold = np.nextafter(threshold, np.float32(np.inf))
        found = 0
        for j in range(m):
            lower = (S[i, j] + y_norms[j]) + x_norms[i] - slack[j]
            if lower <= threshold:
                if found < out_cols.shape[1]:
                    out_cols[i, found] = j
                found += 1
        counts[i] = found


def lower_reference(Y, mean, lowered, norms, integer_limit, flags):
    """The screen's copy of a prepared reference in one pass: ``lowered = −2 c'`` with
    ``c' = float32(c)`` and ``c = Y − mean`` (as the GEMM layout centres), ``norms = ‖c'‖²`` in
    float64 (float32 squares are exact there). ``flags[0]``: ``Y`` is integer-valued within
    ``±integer_limit`` (direct float64 sums of its distances are exact); ``flags[1]``: every
    ``c`` is exactly ``Y − mean`` and exactly a float32 (the copy loses nothing)."""
    m = lowered.shape[0]
    integral, exact = np.ones(m, dtype=np.bool_), np.ones(m, dtype=np.bool_)
    args = (Y, mean, lowered, norms, float(integer_limit), integral, exact)
    over_rows(m, Y.size, _lower_reference_rows, *args)
    flags[0], flags[1] = integral.all(), exact.all()


@numba.njit(nogil=True, cache=True)
def _lower_reference_rows(start, stop, Y, mean, lowered, norms, integer_limit, integral, exact):
    d = lowered.shape[1]
    for i in range(start, stop):
        acc = 0.0
        whole = True
        kept = True
        for j in range(d):
            c = Y[i, j] - mean[j]
            low = np.float32(c)
            acc += np.float64(low) * np.float64(low)
            lowered[i, j] = low * np.float32(-2.0)
            y = Y[i, j]
            if whole and (abs(y) > integer_limit or y != np.floor(y)):
                whole = False
            bb = c - y  # TwoSum: c is exactly y − mean[j] when its error term is zero
            if kept and (np.float64(low) != c or (y - (c - bb)) + (-mean[j] - bb) != 0.0):
                kept = False
        norms[i] = acc
        integral[i] = whole
        exact[i] = kept


def lower_queries(X, mean, lowered, norms):
    """Queries for the screen: ``lowered = float32(X − mean)``, ``norms`` its squared norms
    in float64. Returns whether ``X − mean`` was exact and exactly a float32."""
    lost = np.zeros(X.shape[0], dtype=np.int64)

    def rows(start, stop):
        _lower_queries_rows(start, stop, X, mean, lowered, lost)
        _sq_norms32_rows(start, stop, lowered, norms)

    over_rows(X.shape[0], X.size, rows)
    return lost.max() == 0


@numba.njit(nogil=True, cache=True)
def _lower_queries_rows(start, stop, X, mean, lowered, lost):
    d = X.shape[1]
    for i in range(start, stop):
        flag = 0  # an integer OR: the loop vectorises (no fastmath near TwoSum)
        for j in range(d):
            x, m = X[i, j], mean[j]
            c = x - m
            low = np.float32(c)
            lowered[i, j] = low
            bb = c - x  # TwoSum: the rounding error of x − m is exactly this expression
            flag |= ((x - (c - bb)) + (-m - bb) != 0.0) | (np.float64(low) != c)
        lost[i] = flag


@numba.njit(nogil=True, fastmath={"reassoc", "contract"}, cache=True)
def _sq_norms32_rows(start, stop, lowered, norms):
    """Squared norms in float64 of float32 rows (each square exact; any summation order
    stays within the screen's bound, which counts float64 roundings of the norms)."""
    d = lowered.shape[1]
    for i in range(start, stop):
        acc = 0.0
        for j in range(d):
            wide = np.float64(lowered[i, j])
            acc += wide * wide
        norms[i] = acc


def pair_sq_distances_lowered(A, B, rows, cols, out):
    """:func:`pair_sq_distances` from exact float32 copies: ``A`` the centred queries,
    ``B`` the centred reference times −2. Each difference ``a + b/2`` is the same float64
    number as the original rows' difference, so the sums are those of the original rows,
    read at half the memory traffic."""
    work = rows.shape[0] * A.shape[1]
    over_rows(rows.shape[0], work, _pair_sq_lowered_rows, A, B, rows, cols, out)


@numba.njit(nogil=True, fastmath={"reassoc", "contract"}, cache=True)
def _pair_sq_lowered_rows(start, stop, A, B, rows, cols, out):
    for p in range(start, stop):
        a, b = A[rows[p]], B[cols[p]]
        acc = 0.0
        for j in range(a.shape[0]):
            diff = np.float64(a[j]) + 0.5 * np.float64(b[j])
            acc += diff * diff
        out[p] = acc
