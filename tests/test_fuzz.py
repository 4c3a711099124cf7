"""A property-based fuzz of the public surface (issue 14).

Each case starts from a valid call and replaces one argument with something a notebook
produces by accident, drawn for the argument's role: arrays of the wrong dtype (bool,
complex, object, strings, float16, huge integers), shape (0-d, empty, 1-D, extra dimensions,
mismatched lengths), values (NaN, ±inf, the dtype's largest finite value) or layout (Fortran,
reversed, read-only), Python lists and scalars; labels that are negative, fractional or ids
far beyond the row count; counts and sizes that are negative, zero, fractional, boolean,
strings or absurdly large; reals that are NaN, infinite, negative or strings. The call must
either answer or raise ``ValueError``, ``TypeError`` or ``RuntimeError`` whose message names
the argument; the caller's arrays and a trained model must be exactly as they were, and no
warning may be emitted but the three documented ones (:class:`fastvr.DivergenceWarning`,
the vectorized losses' ``RuntimeWarning`` that finite scores overflowed, and an update rule's
``UserWarning`` naming ``optim_config`` keys it does not read).

Profiles (``HYPOTHESIS_PROFILE``): ``ci`` (the default: 40 examples per case, the same every
run) and ``soak`` (2000 random ones per case: ``HYPOTHESIS_PROFILE=soak python -m pytest
tests/test_fuzz.py tests/test_fuzz_files.py``).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import types
import warnings

import array_api_compat
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastvr

from .fuzz_targets import EXEMPT, TARGETS, UPDATED_IN_PLACE

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
# CI draws the same examples every run (derandomize): a green run is a reproducible one.
settings.register_profile("ci", max_examples=40, derandomize=True, **_COMMON)
settings.register_profile("soak", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DOCUMENTED = (ValueError, TypeError, RuntimeError)
_TEXT = st.sampled_from(["", "3", "abc", b"x"])


def _elements(dtype):
    if np.issubdtype(dtype, np.floating):
        extremes = st.sampled_from([np.nan, np.inf, -np.inf, float(np.finfo(dtype).max), 0.0])
        return st.one_of(extremes, st.floats(-5, 5, width=np.finfo(dtype).bits))
    if dtype == np.bool_:
        return st.booleans()
    if np.issubdtype(dtype, np.complexfloating):
        return st.complex_numbers(max_magnitude=5)
    info = np.iinfo(dtype)
    return st.integers(int(max(info.min, -(10**18))), int(min(info.max, 10**18)))


@st.composite
def hostile_array(draw):
    kind = draw(st.sampled_from(["array", "array", "layout", "list", "scalar", "other"]))
    if kind == "list":
        return draw(st.lists(st.floats(allow_nan=True), max_size=6))
    if kind == "scalar":
        return draw(st.one_of(st.floats(), st.integers(-5, 5), st.booleans()))
    if kind == "other":
        return draw(st.sampled_from([None, "abc", np.array([{"a": 1}, None], dtype=object)]))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    dtype = draw(
        st.sampled_from(
            [
                np.float64,
                np.float32,
                np.float16,
                np.int64,
                np.uint8,
                np.bool_,
                np.complex128,
                np.str_,
            ]
        )
    )
    if dtype == np.str_:
        return np.full(shape, "x")
    values = draw(hnp.arrays(dtype, shape, elements=_elements(dtype)))
    if kind == "layout" and values.ndim >= 2:
        values = np.asfortranarray(values)[::-1]
        values.flags.writeable = False
    return values


def _labels(n):
    """Labels gone wrong for ``n`` samples: negative, fractional, ids, wrong length, 2-D."""
    base = np.arange(n) % 3
    return st.one_of(
        hostile_array(),
        st.sampled_from(
            [
                base - 1,
                base + 0.5,
                np.where(base == 0, 10**12, base),
                np.where(base == 0, 2**62, base),
                base[:-1],
                base[:, None],
                base.astype(np.uint8),
                base.astype(bool),
            ]
        ),
    )


_BAD_COUNT = st.one_of(
    st.integers(-(10**6), 0), st.floats(allow_nan=True), st.booleans(), _TEXT, st.none()
)
# sizes no machine holds: the working-memory budget refuses nothing (a size that fits in
# memory is allocated, as the course does), so 10**9 would be a real, slow allocation
_HUGE = st.sampled_from([10**13, 2**62, 10**30])
_BAD_REAL = st.one_of(st.sampled_from([np.nan, np.inf, -np.inf, -1.0, -1e300]), _TEXT, st.none())
ROLES = {
    "array": hostile_array(),
    "count": _BAD_COUNT,  # iterations, epochs: wrong, never merely large (that only takes time)
    "size": st.one_of(_BAD_COUNT, _HUGE),  # sizes that allocate: also absurdly large
    "real": _BAD_REAL,
    "flag": st.one_of(hostile_array(), _TEXT),
    "name": st.one_of(_TEXT, st.sampled_from([None, 3, 2.5, "cupy:7", "float128"])),
    "sizes": st.one_of(
        st.lists(st.one_of(st.integers(-3, 3), _TEXT, st.floats()), max_size=3),
        st.sampled_from([None, 3, "abc", (0,), (10**9,), [10**12, 2]]),
        hostile_array(),
    ),
    # caches: what a backward pass gets when it is not given its own forward pass's cache
    "cache": st.sampled_from(
        [None, (), (1,), "abc", np.ones(3), (np.ones((2, 2)),) * 3, {}, (None, None, None)]
    ),
    # the course's parameter dictionaries (config, bn_param, dropout_param, saved params)
    "config": st.one_of(
        st.sampled_from([None, 3, "abc", [], np.ones(2)]),
        st.dictionaries(
            st.sampled_from(
                [
                    "learning_rate",
                    "momentum",
                    "decay_rate",
                    "beta1",
                    "epsilon",
                    "p",
                    "mode",
                    "eps",
                    "seed",
                    "W1",
                    "velocity",
                    "cache",
                ]
            ),
            st.one_of(
                st.sampled_from([np.nan, -1.0, 0.0, 2.0, "train", "test", "abc", None, 10**30]),
                hostile_array(),
            ),
            max_size=3,
        ),
    ),
    "mapping": st.one_of(
        st.sampled_from([None, 3, "abc", [], {}, {1: []}, {1: "x"}, {"a": [0.5]}]),
        st.dictionaries(
            st.one_of(st.integers(-3, 3), st.tuples(st.floats(), st.floats()), _TEXT),
            st.one_of(hostile_array(), st.tuples(st.floats(), st.floats())),
            max_size=3,
        ),
    ),
    "callable": st.sampled_from([None, 3, "abc", np.ones(3), print, lambda x: x]),
    # paths: the file system's own errors (OSError) are the documented answer there
    "path": st.one_of(
        st.sampled_from([None, 3, 2.5, "", ".", "no/such/folder/m.npy", b"m.npy"]),
        hostile_array(),
    ),
}


def _same(a, b):
    if a is b:
        return True
    if not isinstance(a, np.ndarray) and array_api_compat.is_array_api_obj(a):  # on a device
        return array_api_compat.is_array_api_obj(b) and _same(
            fastvr.to_numpy(a).copy(), fastvr.to_numpy(b).copy()
        )
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and a.flags.writeable == b.flags.writeable
            and (a.dtype.kind in "OU" or np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        )
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and _same(vars(a), vars(b))
    if isinstance(a, (types.ModuleType, type)) or callable(a):
        return a is b or a == b
    if hasattr(a, "__dict__"):
        return type(a) is type(b) and _same(vars(a), vars(b))
    return a == b


def _state(model):
    return None if model is None else copy.deepcopy(vars(model))


def _copy(value):
    """A deep copy that keeps each array's writeable flag (``copy.deepcopy`` does not)."""
    if isinstance(value, np.ndarray):
        duplicate = value.copy()
        duplicate.flags.writeable = value.flags.writeable
        return duplicate
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(item) for item in value)
    return copy.deepcopy(value)


