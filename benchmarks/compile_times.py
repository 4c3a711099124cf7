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
from collections.abc import Callable

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


def table(sides: dict[str, list[dict]]) -> str:
    """Medians per kernel, per step and in all, one column per version of the kernels; a
    kernel a version does not have is marked "-"."""
    names = list(sides)
    lines = [
        "| compile, empty cache (median) | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]

    def row(label: str, seconds: Callable[[dict], float | None], bold: bool = False) -> None:
        cells = []
        for name in names:
            values = [seconds(run) for run in sides[name]]
            cell = "-" if None in values else f"{statistics.median(values):.3f} s"
            cells.append(f"**{cell}**" if bold else cell)
        lines.append(f"| {label} | {' | '.join(cells)} |")

    row("import numba", lambda run: run["numba import"])
    row("Numba's set-up (the first compilation in a process)", lambda run: run["Numba's set-up"])
    kernels = {k for runs in sides.values() for run in runs for k in run["kernels"]}
    for kernel in sorted(kernels):
        row(f"`{kernel}`", lambda run, k=kernel: run["kernels"].get(k))
    for step in sides[names[0]][0]["steps"]:
        row(f"step: {step}", lambda run, s=step: run["steps"][s])
    row("**every step**", lambda run: sum(run["steps"].values()), bold=True)
    lines += [
        "",
        "A kernel called by another kernel is counted in its caller's time too; the steps "
        "are wall times.",
    ]
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
