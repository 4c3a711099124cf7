"""Per-cell time of the example notebooks: fastvr against the course's own code.

Each notebook of ``examples/`` runs cell by cell in a fresh Python process with an empty
Numba cache (a new Colab session), once as written and once with ``fastvr`` replaced by
``cs231n_plain`` (``benchmarks/cs231n_plain``: the course's code in plain numpy at the same
module paths). A cell's last expression is displayed as Jupyter would: a figure is rendered
to PNG, and so are the figures pyplot holds at the cell's end. The sides alternate for
``--rounds`` rounds, each round in new processes with new caches; the table gives each
cell's fastest time and flags a cell where fastvr is slower than the course by more than
10 % and 0.1 s.

Run::

    python benchmarks/notebook_cells.py             # both notebooks, 2 rounds
    python benchmarks/notebook_cells.py --rounds 3 --json cells.json
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ["assignment1.ipynb", "assignment1_2025.ipynb"]


def _cells(notebook: pathlib.Path, side: str) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    if side == "course":
        sources = [s.replace("fastvr", "cs231n_plain") for s in sources]
    return sources


def _display(value: object) -> None:
    """What Jupyter's inline backend does at a cell's end: figures rendered to PNG."""
    import matplotlib.pyplot as plt

    if hasattr(value, "savefig"):
        value.savefig(io.BytesIO(), format="png")
    for number in plt.get_fignums():
        plt.figure(number).savefig(io.BytesIO(), format="png")
    plt.close("all")


def _run_cell(source: str, namespace: dict) -> None:
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)
    value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace) if last else None
    _display(value)


def _child(notebook: str, side: str) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))  # cs231n_plain
    sys.path.insert(0, str(ROOT))  # benchmarks.course_code, tests.*
    namespace: dict = {"__name__": "__main__"}
    for source in _cells(ROOT / "examples" / notebook, side):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            _run_cell(source, namespace)
        print(json.dumps(time.perf_counter() - start), flush=True)
    warmup = sys.modules.get("fastvr._warmup")
    if warmup is not None:  # its compiling process outlives the notebook: not into the next run
        warmup.wait()


def _run(notebook: str, side: str, folder: str) -> list[float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(folder, "numba"), MPLBACKEND="Agg")
    out = subprocess.run(
        [sys.executable, __file__, "--child", notebook, side],
        cwd=folder, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"{notebook} ({side}): {out.stderr[-3000:]}")
    return [json.loads(line) for line in out.stdout.splitlines()]


def _first_line(source: str) -> str:
    lines = [s for s in source.splitlines() if s.strip() and not s.startswith(("import", "from"))]
    return (lines[0] if lines else source.splitlines()[0])[:60].replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", help="write the raw times here")
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    raw: dict = {}
    slower = 0
    for notebook in NOTEBOOKS:
        times: dict[str, list[list[float]]] = {"fastvr": [], "course": []}
        for _ in range(args.rounds):
            for side in times:
                with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as folder:
                    times[side].append(_run(notebook, side, folder))
        best = {
            side: [min(cell) for cell in zip(*runs, strict=True)] for side, runs in times.items()
        }
        raw[notebook] = times
        print(f"\n{notebook} (fresh Numba cache; fastest of {args.rounds} rounds)\n")
        print("| cell | starts with | fastvr | course | course / fastvr |")
        print("|---:|---|---:|---:|---:|")
        sources = _cells(ROOT / "examples" / notebook, "fastvr")
        for n, (ours, theirs) in enumerate(zip(best["fastvr"], best["course"], strict=True)):
            late = ours > max(1.1 * theirs, theirs + 0.1)
            slower += late
            flag = " **slower**" if late else ""
            print(f"| {n + 1} | `{_first_line(sources[n])}` | {ours:.2f} s | {theirs:.2f} s "
                  f"| {theirs / max(ours, 1e-9):.2f}x{flag} |")  # fmt: skip
        print(f"| | **whole notebook** | {sum(best['fastvr']):.2f} s | {sum(best['course']):.2f} s "
              f"| {sum(best['course']) / sum(best['fastvr']):.2f}x |")  # fmt: skip
    print(f"\ncells slower than the course's code by more than 10 % and 0.1 s: {slower}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(raw, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
