"""Write docs/configuration.md from the config dataclasses' docstrings.

.venv/bin/python scripts/config_docs.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.cli import config_reference  # noqa: E402
from memory.atomic import atomic_write  # noqa: E402

if __name__ == "__main__":
    atomic_write(ROOT / "docs" / "configuration.md", config_reference())
    print(f"wrote {ROOT / 'docs' / 'configuration.md'}")
