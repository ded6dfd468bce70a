"""Take each Minecraft rule out of the MineDojo fake in turn and check that a rule test fails.

    .venv/bin/python scripts/minedojo_fake_mutations.py

For each mutation: edit the fake's source, run ``tests/envs/test_minedojo_rules.py``, put
the source back (also on Ctrl-C). Exit 1 if any mutation leaves every rule test passing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAKE = ROOT / "tests" / "envs" / "minedojo_fake"
#: (file, rule, original text, text without the rule)
MUTATIONS = [
    ("geometry.py", "look angle to the corner",
     "v = np.asarray(cell, dtype=float) - eye", "v = np.asarray(cell, dtype=float) + 0.5 - eye"),
    ("geometry.py", "lidar yaw: positive = left",
     "return np.array([x * c + z * s, y, z * c - x * s])",
     "return np.array([x * c - z * s, y, z * c + x * s])"),
    ("rules.py", "break time", "    return int(-(-b.hardness * divisor // speed))  # ceil",
     "    return 2"),
    ("sim.py", "place needs a block under the crosshair",
     '        if target is None or target[0] == "entity" or name not in BLOCKS:\n'
     "            return",
     "        if target is None:\n            target = ((0, 63, 2), (0, 1, 0), 0)"),
    ("sim.py", "station in view",
     "            k == kind and geo.in_view(head, self.look(), cell, self.size, self.size)",
     "            k == kind"),
    ("sim.py", "smelting needs fuel", "        if p.count(source) < 1 or total < COOK_TICKS:",
     "        if p.count(source) < 1:"),
    ("world.py", "world seed 0 is random",
     "    rng = np.random.default_rng(int(world_seed) if world_seed else None)",
     "    rng = np.random.default_rng(int(world_seed or 0))"),
    ("sim.py", "drops are picked up on contact",
     "            if (ilo <= hi).all() and (ihi >= lo).all():", "            if True:"),
    ("observe.py", "equip mask never slot 0", "    equip[0] = False", "    pass"),
]  # fmt: skip


def main() -> int:
    survived = []
    for name, rule, original, mutant in MUTATIONS:
        path = FAKE / name
        source = path.read_text()
        if original not in source:
            print(f"{rule}: the original text is gone from {name}; update this script")
            return 2
        try:
            path.write_text(source.replace(original, mutant))
            run = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-x", "tests/envs/test_minedojo_rules.py"],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
        finally:
            path.write_text(source)
        caught = run.returncode != 0
        print(f"{rule:40s} {'caught' if caught else 'SURVIVED'}: {run.stdout.splitlines()[-1]}")
        if not caught:
            survived.append(rule)
    print(f"ratio: {len(MUTATIONS) - len(survived)}/{len(MUTATIONS)} mutations caught")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
