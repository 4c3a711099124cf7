"""The course's first-order update rules (2021–2026): ``update(w, dw, config) -> (next_w, config)``.

Each rule reads its hyper-parameters from ``config`` (a dict it fills with the course's
defaults where a key is missing) and keeps its state there (velocity, cache, moments, step
count), so the :class:`fastvr.solver.Solver` can hold one config per parameter. They work on
the arrays of any backend (numpy, CuPy, ...): state arrays are made alongside ``w``.

Examples
--------
>>> import numpy as np
>>> from fastvr import optim
>>> w, config = optim.adam(np.ones(2), np.array([1.0, -1.0]))
>>> np.round(w, 4), config["t"]
(array([0.999, 1.001]), 1)
"""

from __future__ import annotations

import warnings
from typing import Any

import array_api_compat

from ._backend import overflow_quietly
from ._validation import check_array, check_dict, check_int, check_real, check_shape

__all__ = ["adam", "rmsprop", "sgd", "sgd_momentum"]


# Adam's decay rates: 1 would divide its bias correction by zero
_FRACTIONS = ("beta1", "beta2")

# each rule's hyper-parameters (with the course's defaults) and the state it keeps
_DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 0},
}
_STATE = {"sgd": (), "sgd_momentum": ("velocity",), "rmsprop": ("cache",), "adam": ("m", "v")}
_warned: set[tuple[str, frozenset]] = set()


def warn_unknown_keys(rule: str, config: dict) -> None:
    """One ``UserWarning`` per process for keys of ``config`` that the update ``rule``
    never reads (a typo such as ``lr`` for ``learning_rate`` would otherwise be ignored
    silently, as in the course), naming them and the keys it knows.

    Examples
    --------
    >>> import warnings
    >>> from fastvr.optim import warn_unknown_keys
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_unknown_keys("sgd", {"lr": 1e-3})
    >>> print(caught[0].message)
    sgd ignores the optim_config key 'lr'; it reads 'learning_rate'
    """
    unknown = frozenset(config).difference(_DEFAULTS[rule], _STATE[rule])
    if not unknown or (rule, unknown) in _warned:
        return
    _warned.add((rule, unknown))
    keys = ", ".join(repr(k) for k in sorted(unknown, key=str))
    known = ", ".join(repr(k) for k in (*_DEFAULTS[rule], *_STATE[rule]))
    plural = "s" if len(unknown) > 1 else ""
    warnings.warn(
        f"{rule} ignores the optim_config key{plural} {keys}; it reads {known}",
        UserWarning,
        stacklevel=3,
    )


def _start(w: Any, dw: Any, config: dict | None, rule: str) -> tuple[Any, dict]:
    """The namespace, and ``config`` with the rule's defaults filled in once everything in it
    has been checked (nothing is filled in for a call that fails)."""
    defaults, state = _DEFAULTS[rule], _STATE[rule]
    if config is None:
        config = {}
    check_dict(config, "config")
    warn_unknown_keys(rule, config)
    for name, value in (("w", w), ("dw", dw)):
        check_array(value, name, kinds="real floating")
    xp = array_api_compat.array_namespace(w, dw)
    if dw.shape != w.shape:
        raise ValueError(f"dw has shape {dw.shape} but w has shape {w.shape}; they must match")
    for key in defaults.keys() & config.keys():
        if key == "t":
            check_int(config[key], "config['t']", low=0)
        elif check_real(config[key], f"config['{key}']") < 0 or (
            key in _FRACTIONS and config[key] >= 1
        ):
            span = "[0, 1)" if key in _FRACTIONS else "0 or more"
            raise ValueError(f"config['{key}'] must be {span}; got {config[key]}")
    for key in state:
        if config.get(key) is not None:
            check_shape(config[key], f"config['{key}']", w.shape, "w's", kinds="real floating")
    for key, value in defaults.items():
        config.setdefault(key, value)
    return xp, config


def _state(config: dict, key: str, w: Any, xp: Any) -> Any:
    """``config[key]`` (checked by :func:`_start`), or zeros like ``w`` the first time."""
    value = config.get(key)
    return xp.zeros_like(w) if value is None else value


@overflow_quietly
def sgd(w: Any, dw: Any, config: dict | None = None) -> tuple[Any, dict]:
    """Vanilla stochastic gradient descent, in place: ``w -= learning_rate * dw``.

    config: ``learning_rate`` (1e-2).
    """
    _, config = _start(w, dw, config, "sgd")
    w -= config["learning_rate"] * dw
    return w, config


@overflow_quietly
def sgd_momentum(w: Any, dw: Any, config: dict | None = None) -> tuple[Any, dict]:
    """SGD with momentum: ``v = momentum * v - learning_rate * dw``; ``next_w = w + v``.

    config: ``learning_rate`` (1e-2), ``momentum`` (0.9), ``velocity`` (zeros like ``w``).
    """
    xp, config = _start(w, dw, config, "sgd_momentum")
    v = config["momentum"] * _state(config, "velocity", w, xp) - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


@overflow_quietly
def rmsprop(w: Any, dw: Any, config: dict | None = None) -> tuple[Any, dict]:
    """RMSProp: a moving average of squared gradients scales each step.

    ``cache = decay_rate * cache + (1 - decay_rate) * dw²``;
    ``next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)``.
    config: ``learning_rate`` (1e-2), ``decay_rate`` (0.99), ``epsilon`` (1e-8), ``cache``.
    """
    xp, config = _start(w, dw, config, "rmsprop")
    rate = config["decay_rate"]
    cache = rate * _state(config, "cache", w, xp) + (1 - rate) * (dw * dw)
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (xp.sqrt(cache) + config["epsilon"]), config


@overflow_quietly
def adam(w: Any, dw: Any, config: dict | None = None) -> tuple[Any, dict]:
    """Adam: bias-corrected moving averages of the gradient and its square.

    ``t`` is incremented before use (the first step uses ``t = 1``), as the course asks:
    ``m = beta1 m + (1 - beta1) dw``, ``v = beta2 v + (1 - beta2) dw²``,
    ``next_w = w - learning_rate * m̂ / (sqrt(v̂) + epsilon)`` with ``m̂ = m / (1 - beta1^t)``
    and ``v̂ = v / (1 - beta2^t)``. config: ``learning_rate`` (1e-3), ``beta1`` (0.9),
    ``beta2`` (0.999), ``epsilon`` (1e-8), ``m``, ``v`` (zeros like ``w``), ``t`` (0).
    """
    xp, config = _start(w, dw, config, "adam")
    beta1, beta2 = config["beta1"], config["beta2"]
    config["t"] += 1
    t = config["t"]
    m = beta1 * _state(config, "m", w, xp) + (1 - beta1) * dw
    v = beta2 * _state(config, "v", w, xp) + (1 - beta2) * (dw * dw)
    config["m"], config["v"] = m, v
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - config["learning_rate"] * m_hat / (xp.sqrt(v_hat) + config["epsilon"]), config
