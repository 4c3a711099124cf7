"""Turn pytest-benchmark JSON into Markdown tables of ratios.

Usage: ``python benchmarks/report.py RESULTS.json [MORE.json ...]``

Each group becomes a table: every entry's best time (scaled up where the entry timed a
slice, e.g. the pure-Python loop) and its ratio to the group's reference entry (the one
whose ``extra_info`` says ``reference``, else ``gemm`` where the group has one, else the
fastest). Best-of-rounds is used: on a shared machine the
minimum is the least noisy estimate of what the code costs.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path


def _label(bench: dict) -> str:
    name = re.sub(r"^test_", "", bench["name"].split("[")[0])
    params = bench.get("params") or {}
    extra = [
        f"{key}={value}" for key, value in params.items() if key not in ("dtype", "device_lib")
    ]
    return name + (f" ({', '.join(extra)})" if extra else "")


def _seconds(bench: dict) -> float:
    return bench["stats"]["min"] * bench.get("extra_info", {}).get("scale", 1.0)


def tables(results: list[dict]) -> str:
    groups: dict[str, list[dict]] = defaultdict(list)
    for bench in results:
        groups[bench["group"] or "ungrouped"].append(bench)
    lines = []
    for group in sorted(groups):
        entries = sorted(groups[group], key=_seconds)
        marked = [b for b in entries if b.get("extra_info", {}).get("reference")]
        reference = next((b for b in marked + entries if _label(b) == "gemm"), None)
        reference = (marked or [reference or entries[0]])[0]
        lines += [
            f"**{group}** (ratio to `{_label(reference)}`)",
            "",
            "| entry | best time | ratio | notes |",
            "|---|---:|---:|---|",
        ]
        for bench in entries:
            info = bench.get("extra_info", {})
            notes = ", ".join(
                f"{key} {value:.0f}" if isinstance(value, float) else f"{key} {value}"
                for key, value in info.items()
                if key != "reference"
            )
            lines.append(
                f"| {_label(bench)} | {_seconds(bench) * 1e3:.1f} ms | "
                f"{_seconds(bench) / _seconds(reference):.2f}x | {notes} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(paths: list[str]) -> int:
    results = []
    for path in paths:
        data = json.loads(Path(path).read_text())
        machine = data.get("machine_info", {})
        print(
            f"<!-- {path}: {machine.get('cpu', {}).get('brand_raw', '?')}, "
            f"{machine.get('cpu', {}).get('count', '?')} CPUs, "
            f"python {machine.get('python_version', '?')}, {data.get('datetime', '')} -->"
        )
        results += data["benchmarks"]
    print(tables(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
