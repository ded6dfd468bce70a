"""Per-episode bookkeeping of `peam run` (summary.json + episodes.jsonl) at 10 and at 2,000
stored episodes.

Fills a store with synthetic finished episodes (each with 8 attempts, 3 planner calls and
20 steps, as the runner writes them), then times what the run loop does after each new
episode: ``RunSummary.add`` (a few indexed lookups, an appended line, summary.json
rewritten), then, for contrast, the previous design: re-reading the whole store and
rewriting every episode's row after each episode (timed on the next ``--new`` episodes,
so with ``--new`` more stored). Medians over ``--new`` episodes. Last
line: ``ratio:`` = time per episode at 2,000 / at 10 (target <= 1.5).

    .venv/bin/python benchmarks/bookkeeping.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from agent.loop.summary import RunSummary
from envs.tasks import load_tasks
from memory.atomic import atomic_write
from memory.records import CallStats, Failure, Subgoal
from memory.store import ExperienceStore

OBS = {
    "rgb": np.zeros((64, 64, 3), np.uint8),
    "inventory": np.zeros(16, np.int32),
    "status": np.full(4, 9.0, np.float32),
    "position": np.zeros(2, np.int32),
}


def play(store: ExperienceStore, run: int, task_id: str, category: str, seed: int) -> int:
    """One synthetic episode, written through the same store calls the runner makes."""
    ep = store.begin_episode(run, task_id, category, seed, "crafter", (64, 64, 3))
    store.log_planner_call(ep, None, "plan", "recipe", CallStats(120, 40), 0.01)
    t = 0
    for k in range(8):
        sub = Subgoal("collect", "wood", 1, "gather")
        attempt = store.begin_attempt(ep, sub, "fast" if k % 2 else "slow", t)
        for _ in range(20 // 8 + (k < 20 % 8)):
            store.log_step(ep, t, attempt, OBS, 1, 0.0)
            t += 1
        failed = k == 3
        store.end_attempt(attempt, t, not failed, Failure("budget", "x") if failed else None)
        if failed:
            store.log_planner_call(ep, attempt, "correct", "recipe", CallStats(90, 30), 0.01)
    store.log_planner_call(ep, None, "plan", "recipe", CallStats(), 0.0)
    store.end_episode(ep, seed % 3 != 0, t, "success")
    return ep


def old_bookkeeping(store: ExperienceStore, run: int, out: Path, tasks: list) -> None:
    """The previous design: every episode re-read from the store, every row rewritten."""
    tokens, tiers = store.tokens_by_episode(), store.attempts_by_tier()
    rows = [
        {"task": e.task_id, "seed": e.seed, "success": bool(e.success), "steps": e.steps,
         "tokens": tokens.get(e.id, (0, 0)), "tiers": tiers.get(e.id, {})}
        for e in store.episodes(run)
    ]  # fmt: skip
    atomic_write(out / "summary_old.json", json.dumps({"episodes": rows}, indent=2))


def measure(stored: int, new: int, tasks: list) -> tuple[float, float]:
    """Median ms per episode (now, the old way) with ``stored`` episodes already there."""
    with tempfile.TemporaryDirectory() as tmp, ExperienceStore(Path(tmp) / "s.sqlite") as store:
        out = Path(tmp)
        run = store.start_run("bench", {})
        for i in range(stored):
            task = tasks[i % len(tasks)]
            play(store, run, task.id, task.category, i)
        summary = RunSummary(out, store, run, tasks)
        now, old = [], []
        for i in range(2 * new):  # first the current design, then the old one, apart
            task = tasks[i % len(tasks)]
            ep = play(store, run, task.id, task.category, stored + i)
            store.flush()
            start = time.perf_counter()
            if i < new:
                summary.add(ep)
                now.append(time.perf_counter() - start)
            else:
                summary.add(ep)  # keep episodes.jsonl whole; timed: the old design only
                start = time.perf_counter()
                old_bookkeeping(store, run, out, tasks)
                old.append(time.perf_counter() - start)
        lines = (out / "episodes.jsonl").read_text().count("\n")
        assert lines == stored + 2 * new, (lines, stored + 2 * new)  # every episode counted once
    return 1000 * statistics.median(now), 1000 * statistics.median(old)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=2000)
    parser.add_argument("--new", type=int, default=100, help="episodes timed at each size")
    args = parser.parse_args()
    tasks = list(load_tasks().values())
    small = measure(args.small, args.new, tasks)
    large = measure(args.large, args.new, tasks)
    print(f"{'stored episodes':>16} {'now ms/episode':>15} {'old ms/episode':>15}")
    for n, (now, old) in ((args.small, small), (args.large, large)):
        print(f"{n:>16} {now:>15.3f} {old:>15.3f}")
    print(f"old design: {large[1] / small[1]:.1f}x slower per episode at {args.large}")
    print(f"ratio: {large[0] / small[0]:.3f}")


if __name__ == "__main__":
    main()
