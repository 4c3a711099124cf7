"""The ``fastvr`` command: ``demo`` (the whole assignment on bundled data), ``check`` (judge
a student's own ``cs231n`` package), ``bench`` (the k-NN speed report), ``info`` (what
fastvr sees) and ``warmup`` (compile the kernels now)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict

from . import __version__, _warmup, data_utils, saved
from ._backend import (
    BACKEND_NAMES,
    BackendUnavailableError,
    backend,
    cuda_device_count,
    environment_backend,
)
from ._config import get_working_memory


def _versions() -> dict[str, str]:
    from importlib import metadata

    found = {}
    for name in (
        "numpy",
        "numba",
        "array-api-compat",
        "cupy-cuda12x",
        "cupy-cuda13x",
        "cupy",
        "scikit-learn",
        "faiss-cpu",
    ):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _gpus() -> list[str]:
    if cuda_device_count() == 0:
        return []
    import cupy

    return [
        cupy.cuda.runtime.getDeviceProperties(i)["name"].decode()
        for i in range(cuda_device_count())
    ]


def _save_folder() -> str:
    """The save folder, or why models cannot be saved there."""
    folder = os.path.realpath(saved.save_folder())
    try:
        return folder if saved.check_save_folder() else f"{folder} (created on the first save)"
    except OSError as error:
        return f"error: {error}"


def _cifar10() -> str:
    """Where CIFAR-10 is found now, or why not."""
    try:
        return os.path.abspath(data_utils.find_cifar10())
    except FileNotFoundError as error:
        if os.environ.get(data_utils.CIFAR10_ENV):
            return f"error: {error}"
        return "not found (the demo uses the bundled digits)"


def info() -> dict:
    """What ``fastvr info`` reports, as a dict."""
    from .kernels.cpu import thread_count  # (loads Numba: only info needs it here)

    return {
        "fastvr": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "backend (auto or FASTVR_BACKEND)": environment_backend(),
        "CUDA devices": _gpus() or "none",
        "kernel threads": thread_count(),
        "kernel warm-up (FASTVR_WARMUP)": f"{_warmup.setting()}, {_warmup.status()}",
        "working memory": f"{get_working_memory():.0f} MiB",
        "save folder (FASTVR_SAVE_DIR)": _save_folder(),
        "CIFAR-10 (FASTVR_CIFAR10_DIR)": _cifar10(),
        "packages": _versions(),
    }


def _cmd_info(args: argparse.Namespace) -> int:
    report = info()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for key, value in report.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(value)
        print(f"{key:>34}: {value}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from .speed import format_report, knn_report  # (faiss and scikit-learn, when present)

    with backend(args.backend) as chosen:
        print(
            f"k-NN speed report: {args.size} shape, backend {chosen.name}, best of {args.repeat}",
            flush=True,
        )
        timings = knn_report(
            args.size,
            tuple(args.dtype),
            args.repeat,
            progress=lambda t: print(
                f"  {t.dtype:<8} {t.name:<34} {t.seconds * 1e3:10.1f} ms", flush=True
            ),
        )
    print()
    print(format_report(timings))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(t) for t in timings], f, indent=2)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import demo  # (the whole course API, and tqdm: only the demo needs them)
    from ._progress import progress_bar

    tqdm = progress_bar()

    with backend(args.backend):
        start = time.perf_counter()
        data, results, run = demo.run(args.data, args.out, args.quick, progress=tqdm)
        print(
            f"\n{data.name}: {len(data.y_train)} training, {len(data.y_val)} validation, "
            f"{len(data.y_test)} test images; {time.perf_counter() - start:.1f} s in all\n"
        )
        print(demo.format_table(results, demo.backend_name()))
    print("\nfigures:\n" + "\n".join(f"  {path}" for path in run.figures))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from . import check  # (the course's whole API as the oracle: only this command needs it)

    def show(verdict: check.Verdict) -> None:
        if args.format == "table" and sys.stderr.isatty():
            print(f"  {verdict.status:<10} {verdict.name}", file=sys.stderr, flush=True)

    report = check.check_package(
        args.path,
        only=args.only,
        timeout=args.timeout,
        memory_mib=args.memory,
        speed=not args.no_speed,
        progress=show,
    )
    if args.format == "gradescope":
        check.write_json(report, args.json or "results.json", gradescope=True)
    else:
        print(report.table())
        if args.json:
            check.write_json(report, args.json)
    return 0 if report.ok else 1


def _cmd_warmup(args: argparse.Namespace) -> int:
    import numba  # (heavy: only this command needs it)

    start = time.perf_counter()
    for name, seconds in _warmup.warmup().items():
        print(f"  {name:<34} {seconds:6.2f} s", flush=True)
    where = numba.config.CACHE_DIR or "next to fastvr's kernels (or Numba's user cache folder)"
    print(f"kernels ready in {time.perf_counter() - start:.2f} s; Numba's cache: {where}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastvr", description="CS231n Assignment 1, fast on numpy and CuPy."
    )
    parser.add_argument("--version", action="version", version=f"fastvr {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    bench = commands.add_parser(
        "bench",
        help="k-NN speed report on CIFAR-shaped data",
        description="Time the k-NN distance paths and predict "
        "against the bare GEMM (and scikit-learn/faiss when installed).",
    )
    bench.add_argument("--backend", choices=BACKEND_NAMES, default="auto")
    bench.add_argument(
        "--size",
        choices=("course", "small"),
        default="course",
        help="course: 500 test x 5000 train x 3072 (default); small: 100 x 1000",
    )
    bench.add_argument(
        "--dtype", nargs="+", choices=("float32", "float64"), default=["float32", "float64"]
    )
    bench.add_argument("--repeat", type=int, default=3, help="timed calls per entry (best kept)")
    bench.add_argument("--json", metavar="PATH", help="also write the timings as JSON")
    bench.set_defaults(run=_cmd_bench)

    demo_cmd = commands.add_parser(
        "demo",
        help="the whole Assignment-1 pipeline on real data",
        description="k-NN with cross-validation, linear SVM and softmax with a small "
        "hyper-parameter search, the two-layer net (and HOG + colour features on colour "
        "images): a results table, and the plots as PNG files.",
    )
    demo_cmd.add_argument(
        "--data",
        metavar="PATH",
        help="a CIFAR-10 folder (cifar-10-batches-py); default: the bundled UCI digits, offline",
    )
    demo_cmd.add_argument("--backend", choices=BACKEND_NAMES, default="auto")
    demo_cmd.add_argument(
        "--out",
        metavar="DIR",
        default="fastvr-demo",
        help="where the figures go (default: ./fastvr-demo)",
    )
    demo_cmd.add_argument(
        "--quick", action="store_true", help="smaller searches and subsets: a smoke test"
    )
    demo_cmd.set_defaults(run=_cmd_demo)

    check_cmd = commands.add_parser(
        "check",
        help="judge your own cs231n package against fastvr, function by function",
        description="Run every Assignment-1 function your cs231n package defines (either "
        "edition) on small, adversarial and the notebooks' own cases, each in its own process "
        "with a time and memory limit, and compare with fastvr: pass, fail (smallest failing "
        "case, relative error, a hint for a known mistake), convention, error or missing. "
        "Exit status 1 when something fails or raises.",
    )
    check_cmd.add_argument("path", help="the assignment folder (holding cs231n/) or cs231n/")
    check_cmd.add_argument("--only", metavar="NAME", help="one function, e.g. svm_loss_naive")
    check_cmd.add_argument(
        "--json", metavar="FILE", help="also write the verdicts as JSON (gradescope: results.json)"
    )
    check_cmd.add_argument(
        "--format",
        choices=("table", "gradescope"),
        default="table",
        help="table (default) or Gradescope's results.json, written to --json or results.json",
    )
    check_cmd.add_argument(
        "--timeout", type=float, default=60.0, help="seconds per function (default 60)"
    )
    check_cmd.add_argument(
        "--memory", type=int, default=4096, metavar="MIB", help="memory per function (4096)"
    )
    check_cmd.add_argument(
        "--no-speed", action="store_true", help="skip timing against fastvr at course sizes"
    )
    check_cmd.set_defaults(run=_cmd_check)

    info_cmd = commands.add_parser(
        "info",
        help="version, backends, devices, settings",
        description="Show what fastvr sees on this machine.",
    )
    info_cmd.add_argument("--json", action="store_true", help="print JSON")
    info_cmd.set_defaults(run=_cmd_info)

    warmup_cmd = commands.add_parser(
        "warmup",
        help="compile the CPU kernels now (e.g. in a setup cell or an image build)",
        description="Compile every CPU kernel the course's notebooks call, or load it from "
        "Numba's on-disk cache, and say what each group took. import fastvr does the same in "
        "a background thread (FASTVR_WARMUP=off turns that off).",
    )
    warmup_cmd.set_defaults(run=_cmd_warmup)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastvr`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (BackendUnavailableError, ValueError, OSError) as exc:
        print(f"fastvr: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
