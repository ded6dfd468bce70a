"""What a loop trained on: package versions and the CPU's vector extensions.

Training is bit-reproducible on one machine with one environment (the same loop command
trains the same weights), not across them: ``runs/loop9-alpha``, started in a fresh
environment, trained round 0 from the same labelled steps (data sha256 ``bf0433e3...``)
into other weights than ``runs/loop7`` and ``runs/loop8-gate20`` had. So a loop folder
records where its weights were trained, and a loop resumed elsewhere says so.
"""

from __future__ import annotations

import json
import platform
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from memory.atomic import atomic_write

PACKAGES = ("torch", "numpy", "peft", "transformers", "sentence-transformers", "crafter")
FILE = "environment.json"


def describe() -> dict[str, Any]:
    """Python, the packages training depends on, and the CPU's SIMD extensions."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "packages": versions, "cpu": _cpu()}


def _cpu() -> dict[str, Any]:
    model, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    simd = sorted(f for f in flags if f.startswith(("avx", "sse4", "fma", "amx")))
    return {"model": model, "simd": simd}


def record(folder: Path, log: Callable[[str], None] = print) -> None:
    """Write ``folder/environment.json`` once; later, warn when this one differs."""
    now, path = describe(), folder / FILE
    if not path.exists():
        atomic_write(path, json.dumps(now, indent=2) + "\n")
        return
    then = json.loads(path.read_text())
    if then != now:
        changed = sorted(k for k in set(then) | set(now) if then.get(k) != now.get(k))
        text = (
            f"{folder} was started in another environment ({', '.join(changed)} differ;"
            f" {path}): what is trained from here on is not bit-for-bit what that one trains"
        )
        log(text)
        warnings.warn(text, stacklevel=2)
