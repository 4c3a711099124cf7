"""Numba-CUDA loops for GPU arrays: the reference distance paths, the course's naive losses
and the one-pass top-k selection behind k-NN on CuPy.

The functions take any arrays Numba-CUDA accepts (CuPy arrays through
``__cuda_array_interface__``, or numpy arrays under ``NUMBA_ENABLE_CUDASIM=1``) and launch on
Numba's default (legacy) stream, which runs after work queued on CuPy's blocking streams.
Sums accumulate in float64.
"""

from __future__ import annotations

import functools
import math

import numba
from numba import cuda

_PAIR_BLOCK = (32, 8)  # x runs over training rows, so neighbouring threads read nearby rows
_ROW_BLOCK = 128


@cuda.jit(device=True, inline=True)
def _pair_distance(X, Y, i, j, l1, squared):
    acc = 0.0
    for k in range(X.shape[1]):
        diff = float(X[i, k]) - float(Y[j, k])
        acc += abs(diff) if l1 else diff * diff
    return acc if (l1 or squared) else math.sqrt(acc)


@cuda.jit
def _two_loops_kernel(X, Y, out, l1, squared):
    j, i = cuda.grid(2)  # a thread per (test, train) pair
    if i < X.shape[0] and j < Y.shape[0]:
        out[i, j] = _pair_distance(X, Y, i, j, l1, squared)


@cuda.jit
def _one_loop_kernel(X, Y, out, l1, squared):
    i = cuda.blockIdx.x  # a block per test row; its threads stride over training rows
    for j in range(cuda.threadIdx.x, Y.shape[0], cuda.blockDim.x):
        out[i, j] = _pair_distance(X, Y, i, j, l1, squared)


def two_loops(X, Y, out, l1=False, squared=False):
    """``out[i, j] = dist(X[i], Y[j])`` with one GPU thread per pair."""
    n, m = out.shape
    grid = (math.ceil(m / _PAIR_BLOCK[0]), math.ceil(n / _PAIR_BLOCK[1]))
    _two_loops_kernel[grid, _PAIR_BLOCK](X, Y, out, l1, squared)


def one_loop(X, Y, out, l1=False, squared=False):
    """``out[i, :] = dist(X[i], all of Y)`` with one GPU block per test row."""
    _one_loop_kernel[out.shape[0], _ROW_BLOCK](X, Y, out, l1, squared)


_SAMPLE_BLOCK = 64


@cuda.jit(device=True, inline=True)
def _score(X, W, i, j):
    acc = 0.0
    for d in range(X.shape[1]):
        acc += float(X[i, d]) * float(W[d, j])
    return acc


@cuda.jit
def _svm_naive_kernel(W, X, y, loss, dW):
    i = cuda.grid(1)  # a thread per sample; dW and the loss are shared, so updates are atomic
    if i >= X.shape[0]:
        return
    yi = y[i]
    correct = _score(X, W, i, yi)
    for j in range(W.shape[1]):
        if j == yi:
            continue
        margin = _score(X, W, i, j) - correct + 1.0
        if margin > 0:
            cuda.atomic.add(loss, 0, margin)
            for d in range(X.shape[1]):
                cuda.atomic.add(dW, (d, j), X[i, d])
                cuda.atomic.add(dW, (d, yi), -X[i, d])


@cuda.jit
def _softmax_naive_kernel(W, X, y, loss, dW):
    i = cuda.grid(1)
    if i >= X.shape[0]:
        return
    yi = y[i]
    top = -math.inf
    for j in range(W.shape[1]):
        top = max(top, _score(X, W, i, j))
    total = 0.0
    for j in range(W.shape[1]):
        total += math.exp(_score(X, W, i, j) - top)
    cuda.atomic.add(loss, 0, math.log(total) - (_score(X, W, i, yi) - top))
    for j in range(W.shape[1]):
        p = math.exp(_score(X, W, i, j) - top) / total - (1.0 if j == yi else 0.0)
        for d in range(X.shape[1]):
            cuda.atomic.add(dW, (d, j), p * X[i, d])


def svm_loss_sums(W, X, y, loss, dW):
    """Add the hinge data loss summed over samples to ``loss[0]`` and its gradient to ``dW``.

    ``loss`` (1,) and ``dW`` (D, C) are float64 and zeroed by the caller, which averages and
    adds the regulariser. One thread per sample, as the course's loop runs one sample a step.
    """
    _svm_naive_kernel[math.ceil(X.shape[0] / _SAMPLE_BLOCK), _SAMPLE_BLOCK](W, X, y, loss, dW)


