"""What a pacing limit (``runner.idle_steps``) would have cut in runs already played.

    .venv/bin/python scripts/pacing_report.py --limits 12,16,20,30 runs/peam99-t0.3 [...]

Reads each run's ``store.sqlite`` and walks every fast-tier attempt: a policy step is idle
when it neither reaches a cell not stood on in the attempt nor changes the inventory
(the store keeps inventories, not the verifier's counters, so progress is approximated
by any inventory change). The counting is the runner's own
(``agent.loop.stall.IdleCounter``): guard steps do not count, progress resets. Per limit
it prints how many successful fast attempts would have been cut, how many stalled ones it
would have caught, and how many steps earlier on average.
"""

from __future__ import annotations

import argparse
import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np

from agent.loop.stall import IdleCounter


def idle_streaks(db: sqlite3.Connection, episode: int, start: int, end: int) -> list[int]:
    """The idle streak after each step of one attempt."""
    counter, streaks, before = IdleCounter(), [], None
    rows = db.execute(
        "SELECT actor, inventory, position FROM steps WHERE episode_id=? AND t>=? AND t<?"
        " ORDER BY t",
        (episode, start, end),
    )
    for actor, inventory, position in rows:
        x, y = np.frombuffer(position, dtype=np.float32)[:2].astype(int)
        inv = np.frombuffer(inventory, dtype=np.float32)
        changed = before is not None and not np.array_equal(inv, before)
        streaks.append(counter.step((int(x), int(y)), changed, actor == "fast"))
        before = inv
    return streaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--limits", default="12,16,20,30")
    args = parser.parse_args()
    limits = [int(k) for k in args.limits.split(",")]
    won = stalls = 0
    cut: Counter[int] = Counter()
    caught: dict[int, list[int]] = {k: [] for k in limits}
    for run in args.runs:
        db = sqlite3.connect(f"file:{run / 'store.sqlite'}?mode=ro", uri=True)
        attempts = db.execute(
            "SELECT episode_id, step_start, step_end, success, failure_code FROM attempts"
            " WHERE tier='fast' AND step_end IS NOT NULL"
        ).fetchall()
        for episode, start, end, success, code in attempts:
            streaks = idle_streaks(db, episode, start, end)
            won += bool(success)
            stalls += code == "stalled"
            for k in limits:
                first = next((i for i, s in enumerate(streaks) if s >= k), None)
                if first is not None and success:
                    cut[k] += 1
                elif first is not None and code == "stalled":
                    caught[k].append(len(streaks) - 1 - first)
    print(f"successful fast attempts {won}, stalled {stalls}")
    for k in limits:
        saved = float(np.mean(caught[k])) if caught[k] else 0.0
        print(
            f"limit {k}: successes cut {cut[k]}, stalls caught {len(caught[k])},"
            f" {saved:.1f} steps earlier on average"
        )


if __name__ == "__main__":
    main()
