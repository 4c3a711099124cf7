"""``fastvr check``: whether a student's own Assignment 1 is right, and why not.

Every function and class of the assignment that a ``cs231n`` package defines (either
edition) runs, in a separate process per function with a time and a memory limit, on small
and adversarial cases and on the notebooks' own; what it returns is compared with fastvr's
answer. A failure names the smallest failing case, the largest relative error and, when
the output is what a classic mistake gives, that mistake. See ``docs/guide/check.md``.
"""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import _warmup
from .._backend import backend
from .._validation import check_flag, check_int, check_path, check_real
from . import _runner
from ._judge import STATUSES, Verdict, judge, rel_error
from ._targets import Target, all_targets

__all__ = ["Report", "Verdict", "check_package", "find_package"]

# own gradient check: analytic and centred-difference gradients agree to this
_GRADCHECK_TOLERANCE = 1e-6
# speed: the quickest of this many calls, each side (after one untimed call)
_SPEED_REPEATS = 5


@dataclass
class Report:
    """Verdicts on every function checked, with the package and edition they came from."""

    package: str
    edition: str
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def summary(self) -> dict:
        counts = {status: 0 for status in STATUSES}
        for verdict in self.verdicts:
            counts[verdict.status] += 1
        return {
            "package": self.package,
            "edition": self.edition,
            "checked": len(self.verdicts),
            **counts,
        }

    @property
    def ok(self) -> bool:
        """Nothing failed and nothing raised (missing functions and other conventions are
        reported, not failures)."""
        return not any(v.status in ("fail", "error") for v in self.verdicts)

    def to_json(self) -> dict:
        return {"functions": [v.to_json() for v in self.verdicts], "summary": self.summary}

    def to_gradescope(self) -> dict:
        """Gradescope's ``results.json``: one test per function, 1 point for a pass or an
        accepted convention."""
        tests = []
        for v in self.verdicts:
            score = 1.0 if v.status in ("pass", "convention") else 0.0
            lines = [v.status + (f": {v.detail}" if v.detail else "")]
            if v.hint:
                lines.append(f"hint: {v.hint}")
            tests.append(
                {"name": v.name, "score": score, "max_score": 1.0, "output": "\n".join(lines)}
            )
        return {"score": sum(t["score"] for t in tests), "tests": tests}

    def table(self, width: int = 100) -> str:
        """The terminal report: a line per function (status, name, speed), then what went
        wrong and the hint, wrapped to ``width`` columns."""
        lines = [f"{self.package} ({self.edition} edition)", ""]
        indent = " " * 14
        for v in self.verdicts:
            speed = f"  ({v.speed_vs_fastvr:.2f}x fastvr's speed)" if v.speed_vs_fastvr else ""
            lines.append(f"  {v.status:<10}  {_short(v.name)}{speed}")
            notes = [v.detail] if v.status != "pass" and v.detail else []
            notes += [f"hint: {v.hint}"] if v.hint else []
            for note in notes:
                lines += textwrap.wrap(
                    note, width, initial_indent=indent, subsequent_indent=indent + "  "
                )
        s = self.summary
        lines += ["", ", ".join(f"{s[k]} {k}" for k in STATUSES if s[k]) + f" of {s['checked']}"]
        if any(v.speed_vs_fastvr for v in self.verdicts):
            lines.append(
                "speed: fastvr's time over yours at the course's sizes (above 1: yours is faster)"
            )
        return "\n".join(lines)


def _short(name: str) -> str:
    return name.removeprefix("cs231n.").removeprefix("classifiers.")


def find_package(path: str | os.PathLike) -> Path:
    """The ``cs231n`` package folder at or directly under ``path`` (the assignment folder or
    the package itself), or a ``ValueError`` saying what was there instead."""
    path = Path(check_path(path, "path")).expanduser()
    if not path.is_dir():
        raise ValueError(f"path {str(path)!r} is not a folder")
    for candidate in (path / "cs231n", path):
        if candidate.name == "cs231n" and (candidate / "__init__.py").is_file():
            return candidate.resolve()
    raise ValueError(
        f"no cs231n package in path {str(path)!r}: give the assignment folder (the one holding "
        "cs231n/) or the cs231n folder itself"
    )


