"""The one validated path behind the course's four loss functions."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._backend import placement_for
from .._validation import (
    check_feature_count,
    check_finite,
    check_labels,
    check_real,
    check_samples,
)
from ..ops.losses import hinge_loss, linear_loss, naive_linear_loss, softmax_cross_entropy

DATA_LOSSES = {"svm": hinge_loss, "softmax": softmax_cross_entropy}


def check_labels_fit_weights(
    y: Any, num_classes: int, *, xp: Any, name: str = "y", holder: str = "W has {} columns"
) -> None:
    """``ValueError`` if a label has no column in the weights (``holder`` names them)."""
    top = int(y.max() if isinstance(y, np.ndarray) else xp.max(y))  # (the method: ~1 us less)
    if top >= num_classes:
        raise ValueError(
            f"{name} holds label {top} but {holder.format(num_classes)} "
            f"(labels 0..{num_classes - 1})"
        )


def validated_linear_args(W: Any, X: Any, y: Any, reg: Any, *, check_x: bool):
    """Check and place the arguments of a linear loss.

    Returns ``(place, W, X, y, reg, w_dtype)``: W and X cast to their common dtype, and
    ``w_dtype`` the dtype W came in with (in ``place``'s library), which dW is returned in.

    ``check_x=False`` skips the passes over X and W for NaN/inf; the caller then checks the
    loss instead (NaN or inf in either always makes the loss non-finite: the scores, or the
    regulariser ``reg * sum(W * W)``, which is NaN for ``reg = 0`` and an infinite W).
    """
    place = placement_for(W, X, y)
    xp = place.xp
    W = check_samples(W, "W", place, layout="(D, C)", finite=check_x)
    X = check_samples(X, "X", place, finite=check_x)
    check_feature_count(X, "X", W.shape[0], "W", unit=" rows")
    y = check_labels(y, "y", X.shape[0], place)
    check_labels_fit_weights(y, W.shape[1], xp=xp)
    reg = check_real(reg, "reg", low=0.0)
    w_dtype, dtype = W.dtype, xp.result_type(W.dtype, X.dtype)
    W, X = xp.astype(W, dtype, copy=False), xp.astype(X, dtype, copy=False)
    return place, W, X, y, reg, w_dtype


def public_linear_loss(W: Any, X: Any, y: Any, reg: Any, kind: str, *, naive: bool):
    """``(loss: float, dW)`` for the course's ``{svm,softmax}_loss_{naive,vectorized}``."""
    place, W, X, y, reg, w_dtype = validated_linear_args(W, X, y, reg, check_x=naive)
    xp = place.xp
    with place.active():
        if naive:
            loss, dW = naive_linear_loss(W, X, y, reg, kind, xp=xp)
        else:
            with np.errstate(all="ignore"):  # bad X is reported below, not as a numpy warning
                loss, dW = linear_loss(W, X, y, reg, DATA_LOSSES[kind], xp=xp)
        loss = float(loss)
        if not math.isfinite(loss) and not naive:
            check_finite(W, "W", xp=xp)
            check_finite(X, "X", xp=xp)
            warnings.warn(
                f"the {kind} loss overflowed: the scores X @ W are too large",
                RuntimeWarning,
                stacklevel=3,
            )
        dW = xp.astype(dW, w_dtype, copy=False)
    return loss, place.give_back(dW)