@pytest.mark.parametrize("target", sorted(TARGETS))
@given(data=st.data())
def test_hostile_argument(target, data, tmp_path_factory):
    make, roles, call, model_factory = TARGETS[target]
    args = make()
    name = data.draw(st.sampled_from(sorted(roles)), label="argument")
    role = roles[name]
    strategy = _labels(len(args["X"]) if "X" in args else 8) if role == "labels" else ROLES[role]
    args[name] = data.draw(strategy, label=name)
    before = {key: _copy(value) for key, value in args.items()}
    fastvr.set_save_folder(tmp_path_factory.getbasetemp() / "fuzz-saved")
    model = None if model_factory is None else model_factory()
    model_before = _state(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=fastvr.DivergenceWarning)
        warnings.filterwarnings("ignore", message="the (svm|softmax) loss overflowed")
        warnings.filterwarnings("ignore", message=r"\w+ ignores the optim_config key")
        # scikit-learn's convention for a column-vector y, which its estimator checks demand
        warnings.filterwarnings("ignore", message="A column-vector y was passed")
        allowed = DOCUMENTED + ((OSError,) if role == "path" else ())
        try:
            call(model, dict(args))
        except allowed as exc:
            failed = True
            message = str(exc)
            # the file system's own errors name the file instead of the argument
            assert isinstance(exc, OSError) or name in message or name.split("_")[0] in message, (
                f"{target}: the message does not name {name!r}: {type(exc).__name__}: {message}"
            )
        except Exception as exc:  # anything else escaping is what this fuzz looks for
            raise AssertionError(
                f"{target}({name}=...) raised {type(exc).__name__}: {exc}"
            ) from exc
        else:
            failed = False
    for key, value in args.items():
        if failed or key not in UPDATED_IN_PLACE.get(target, ()):
            assert _same(value, before[key]), f"{target} modified its argument {key}"
    if failed and model is not None:
        assert _same(vars(model), model_before), f"{target} changed the model and then failed"


