"""The child process of ``fastvr check``: runs one function of a student's package on a
list of cases and writes what came back.

Run as a script (``python -B _worker.py SPEC OUT``), never imported by fastvr's own modules:
it imports numpy and the student's package only, so nothing the student's code does can
reach into the checker. The parent sets the time and memory limits; each case's result is
appended to ``OUT`` as soon as it is known, so a hang or a crash loses only the case it
happened in.
"""

from __future__ import annotations

import copy
import importlib
import pickle
import sys
import time
import traceback
import types

import numpy as np


def _shim_old_imports() -> None:
    """The course's 2019/2020 files import ``past.builtins.xrange`` and 2021+ ``solver.py``
    ``future.standard_library`` (the ``future`` package); where it is not installed, give
    them what they use, so a missing Python 2 shim is not counted against the student."""
    try:
        import past.builtins
    except ImportError:
        past = types.ModuleType("past")
        builtins = types.ModuleType("past.builtins")
        builtins.xrange = range
        past.builtins = builtins
        sys.modules.update({"past": past, "past.builtins": builtins})
    try:
        import future.standard_library
    except ImportError:
        future = types.ModuleType("future")
        standard_library = types.ModuleType("future.standard_library")
        standard_library.install_aliases = lambda: None
        future.standard_library = standard_library
        sys.modules.update({"future": future, "future.standard_library": standard_library})


