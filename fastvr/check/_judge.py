"""Turning what a student's function returned into a verdict: compare with fastvr's answer,
recognise the classic mistakes, tell a different convention from a bug."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STATUSES = ("pass", "fail", "convention", "error", "missing")


@dataclass
class Verdict:
    """One function's verdict (see :func:`fastvr.check.check_package`)."""

    name: str
    status: str
    detail: str = ""
    hint: str = ""
    max_rel_error: float | None = None
    seconds: float | None = None
    speed_vs_fastvr: float | None = None  # fastvr's time / the student's (above 1: faster)
    cases: int = 0

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "hint": self.hint,
            "max_rel_error": _finite_or_none(self.max_rel_error),
            "seconds": self.seconds,
            "speed_vs_fastvr": self.speed_vs_fastvr,
            "cases": self.cases,
        }


def _finite_or_none(x: float | None) -> float | str | None:
    if x is None:
        return None
    return float(x) if math.isfinite(x) else str(x)  # JSON has no inf/nan


@dataclass(frozen=True)
class Mistake:
    """What a known mistake returns on a case, and the hint that names it; ``convention``:
    an accepted alternative, not a bug."""

    hint: str
    output: Any  # or a predicate on what the function returned
    convention: bool = False


@dataclass
class Case:
    """One input for a student's function, what fastvr answers, and the known mistakes'
    answers. ``inputs`` go to the worker (see its drivers)."""

    label: str
    inputs: dict
    expected: Any
    mistakes: list[Mistake] = field(default_factory=list)
    tolerance: float = 1e-7
    updates_inputs: bool = False  # it may change its inputs (an optimiser's w, as sgd does)


def leaves(value: Any) -> list:
    """The numbers and arrays of a (nested) output, in a fixed order."""
    if isinstance(value, dict):
        return [x for key in sorted(value, key=str) for x in leaves(value[key])]
    if isinstance(value, list) and value and all(np.isscalar(v) for v in value):
        return [np.asarray(value)]  # a loss history
    if isinstance(value, list | tuple):
        return [x for item in value for x in leaves(item)]
    return [value]


def rel_error(out: Any, expected: Any) -> float:
    """The largest difference over the reference's scale, leaf by leaf; ``inf`` when the
    structure, a shape or finiteness differs."""
    got, want = leaves(out), leaves(expected)
    if len(got) != len(want):
        return math.inf
    worst = 0.0
    for a, b in zip(got, want, strict=True):
        if b is None:
            continue
        try:
            a = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError):
            return math.inf
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape and a.size == b.size == 1:
            a, b = a.reshape(()), b.reshape(())
        if a.shape != b.shape:
            return math.inf
        if a.size == 0:
            continue
        if not np.array_equal(np.isfinite(a), np.isfinite(b)):
            return math.inf
        scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-12)
        worst = max(worst, float(np.max(np.abs(a - b), initial=0.0)) / scale)
    return worst


def shape_of(value: Any) -> str:
    shapes = [getattr(x, "shape", None) for x in leaves(value)]
    return ", ".join("scalar" if s in (None, ()) else str(tuple(s)) for s in shapes)


def looks_like_stub(out: Any, expected: Any) -> bool:
    """Whether ``out`` is what the course's unfilled skeletons return: None somewhere, an
    empty ``params``, or an array of zeros where fastvr's answer is not (``dists``,
    ``dW = np.zeros_like(W)``, ``y_pred``)."""
    got, want = leaves(out), leaves(expected)
    if not got or any(v is None for v in got):
        return True
    try:
        arrays = [np.asarray(v, dtype=np.float64) for v in got]
    except (TypeError, ValueError):
        return False
    if len(arrays) != len(want):  # e.g. ``loss, grads = 0, {}``
        return all(not np.any(a) for a in arrays)
    return any(
        a.size and not np.any(a) and (b is None or np.any(np.asarray(b)))
        for a, b in zip(arrays, want, strict=True)
    )


def all_zero(value: Any) -> bool:
    """Whether every number in ``value`` is zero (an answer a skeleton gets right)."""
    try:
        return all(not np.any(np.asarray(v, dtype=np.float64)) for v in leaves(value))
    except (TypeError, ValueError):
        return False


