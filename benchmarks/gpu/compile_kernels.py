"""Compile every Numba-CUDA kernel of fastvr for a GPU architecture, without a GPU.

Numba-CUDA's ``compile_ptx`` types and lowers each kernel (what the CUDA simulator skips)
and, where ``ptxas`` is on the PATH or under ``$CUDA_HOME/bin``, assembles it to report
registers, stack (local arrays), spills and shared memory per thread block. Needs the
``numba-cuda`` package with NVVM (``pip install "numba-cuda[cu13]"``); no driver or device.
ptxas must know the PTX version NVVM writes: with an older toolkit, pin ``nvidia-nvvm`` to
its release (here ``nvidia-nvvm==13.0.*`` for ptxas 13.0).

Usage: ``python benchmarks/gpu/compile_kernels.py [--cc 9.0] [--out report.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata

from numba import boolean, cuda, float32, float64, int64

from fastvr.kernels import cuda as kernels


def signatures() -> dict[str, tuple]:
    """(py_func, argument types) of every kernel, for float32 and float64 data."""
    out = {}
    for dt in (float32, float64):
        matrix = dt[:, ::1]
        for name in ("_two_loops_kernel", "_one_loop_kernel"):
            kernel = getattr(kernels, name)
            out[f"{name.strip('_')}[{dt}]"] = (
                kernel.py_func,
                (matrix, matrix, matrix, boolean, boolean),
            )
        for name in ("_svm_naive_kernel", "_softmax_naive_kernel"):
            kernel = getattr(kernels, name)
            out[f"{name.strip('_')}[{dt}]"] = (
                kernel.py_func,
                (matrix, matrix, int64[::1], float64[::1], float64[:, ::1]),
            )
        for capacity in kernels._TOPK_CAPACITIES:
            kernel, threads = kernels._smallest_k_kernel(capacity)
            out[f"smallest_k_capacity{capacity}_threads{threads}[{dt}]"] = (
                kernel.py_func,
                (matrix, matrix, int64[:, ::1]),
            )
    return out


def _ptxas() -> str | None:
    found = shutil.which("ptxas")
    home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
    candidate = os.path.join(home, "bin", "ptxas")
    return found or (candidate if os.path.exists(candidate) else None)


_RESOURCES = {
    "registers": r"Used (\d+) registers",
    "stack_bytes": r"(\d+) bytes stack frame",
    "spill_store_bytes": r"(\d+) bytes spill stores",
    "spill_load_bytes": r"(\d+) bytes spill loads",
    "shared_bytes": r"(\d+) bytes smem",
}


def assemble(ptx: str, arch: str, ptxas: str) -> dict:
    """ptxas -v on one kernel's PTX: its resource usage, or the assembler's error."""
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "kernel.ptx")
        with open(source, "w") as f:
            f.write(ptx)
        run = subprocess.run(
            [ptxas, f"-arch={arch}", "-v", source, "-o", os.path.join(folder, "kernel.cubin")],
            capture_output=True,
            text=True,
        )
    if run.returncode != 0:
        return {"ptxas_error": run.stderr.strip().splitlines()[-1]}
    found = {}
    for key, pattern in _RESOURCES.items():
        match = re.search(pattern, run.stderr)
        found[key] = int(match[1]) if match else 0
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cc", default="9.0", help="compute capability (default 9.0: Hopper)")
    parser.add_argument("--out", help="write the JSON report here as well")
    args = parser.parse_args(argv)
    cc = tuple(int(part) for part in args.cc.split("."))
    arch = f"sm_{cc[0]}{cc[1]}"
    ptxas = _ptxas()
    report = {
        "target": arch,
        "numba-cuda": metadata.version("numba-cuda"),
        "numba": metadata.version("numba"),
        "ptxas": subprocess.run([ptxas, "--version"], capture_output=True, text=True)
        .stdout.strip()
        .splitlines()[-1]
        if ptxas
        else None,
        "kernels": {},
    }
    failed = False
    for name, (func, argtypes) in signatures().items():
        try:
            ptx, _ = cuda.compile_ptx(func, argtypes, cc=cc)
        except Exception as exc:  # reported per kernel; the exit status says that one failed
            report["kernels"][name] = {"compile_error": repr(exc)}
            failed = True
            continue
        entry = {"ptx_version": re.search(r"\.version (\S+)", ptx)[1]}
        if ptxas:
            entry.update(assemble(ptx, arch, ptxas))
        report["kernels"][name] = entry
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