def edition_of(package: Path) -> str:
    """``"2019"`` (2019/2020: ``neural_net.py``), ``"2025"`` (2025/2026: ``FullyConnectedNet``
    in ``fc_net.py``) or ``"2021"`` (2021–2024)."""
    if (package / "classifiers" / "neural_net.py").is_file():
        return "2019"
    fc = package / "classifiers" / "fc_net.py"
    if fc.is_file() and "FullyConnectedNet" in fc.read_text(errors="replace"):
        return "2025"
    return "2021"


def select(package: Path, edition: str, only: str | None = None) -> list[Target]:
    """The targets this package's edition and files call for; ``only``: the one whose dotted
    name is, or ends with, ``only``, whatever the edition (asked for by name)."""
    present = [t for t in all_targets() if (package / t.module).is_file()]
    if only is None:
        return [t for t in present if edition in t.editions]
    chosen = [t for t in present if t.name == only or t.name.endswith("." + only)]
    if not chosen:
        names = ", ".join(_short(t.name) for t in present) or "none (no assignment file found)"
        raise ValueError(f"--only {only!r} matches no function checked here; the names: {names}")
    return chosen


def check_package(
    path: str | os.PathLike,
    *,
    only: str | None = None,
    timeout: float = 60.0,
    memory_mib: int = 4096,
    speed: bool = True,
    progress: Callable[[Verdict], None] | None = None,
) -> Report:
    """Judge a student's ``cs231n`` package against fastvr, function by function.

    Parameters
    ----------
    path : path
        The assignment folder (holding ``cs231n/``) or the ``cs231n`` folder, either edition.
    only : str, optional
        Check one function: its dotted name or its end (``"softmax_loss_vectorized"``).
    timeout : float
        Seconds each function may take over all its cases (a hang is an ``error``).
    memory_mib : int
        Address space each function's process may use (POSIX; a huge allocation is an error).
    speed : bool
        Time each vectorized function against fastvr at the course's sizes.
    progress : callable, optional
        Called with each verdict as soon as it is known.

    Returns
    -------
    Report
        ``report.verdicts`` in the assignment's order; ``report.ok`` when nothing failed.

    Examples
    --------
    >>> from fastvr.check import check_package
    >>> report = check_package("assignment1", only="softmax_loss_vectorized")  # doctest: +SKIP
    >>> print(report.table())  # doctest: +SKIP
    """
    # every argument checked before any work
    timeout = check_real(timeout, "timeout", low=0.0)
    if timeout == 0:
        raise ValueError("timeout must be a positive number of seconds; got 0")
    memory_mib = check_int(memory_mib, "memory_mib", low=256)
    speed = check_flag(speed, "speed")
    if only is not None and not isinstance(only, str):
        raise TypeError(f"only must be a function's name or None; got {only!r}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None; got {progress!r}")
    package = find_package(path)
    edition = edition_of(package)
    targets = select(package, edition, only)
    report = Report(
        str(package), {"2019": "2019/2020", "2021": "2021-2024", "2025": "2025/2026"}[edition]
    )
    with tempfile.TemporaryDirectory(prefix="fastvr-check-") as tmp:
        root = _runner.copy_package(package, Path(tmp))
        for target in targets:
            verdict = _check_one(target, root, timeout, memory_mib, speed)
            _blame_dependencies(verdict, target, report.verdicts)
            report.verdicts.append(verdict)
            if progress is not None:
                progress(verdict)
    return report


def _blame_dependencies(verdict: Verdict, target: Target, earlier: list[Verdict]) -> None:
    """A failure of a function that calls the student's other functions (the classifier's
    ``train`` its loss, a net its layers) names those that failed first: fix them first."""
    if verdict.status not in ("fail", "error"):
        return
    broken = [
        _short(v.name)
        for v in earlier
        if v.status in ("fail", "error", "missing")
        and any(v.name.endswith("." + dependency) for dependency in target.uses)
    ]
    if broken:
        which = "which fails: fix it first" if len(broken) == 1 else "which fail: fix those first"
        verdict.detail += f" (it calls {', '.join(broken)}, {which})"


