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