def non_finite(out: Any) -> bool:
    """Whether any number in ``out`` is NaN or infinite."""
    try:
        return any(not np.all(np.isfinite(np.asarray(v, dtype=np.float64))) for v in leaves(out))
    except (TypeError, ValueError):
        return False


def judge(
    name: str,
    cases: Sequence[Case],
    results: list[dict],
    *,
    project: Callable[[Any], Any] | None = None,
    stub: Callable[[Any, Case], bool] | None = None,
) -> Verdict:
    """The verdict on a function from its results on ``cases`` (in order, smallest first);
    ``project`` picks from what it returned the part fastvr's answer covers (the output of
    ``(out, cache)``, the state of an optimiser's config); ``stub(out, case)`` tells the
    course's unfilled skeleton (default: None or zeros, see :func:`looks_like_stub`)."""
    stub = stub or (lambda out, case: looks_like_stub(out, case.expected))
    verdict = Verdict(name, "pass", cases=len(results))
    outs = [r["out"] for r in results if "out" in r]
    # every case answered as the skeleton does (cases whose answer is itself zeros aside)
    skeleton = [stub(out, case) for out, case in zip(outs, cases, strict=False)]
    zeros = [all_zero(case.expected) for case in cases[: len(outs)]]
    if (
        outs
        and len(outs) == len(results)
        and all(s or z for s, z in zip(skeleton, zeros, strict=True))
        and any(s and not z for s, z in zip(skeleton, zeros, strict=True))
    ):
        verdict.status = "missing"
        verdict.detail = "still the course's unfilled skeleton (it returns None or zeros)"
        return verdict
    worst = 0.0
    failed: list[tuple[Case, Any, float, Mistake | None]] = []  # case, output, error, match
    for case, result in zip(cases, results, strict=False):
        if "error" in result:
            verdict.status, verdict.detail = "error", f"{case.label}: {result['error']}"
            return verdict
        out = result["out"]
        if project is not None:
            try:
                out = project(out)
            except Exception:
                verdict.status = "fail"
                verdict.detail = f"{case.label}: it returned {type(out).__name__} {shape_of(out)}"
                verdict.hint = (
                    "the return value has the wrong structure (see the course's docstring)"
                )
                return verdict
        if result["changed"] and not case.updates_inputs:
            verdict.status = "fail"
            verdict.detail = f"{case.label}: changes its input arrays in place"
            verdict.hint = (
                "in-place modification of the input: copy before changing "
                "(x = x.copy()), or use operations that return new arrays"
            )
            return verdict
        err = rel_error(out, case.expected)
        worst = max(worst, err)
        if err > case.tolerance:
            match = next((m for m in case.mistakes if _matches(m, out, case.tolerance)), None)
            failed.append((case, out, err, match))
    verdict.max_rel_error = worst
    if not failed:
        return verdict
    matches = [m for *_, m in failed]
    if all(m is not None and m.convention for m in matches):
        labels = "; ".join(case.label for case, *_ in failed)
        verdict.status, verdict.hint = "convention", matches[0].hint
        verdict.detail = f"consistent, but with another convention than fastvr's ({labels})"
        return verdict
    case, out, err, match = next(f for f in failed if f[3] is None or not f[3].convention)
    verdict.status = "fail"
    verdict.detail = f"{case.label}: {_difference(out, case.expected, err)}"
    verdict.hint = match.hint if match is not None else ""
    return verdict


def _difference(out: Any, expected: Any, err: float) -> str:
    """What differs, in words: the relative error, or NaN/inf, or the shapes."""
    if err != math.inf:
        return f"max relative error {err:.3g}"
    if non_finite(out) and not non_finite(expected):
        return "it returns NaN or inf where fastvr's answer is finite"
    got, want = shape_of(out), shape_of(expected)
    if got != want:
        return f"it returns {got}; fastvr returns {want}"
    return "its output differs from fastvr's in structure or finiteness"


def _matches(mistake: Mistake, out: Any, tolerance: float) -> bool:
    if callable(mistake.output):  # a property rather than an exact answer
        return bool(mistake.output(out))
    return rel_error(out, mistake.output) <= tolerance
