"""Write ``MANIFEST.json`` for a published model folder: the sha256 of every file, and the
commands and seeds that made it (so a number computed from the weights can be checked).

    .venv/bin/python scripts/model_manifest.py models/loop --made-by "peam loop ..." \\
        --check "peam run ..." [--note "..."]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
from pathlib import Path

from memory.atomic import atomic_write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--made-by", action="append", default=[], help="command (repeatable)")
    parser.add_argument("--check", action="append", default=[], help="command that re-measures")
    parser.add_argument("--note", action="append", default=[])
    args = parser.parse_args()
    root = Path(args.folder)
    files = {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "MANIFEST.json"
    }
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    manifest = {
        "files": files,
        "bytes": sum(p.stat().st_size for p in root.rglob("*") if p.is_file()),
        "made_by": args.made_by,
        "check": args.check,
        "notes": args.note,
        "code_commit": commit,
    }
    atomic_write(root / "MANIFEST.json", json.dumps(manifest, indent=2) + "\n")
    print(f"{root / 'MANIFEST.json'}: {len(files)} files, {manifest['bytes'] / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
