"""Running a student's function safely: a copy of their package, one child process per
function, a time limit and a memory limit.

The child (``_worker.py`` beside this file, run as a script) imports only numpy and the
copied package; whatever it does (hang, crash, ``sys.exit``, allocate without bound, write
files) ends at most that function's check, and the student's own folder is never touched:
the child reads a copy of the package's ``.py`` files in a temporary folder, runs there and
writes no bytecode.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

_WORKER = Path(__file__).with_name("_worker.py")


@dataclass
class Ran:
    """What came back from one function's child process."""

    results: list[dict] = field(default_factory=list)  # one per case that finished
    missing: str | None = None  # the function or its module is not there
    error: str | None = None  # the module does not import, or the process ended early


def copy_package(path: Path, workdir: Path) -> Path:
    """The package's ``.py`` files (and nothing else: no data sets, no saved models) copied
    under ``workdir``; returns the folder to put on ``sys.path``."""
    root = workdir / "package"
    for source in sorted(path.rglob("*.py")):
        relative = source.relative_to(path)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        target = root / path.name / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return root


def run(
    root: Path, target: str, driver: str, cases: list[dict], *, timeout: float, memory_mib: int
) -> Ran:
    """Run ``driver`` of the worker on ``target`` (a dotted name in the copied package at
    ``root``) for every case, in a fresh process limited to ``timeout`` seconds in all and
    ``memory_mib`` MiB of address space (where the platform allows)."""
    with tempfile.TemporaryDirectory(prefix="fastvr-check-") as tmp:
        spec, out = Path(tmp) / "spec.pkl", Path(tmp) / "out.pkl"
        with spec.open("wb") as f:
            spec_data = {"root": str(root), "target": target, "driver": driver, "cases": cases}
            pickle.dump({**spec_data, "memory_mib": memory_mib}, f)
        # no bytecode beside the package, no plot windows, no fastvr warm-up if it imports us
        env = {
            **os.environ,
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg",
            "FASTVR_WARMUP": "off",
        }
        env.pop("PYTHONPATH", None)  # the copied package, not whatever the shell points at
        ended = None
        try:
            process = subprocess.run(
                [sys.executable, "-B", str(_WORKER), str(spec), str(out)],
                cwd=tmp,  # files it writes land in a folder that is deleted
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # the student's prints
                stderr=subprocess.PIPE,
                timeout=timeout,
            )
            if process.returncode != 0:
                ended = _ended(process.returncode, process.stderr)
        except subprocess.TimeoutExpired:
            ended = f"ran past the time limit ({timeout:g} s)"
        ran = _read(out)
    if ended and ran.missing is None and ran.error is None:
        done = len(ran.results)
        ran.error = f"{ended}, in case {done + 1} of {len(cases)}" if done < len(cases) else ended
    return ran


def _ended(code: int, stderr: bytes) -> str:
    last = (stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
    why = f" ({last})" if last else ""
    if code < 0:
        return f"the process was killed by signal {-code}{why}"
    return f"the process exited with status {code}{why}"


def _read(path: Path) -> Ran:
    """The records the child wrote, up to the last complete one."""
    ran = Ran()
    if not path.exists():
        return ran
    with path.open("rb") as f:
        while True:
            try:
                item = pickle.load(f)
            except Exception:  # the end, or a record cut short by the process's end
                break
            if "missing" in item:
                ran.missing = item["missing"]
            elif "import_error" in item:
                ran.error = f"importing it raised {item['import_error']}"
            else:
                ran.results.append(item)
    return ran
