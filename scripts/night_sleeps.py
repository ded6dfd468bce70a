"""The games of a run in which a reflex put the player to sleep before full daylight.

    .venv/bin/python scripts/night_sleeps.py runs/slow199-v15 [--daylight 0.9]

Prints one line per task, ``TASK SEEDS`` (seeds comma-separated, as ``--seeds`` takes
them): the only games ``controller.open_sleep_daylight`` can change, so the only ones to
play again to measure it (``docs/results.md``). A game counts when a ``sleep`` action
came at a step whose daylight (Crafter's: 1 - |cos(pi (t/300 + 0.3))|^3) was below
``--daylight``; sleeps inside a shelter count too (the setting leaves them as they were).
"""

from __future__ import annotations

import argparse
import math
import sqlite3
from pathlib import Path

from envs.crafter_env import ACTIONS


def daylight(step: int) -> float:
    """Crafter's daylight after ``step`` steps of an episode."""
    return 1 - abs(math.cos(math.pi * ((step / 300) % 1 + 0.3))) ** 3


def night_sleeps(store: Path, below: float) -> dict[str, list[int]]:
    db = sqlite3.connect(store)
    sleep = ACTIONS.index("sleep")
    out: dict[str, list[int]] = {}
    for episode, task, seed in db.execute("SELECT id, task_id, seed FROM episodes ORDER BY id"):
        steps = db.execute(
            "SELECT t FROM steps WHERE episode_id = ? AND action = ?", (episode, sleep)
        )
        if any(daylight(t) < below for (t,) in steps):
            out.setdefault(task, []).append(int(seed))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder with store.sqlite")
    parser.add_argument("--daylight", type=float, default=0.9)
    args = parser.parse_args()
    for task, seeds in night_sleeps(args.run / "store.sqlite", args.daylight).items():
        print(task, ",".join(map(str, sorted(seeds))))


if __name__ == "__main__":
    main()
