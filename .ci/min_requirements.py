"""Print the declared dependency floors of setup.cfg as exact pins (``name==floor``).

CI installs them in a fresh environment and runs the tests there, so every floor that
setup.cfg declares is one the suite has passed with. Usage: ``python .ci/min_requirements.py
[extra ...]`` (the install requirements plus the named extras).
"""

from __future__ import annotations

import configparser
import re
import sys
from pathlib import Path


def floors(extras: list[str]) -> list[str]:
    config = configparser.ConfigParser()
    config.read(Path(__file__).resolve().parent.parent / "setup.cfg")
    lines = config["options"]["install_requires"].split("\n")
    for extra in extras:
        lines += config["options.extras_require"][extra].split("\n")
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9.]*)", line)
        if match is None:
            raise SystemExit(f"setup.cfg requirement without a plain floor: {line!r}")
        pins[match[1].lower()] = match[2]
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


if __name__ == "__main__":
    print("\n".join(floors(sys.argv[1:])))