def _public_callables():
    """Every public function, class and method of the package, each with the names a fuzz
    target may call it by: ``module.name``, and ``module.Subclass.method`` for an inherited
    method (``LinearSVM.train`` drives ``LinearClassifier.train``)."""
    import importlib
    import inspect
    import pkgutil

    found, classes = {}, []
    modules = ["fastvr"] + [
        info.name
        for info in pkgutil.walk_packages(fastvr.__path__, "fastvr.")
        if not any(part.startswith("_") for part in info.name.split(".")[1:])
    ]
    for name in modules:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", None) or dir(module):
            obj = getattr(module, attr, None)
            origin = getattr(obj, "__module__", None) or ""
            # the package's own names come from private modules (fastvr._config, ...)
            ours = origin == name or (name == "fastvr" and origin.startswith("fastvr._"))
            if attr.startswith("_") or not ours:
                continue
            info = types.SimpleNamespace(name=name)
            if inspect.isfunction(obj):
                found[f"{info.name}.{attr}"] = {f"{info.name}.{attr}"}
            elif inspect.isclass(obj) and not issubclass(obj, BaseException):
                classes.append((info.name, obj))
    for module, cls in classes:
        found[f"{module}.{cls.__name__}"] = {f"{module}.{cls.__name__}"}
        subclasses = [(m, c) for m, c in classes if issubclass(c, cls)]
        for method, value in vars(cls).items():
            if not method.startswith("_") and inspect.isfunction(value):
                found[f"{module}.{cls.__name__}.{method}"] = {
                    f"{m}.{c.__name__}.{method}" for m, c in subclasses
                }
    return found


def _drives(target, names):
    """A target drives a callable when the target's name ends one of the callable's names,
    with or without the target's last part (``optim.adam.config`` drives ``optim.adam``)."""
    stems = {target, target.rsplit(".", 1)[0]}
    return any(("." + name).endswith("." + stem) for name in names for stem in stems)


def test_every_public_callable_is_fuzzed_or_exempt_with_a_reason():
    missing = sorted(
        name
        for name, aliases in _public_callables().items()
        if not any(_drives(t, aliases) for t in TARGETS)
        and not any(name == e or name.startswith(e + ".") for e in EXEMPT)
    )
    assert not missing, f"public callables with no fuzz target and no reason: {missing}"
