"""What each CPU kernel costs to compile on a fresh machine (an empty Numba cache).

Each run is a fresh Python process with an empty ``NUMBA_CACHE_DIR``. It first compiles a
trivial function (Numba's one-off set-up in a process, paid by whichever kernel comes
first), then runs the warm-up's steps (``fastvr._warmup.STEPS``: the calls a course
notebook makes, in its order) and reports each kernel's compile time as Numba records it
(nested compilations of the numpy functions a kernel uses included) and each step's wall
time. ``--kernels`` times another version of ``kernels/cpu.py`` beside this one, run for
run, e.g. the one before a change::

    git show HEAD~1:kernels/cpu.py > /tmp/before_cpu.py
    python -m benchmarks.compile_times --kernels /tmp/before_cpu.py --repeat 3

Run::

    python -m benchmarks.compile_times            # this checkout's kernels, 3 runs
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNELS = ROOT / "kernels" / "cpu.py"

_CHILD = """
import importlib.util, json, sys, time
t = time.perf_counter()
import numba, numpy as np
from numba.core.registry import CPUDispatcher
numba_import = time.perf_counter() - t

@numba.njit
def first(a):
    return a[0]

t = time.perf_counter()
first(np.ones(1))
setup = time.perf_counter() - t
spec = importlib.util.spec_from_file_location("fastvr.kernels.cpu", sys.argv[1])
cpu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cpu)
from fastvr._warmup import STEPS

steps = {}
for name, step in STEPS.items():
    t = time.perf_counter()
    step(cpu)
    steps[name] = time.perf_counter() - t
kernels = {
    name: sum(c.metadata["timers"]["compiler_lock"] for c in k.overloads.values())
    for name, k in vars(cpu).items()
    if isinstance(k, CPUDispatcher) and k.overloads
}
print(json.dumps({"numba import": numba_import, "Numba's set-up": setup,
                  "steps": steps, "kernels": kernels}))
"""


def one_run(kernels: pathlib.Path) -> dict:
    """Compile times of ``kernels`` in a fresh process with an empty cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, FASTVR_WARMUP="off")
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(kernels)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(out.stdout.splitlines()[-1])


def _median(runs: list[dict], *keys: str) -> float:
    values = []
    for run in runs:
        for key in keys:
            run = run.get(key, {}) if isinstance(run, dict) else {}
        values.append(run if isinstance(run, float) else 0.0)
    return statistics.median(values)


def table(sides: dict[str, list[dict]]) -> str:
    """Medians per kernel, per step and in all, one column per version of the kernels."""
    names = list(sides)
    first = sides[names[0]][0]
    head = "| compile, empty cache (median) | " + " | ".join(names) + " |"
    lines = [head, "|---|" + "---:|" * len(names)]

    def row(label: str, *keys: str) -> None:
        cells = " | ".join(f"{_median(sides[n], *keys):.3f} s" for n in names)
        lines.append(f"| {label} | {cells} |")

    row("import numba", "numba import")
    row("Numba's set-up (the first compilation in a process)", "Numba's set-up")
    kernels = {k for runs in sides.values() for run in runs for k in run["kernels"]}
    for kernel in sorted(kernels):
        row(f"`{kernel}`", "kernels", kernel)
    for step in first["steps"]:
        row(f"step: {step}", "steps", step)
    totals = {n: [sum(r["steps"].values()) for r in sides[n]] for n in names}
    lines.append(
        "| **every step** | "
        + " | ".join(f"**{statistics.median(totals[n]):.3f} s**" for n in names)
        + " |"
    )
    lines.append("")
    lines.append(
        "A kernel called by another kernel is counted in its caller's time too; the steps "
        "are wall times."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per version")
    parser.add_argument("--kernels", type=pathlib.Path, help="another kernels/cpu.py to time")
    parser.add_argument("--json", help="write the raw numbers here")
    args = parser.parse_args(argv)
    versions = {"this checkout": KERNELS}
    if args.kernels:
        versions = {str(args.kernels): args.kernels.resolve(), **versions}
    sides: dict[str, list[dict]] = {name: [] for name in versions}
    for _ in range(args.repeat):  # run for run, so both see the same load
        for name, path in versions.items():
            sides[name].append(one_run(path))
    print(table(sides))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(sides, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
