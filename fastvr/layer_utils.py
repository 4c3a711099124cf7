"""The course's ``layer_utils`` (2021–2026): the affine - ReLU sandwich layer.

Examples
--------
>>> import numpy as np
>>> from fastvr.layer_utils import affine_relu_forward
>>> affine_relu_forward(np.array([[1.0, -2.0]]), np.eye(2), np.zeros(2))[0]
array([[1., 0.]])
"""

from __future__ import annotations

from typing import Any

from .layers import _cache, affine_backward, affine_forward, relu_backward, relu_forward

__all__ = ["affine_relu_backward", "affine_relu_forward"]


def affine_relu_forward(x: Any, w: Any, b: Any) -> tuple[Any, tuple]:
    """An affine transform followed by a ReLU; the cache is ``(fc_cache, relu_cache)``."""
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout: Any, cache: tuple) -> tuple[Any, Any, Any]:
    """Gradients ``(dx, dw, db)`` of :func:`affine_relu_forward`."""
    fc_cache, relu_cache = _cache(cache, 2, "affine_relu_forward")
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)