def softmax_loss_sums(W, X, y, loss, dW):
    """As :func:`svm_loss_sums`, for the softmax cross-entropy."""
    _softmax_naive_kernel[math.ceil(X.shape[0] / _SAMPLE_BLOCK), _SAMPLE_BLOCK](W, X, y, loss, dW)


# -- top-k selection ---------------------------------------------------------------------

_NO_COLUMN = 2**31 - 1  # sentinel column: after every real one, so real entries always win
_TOPK_CAPACITIES = (8, 16, 32, 64)


@cuda.jit(device=True, inline=True)
def _before(v, j, w, i):
    """``(v, j)`` sorts before ``(w, i)``: smaller value, then lower column."""
    return v < w or (v == w and j < i)


def _make_smallest_k_kernel(capacity, threads):
    """A kernel keeping the ``capacity`` best entries of a row: one block per row.

    Each thread scans a strided share of the row (neighbouring threads read neighbouring
    columns) into a sorted local list; the block then merges the lists pairwise in shared
    memory, ``log2(threads)`` rounds. ``capacity`` and ``threads`` are compile-time constants
    because local and shared arrays need fixed sizes.
    """

    @cuda.jit
    def kernel(D, values, indices):
        row, t = cuda.blockIdx.x, cuda.threadIdx.x
        best_v = cuda.local.array(capacity, numba.float64)
        best_i = cuda.local.array(capacity, numba.int32)
        for p in range(capacity):
            best_v[p] = math.inf
            best_i[p] = _NO_COLUMN
        for j in range(t, D.shape[1], threads):
            v = float(D[row, j])
            if _before(v, j, best_v[capacity - 1], best_i[capacity - 1]):
                pos = capacity - 1
                while pos > 0 and _before(v, j, best_v[pos - 1], best_i[pos - 1]):
                    best_v[pos] = best_v[pos - 1]
                    best_i[pos] = best_i[pos - 1]
                    pos -= 1
                best_v[pos] = v
                best_i[pos] = j
        shared_v = cuda.shared.array((threads, capacity), numba.float64)
        shared_i = cuda.shared.array((threads, capacity), numba.int32)
        for p in range(capacity):
            shared_v[t, p] = best_v[p]
            shared_i[t, p] = best_i[p]
        cuda.syncthreads()
        half = threads // 2
        while half > 0:
            if t < half:  # merge list t + half into list t, keeping the best `capacity`
                a, b = 0, 0
                for p in range(capacity):
                    if _before(
                        shared_v[t + half, b], shared_i[t + half, b], shared_v[t, a], shared_i[t, a]
                    ):
                        best_v[p] = shared_v[t + half, b]
                        best_i[p] = shared_i[t + half, b]
                        b += 1
                    else:
                        best_v[p] = shared_v[t, a]
                        best_i[p] = shared_i[t, a]
                        a += 1
            cuda.syncthreads()
            if t < half:
                for p in range(capacity):
                    shared_v[t, p] = best_v[p]
                    shared_i[t, p] = best_i[p]
            cuda.syncthreads()
            half //= 2
        for p in range(t, values.shape[1], threads):
            values[row, p] = shared_v[0, p]
            indices[row, p] = shared_i[0, p]

    return kernel


@functools.cache
def _smallest_k_kernel(capacity):
    # Shared memory per block: threads * capacity * 12 bytes, at most 12 KiB here.
    threads = min(128, 1024 // capacity)
    return _make_smallest_k_kernel(capacity, threads), threads


def smallest_k(D, values, indices):
    """The ``k = values.shape[1]`` smallest entries of each row of ``D`` (``k`` at most 64).

    Ordered by ``(value, column)``: equal values keep the lower column first, and when equal
    values straddle the cut the lower columns are kept (the CPU scan's result exactly).
    ``indices`` is an integer array; one block per row, no sort of the row.
    """
    k = values.shape[1]
    capacity = next(c for c in _TOPK_CAPACITIES if c >= k)
    kernel, threads = _smallest_k_kernel(capacity)
    kernel[D.shape[0], threads](D, values, indices)