def _resolve(dotted: str) -> object:
    """``cs231n.a.b.name`` (or ``...Class.method``): the object, importing the module."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as error:
            if error.name and dotted.startswith(error.name + "."):
                continue  # a shorter prefix is the module
            raise
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


# -- drivers: how each kind of target is called (the parent names one per target) ----------

_seconds = 0.0  # what the last timed call took (the driver's setup excluded)


def _timed(call: object, case: dict) -> object:
    """``call()``, timed: asked to repeat, one untimed call (imports, caches) and then the
    quickest of ``case["repeat"]`` calls, in ``_seconds``."""
    global _seconds
    repeats = case.get("repeat", 1)
    if repeats > 1:
        call()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = call()
        best = min(best, time.perf_counter() - start)
    _seconds = best
    return out


def call(target: str, case: dict) -> object:
    """A plain function: ``target(*args, **kwargs)``."""
    function = _resolve(target)
    return _timed(lambda: function(*case["args"], **case.get("kwargs", {})), case)


def backward(target: str, case: dict) -> object:
    """A layer's backward pass through its own forward pass's cache."""
    forward = _resolve(case["forward"])
    _, cache = forward(*case["args"])
    backward_pass = _resolve(target)
    return _timed(lambda: backward_pass(case["dout"], cache), case)


def knn(target: str, case: dict) -> object:
    """A ``KNearestNeighbor`` method on a classifier trained on ``X_train, y_train`` (timed
    with the training: what a notebook's cell does)."""
    cls_name, method = target.rsplit(".", 1)

    def trained_then_called() -> object:
        model = _resolve(cls_name)()
        model.train(case["X_train"], case["y_train"])
        return getattr(model, method)(*case["args"])

    return _timed(trained_then_called, case)


def linear(target: str, case: dict) -> object:
    """``LinearClassifier.predict`` / ``train`` through a concrete subclass, from ``W``."""
    module, method = target.rsplit(".", 2)[0], target.rsplit(".", 1)[1]
    model = _resolve(f"{module}.{case['subclass']}")()
    model.W = case["W"].copy()
    if case.get("seed") is not None:
        np.random.seed(case["seed"])
    out = _timed(lambda: getattr(model, method)(*case["args"], **case.get("kwargs", {})), case)
    return (out, model.W) if method == "train" else out


def net(target: str, case: dict) -> object:
    """A network class: built from ``init`` (after ``seed``), its ``params`` replaced where
    given, attributes set, then ``method`` called (``"__init__"``: the params drawn)."""
    cls_name, method = target.rsplit(".", 1)
    if case.get("seed") is not None:
        np.random.seed(case["seed"])
    model = _resolve(cls_name)(*case.get("init_args", ()), **case.get("init", {}))
    if method == "__init__":
        return {name: np.array(value) for name, value in model.params.items()}
    if "params" in case:
        model.params.update({name: value.copy() for name, value in case["params"].items()})
    for name, value in case.get("attrs", {}).items():
        setattr(model, name, value)
    if case.get("call_seed") is not None:
        np.random.seed(case["call_seed"])
    out = _timed(lambda: getattr(model, method)(*case["args"], **case.get("kwargs", {})), case)
    return (out, {n: np.array(v) for n, v in model.params.items()}) if method == "train" else out


def gradcheck(target: str, case: dict) -> object:
    """The student's analytic gradients beside centred differences of the student's own
    function: ``{name: (analytic, numeric)}``. ``via``: ``"loss"`` (a ``(loss, grad)``
    function, gradient with respect to argument ``wrt``), ``"backward"`` (a layer's
    backward pass against its forward pass, projected on ``dout``) or ``"net"`` (a network's
    ``loss`` with respect to each of ``params``)."""
    h = 1e-5
    via = case.get("via", "loss")
    if via == "net":
        cls_name = target.rsplit(".", 1)[0]
        model = _resolve(cls_name)(*case.get("init_args", ()), **case.get("init", {}))
        model.params.update({name: value.copy() for name, value in case["params"].items()})
        for name, value in case.get("attrs", {}).items():
            setattr(model, name, value)
        args, kwargs = case["args"], case.get("kwargs", {})
        _, grads = model.loss(*args, **kwargs)
        return {
            name: (np.array(grads[name]), _numeric(lambda: model.loss(*args, **kwargs)[0], x, h))
            for name, x in ((n, model.params[n]) for n in case["params"])
        }
    if via == "backward":
        forward = _resolve(case["forward"])
        args, dout = [a.copy() for a in case["args"]], case["dout"]
        grads = _resolve(target)(dout, forward(*args)[1])
        grads = grads if isinstance(grads, tuple) else (grads,)
        return {
            str(i): (np.array(g), _numeric(lambda: np.sum(forward(*args)[0] * dout), x, h))
            for i, (g, x) in enumerate(zip(grads, args, strict=False))
        }
    f = _resolve(target)
    args = list(case["args"])
    x = args[case["wrt"]]
    return {"grad": (np.array(f(*args)[1]), _numeric(lambda: f(*args)[0], x, h))}


def _numeric(f: object, x: np.ndarray, h: float) -> np.ndarray:
    """Centred differences of ``f()`` in each entry of ``x`` (perturbed in place), as
    ``fastvr.gradient_check.eval_numerical_gradient`` computes them: written out here because
    this process imports nothing of fastvr."""
    grad = np.zeros_like(x, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        plus = float(f())
        x[ix] = old - h
        minus = float(f())
        x[ix] = old
        grad[ix] = (plus - minus) / (2 * h)
    return grad


DRIVERS = {f.__name__: f for f in (call, backward, knn, linear, net, gradcheck)}


def _arrays(value: object) -> list:
    """Every numpy array inside ``value`` (a case's inputs), in a fixed order."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        return [a for key in sorted(value, key=str) for a in _arrays(value[key])]
    if isinstance(value, list | tuple):
        return [a for item in value for a in _arrays(item)]
    return []


def _last_line(error: BaseException) -> str:
    lines = traceback.format_exception_only(type(error), error)
    return lines[-1].strip() if lines else type(error).__name__


def run_case(spec: dict, case: dict) -> dict:
    """One case: the outputs (or the exception's last line), seconds, whether an input
    array changed."""
    driver = DRIVERS[spec["driver"]]
    case = copy.deepcopy(case)  # cases may share arrays: one's in-place update is not another's
    before = [(a, a.copy()) for a in _arrays(case)]  # the caller's arrays and their values
    try:
        out = driver(spec["target"], case)
        seconds = _seconds
    except BaseException as error:  # SystemExit and KeyboardInterrupt too: it is their code
        return {"error": _last_line(error)}
    changed = [
        i
        for i, (a, copy_of_a) in enumerate(before)
        if a.shape != copy_of_a.shape or not np.array_equal(a, copy_of_a, equal_nan=True)
    ]
    return {"out": out, "seconds": seconds, "changed": changed}


def _limit_memory(mib: int) -> None:
    """At most ``mib`` MiB of address space from here on (POSIX): a huge allocation in the
    student's code raises MemoryError instead of taking the machine."""
    try:
        import resource
    except ImportError:  # Windows: the time limit still applies
        return
    limit = mib * 2**20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def main(spec_path: str, out_path: str) -> None:
    with open(spec_path, "rb") as f:
        spec = pickle.load(f)
    _limit_memory(spec["memory_mib"])
    sys.path.insert(0, spec["root"])
    _shim_old_imports()
    with open(out_path, "wb") as out:
        try:
            _resolve(spec["target"])
        except (AttributeError, ModuleNotFoundError) as error:
            # a module of the package itself, or a name in it, is not there; a third-party
            # module the package imports is an error of the package
            package = spec["target"].split(".")[0]
            third_party = isinstance(error, ModuleNotFoundError) and not (
                error.name or package
            ).startswith(package)
            found = "import_error" if third_party else "missing"
            pickle.dump({found: _last_line(error)}, out)
            return
        except BaseException as error:  # the module does not import: a syntax error, ...
            pickle.dump({"import_error": _last_line(error)}, out)
            return
        for case in spec["cases"]:
            result = run_case(spec, case)
            try:
                pickle.dump(result, out)
            except Exception as error:  # an output that cannot be pickled
                pickle.dump({"error": f"returned something unusable: {_last_line(error)}"}, out)
            out.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
