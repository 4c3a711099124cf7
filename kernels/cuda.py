"""Numba-CUDA loops: the reference distance paths for GPU arrays.

The functions take any arrays Numba-CUDA accepts (CuPy arrays through
``__cuda_array_interface__``, or numpy arrays under ``NUMBA_ENABLE_CUDASIM=1``) and launch on
the current stream. Sums accumulate in float64.
"""

from __future__ import annotations

import math

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
