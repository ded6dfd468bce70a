"""PW selection vs consolidating everything, at the same update budget, judged by the gate.

From a `peam loop` folder (its store, trunk and served adapters), one round of one
category is trained twice: on the top ``pw.select`` of the new labelled states
(PW), and on all of them (``select_by_pw=false``), with the same update budget,
replay and seed. Each candidate then plays the gate seeds (fast tier alone) next to
the served version, all paired. Nothing in the loop folder changes: the work
happens in copies. Last line: ``ratio: X`` = PW candidate's successes / everything
candidate's successes.

    .venv/bin/python benchmarks/pw_ablation.py --loop runs/loop --category gather \\
        [--seeds 60000-60007] [--updates 300]
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sqlite3
import tempfile
from pathlib import Path

import yaml

from agent.evolve.config import LoopConfig
from agent.evolve.gate import play_version
from agent.fast import registry
from agent.fast.trunk import load_trunk
from consolidation.daemon import Consolidator
from envs.config import build
from memory.store import ExperienceStore


def candidate(loop: Path, work: Path, cfg: LoopConfig, category: str, pw: bool) -> int:
    """Train one round of ``category`` in a copy of the loop folder; returns its version."""
    shutil.copytree(loop / "trunk", work / "trunk")
    shutil.copytree(loop / "adapters", work / "adapters")
    with (
        sqlite3.connect(loop / "store.sqlite") as src,
        sqlite3.connect(work / "store.sqlite") as dst,
    ):
        src.backup(dst)  # a consistent copy, even while the loop writes
    consolidate = copy.deepcopy(cfg.consolidate)
    consolidate.select_by_pw = pw
    daemon = Consolidator(work, consolidate, log=print, tensorboard=False)
    with ExperienceStore(work / "store.sqlite") as store:
        until = max(a.id for a in store.attempts())
    trunk, meta = load_trunk(work / "trunk")
    daemon._consolidate(category, trunk, meta["trunk_sha256"], {"until": until})
    return max(registry.versions(work, category))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loop", required=True, help="a `peam loop` folder")
    parser.add_argument("--category", default="gather")
    parser.add_argument("--seeds", default="60000-60007", help="paired seeds, unused elsewhere")
    parser.add_argument("--updates", type=int, default=None, help="default: the loop's")
    args = parser.parse_args()
    loop = Path(args.loop)
    cfg = build(LoopConfig, yaml.safe_load((loop / "config.yaml").read_text()))
    if args.updates:
        cfg.consolidate.trainer.updates = args.updates
    served = registry.latest(loop, args.category)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, pw in (("pw", True), ("everything", False)):
            work = Path(tmp) / name
            work.mkdir()
            version = candidate(loop, work, cfg, args.category, pw)
            rows[name] = play_version(
                cfg.run, work, args.category, version, args.seeds, work / "play"
            )
        if served is not None:
            rows["served"] = play_version(
                cfg.run, loop, args.category, served, args.seeds, Path(tmp) / "served"
            )
    tasks = sorted(rows["pw"]["per_task"])
    print(f"{'candidate':>12s} " + " ".join(f"{t:>18s}" for t in tasks) + f" {'total':>6s}")
    for name, row in rows.items():
        cells = " ".join(f"{row['per_task'].get(t, 0):>18d}" for t in tasks)
        print(f"{name:>12s} {cells} {row['successes']:>6d}/{row['episodes']}")
    print(f"updates per candidate: {cfg.consolidate.trainer.updates}; seeds {args.seeds}")
    print(f"ratio: {rows['pw']['successes'] / max(1, rows['everything']['successes']):.2f}")


if __name__ == "__main__":
    main()