def _check_one(target: Target, root: Path, timeout: float, memory_mib: int, speed: bool) -> Verdict:
    with backend("numpy"):  # the answers on the host, as the student's numpy code computes
        cases = target.cases()
    ran = _runner.run(
        root,
        target.name,
        target.driver,
        [c.inputs for c in cases],
        timeout=timeout,
        memory_mib=memory_mib,
    )
    if ran.missing is not None:
        return Verdict(target.name, "missing", detail=f"not defined ({ran.missing})")
    verdict = judge(target.name, cases, ran.results, project=target.project, stub=target.stub)
    if verdict.status == "pass" and ran.error is not None:
        verdict.status, verdict.detail = "error", ran.error
    if verdict.status in ("pass", "fail", "convention"):
        verdict.seconds = sum(r.get("seconds", 0.0) for r in ran.results)
    if target.gradcheck is not None and verdict.status in ("fail", "convention"):
        _own_gradient_check(verdict, target, root, timeout, memory_mib)
    if speed and target.speed is not None and verdict.status in ("pass", "convention"):
        _time_against_fastvr(verdict, target, root, timeout, memory_mib)
    return verdict


def _own_gradient_check(
    verdict: Verdict, target: Target, root: Path, timeout: float, memory_mib: int
) -> None:
    """Whether the function's analytic gradient agrees with a numerical gradient of its own
    loss: tells a wrong gradient from a wrong loss, and backs a ``convention`` verdict."""
    with backend("numpy"):
        cases = target.gradcheck()
    ran = _runner.run(root, target.name, "gradcheck", cases, timeout=timeout, memory_mib=memory_mib)
    if not ran.results or "out" not in ran.results[0]:
        return
    pairs = ran.results[0]["out"].values()
    err = max(rel_error(analytic, numeric) for analytic, numeric in pairs)
    consistent = err <= _GRADCHECK_TOLERANCE
    if verdict.status == "convention" and not consistent:
        verdict.status = "fail"
    if consistent:
        verdict.detail += (
            "; its gradient agrees with a numerical gradient of its own loss "
            f"(relative error {err:.2g})"
        )
    else:
        verdict.detail += (
            f"; its gradient and its own loss disagree (numerical gradient: relative error "
            f"{err:.2g}), so one of them is wrong"
        )


def _time_against_fastvr(
    verdict: Verdict, target: Target, root: Path, timeout: float, memory_mib: int
) -> None:
    with backend("numpy"):
        inputs, fastvr_call = target.speed()
    ran = _runner.run(
        root,
        target.name,
        target.driver,
        [{**inputs, "repeat": _SPEED_REPEATS}],
        timeout=timeout,
        memory_mib=memory_mib,
    )
    if not ran.results or "seconds" not in ran.results[0]:
        verdict.detail = "; ".join(
            filter(
                None, [verdict.detail, "not timed (course sizes): " + (ran.error or "it raised")]
            )
        )
        return
    _warmup.wait()  # the background compilation must not share the cores with the timing
    with backend("numpy"):  # like for like: the student's code runs on numpy too
        fastvr_call()  # once to settle caches and compiled paths
        fastvr_seconds = float("inf")
        for _ in range(_SPEED_REPEATS):
            start = time.perf_counter()
            fastvr_call()
            fastvr_seconds = min(fastvr_seconds, time.perf_counter() - start)
    verdict.speed_vs_fastvr = fastvr_seconds / max(ran.results[0]["seconds"], 1e-9)


def write_json(report: Report, path: str | os.PathLike, *, gradescope: bool = False) -> None:
    """The report as JSON (``gradescope``: Gradescope's ``results.json`` layout)."""
    data = report.to_gradescope() if gradescope else report.to_json()
    Path(path).write_text(json.dumps(data, indent=2) + "\n")
