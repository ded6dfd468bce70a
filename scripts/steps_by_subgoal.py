"""Where one run spends more steps than another: steps per subgoal in the games both won.

    .venv/bin/python scripts/steps_by_subgoal.py runs/fa99-loop11-pb runs/slow99-pb \
        --task make_iron_pickaxe

Reads each run's ``store.sqlite`` (the runs play the same tasks on the same seeds, e.g. the
fast tier alone and the slow tier alone). For the games both runs won it sums, per subgoal
(skill and target), the env steps spent in its attempts and how many of them the guard
took (survival, sleeping at night, a held-back step); then, over all games of the task,
each run's failed attempts by subgoal and failure code. Steps outside any attempt (none
in the runner today) are not counted.
"""

from __future__ import annotations

import argparse
import sqlite3
from collections import Counter
from pathlib import Path


def _db(run: Path) -> sqlite3.Connection:
    path = run / "store.sqlite"
    if not path.exists():
        raise SystemExit(f"{path} not found: pass a run folder written by `peam run`")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def episodes(db: sqlite3.Connection, task: str) -> dict[int, tuple[int, bool, int]]:
    """Per world seed: (episode id, won, steps) of the run's finished episodes of ``task``."""
    rows = db.execute(
        "SELECT seed, id, success, steps FROM episodes WHERE task_id=? AND status='done'", (task,)
    )
    return {seed: (eid, bool(ok), steps) for seed, eid, ok, steps in rows}


def subgoal_steps(db: sqlite3.Connection, ids: list[int]) -> tuple[Counter, Counter]:
    """Steps per subgoal over episodes ``ids``, and the guard's share of them."""
    total: Counter[str] = Counter()
    guard: Counter[str] = Counter()
    for eid in ids:
        rows = db.execute(
            "SELECT a.skill || ' ' || a.target, s.actor = 'guard', COUNT(*) FROM steps s"
            " JOIN attempts a ON s.attempt_id = a.id WHERE s.episode_id=? GROUP BY 1, 2",
            (eid,),
        )
        for name, by_guard, n in rows:
            total[name] += n
            if by_guard:
                guard[name] += n
    return total, guard


def failures(db: sqlite3.Connection, task: str) -> Counter:
    """(subgoal, failure code) of every failed attempt in the run's games of ``task``."""
    rows = db.execute(
        "SELECT a.skill || ' ' || a.target, a.failure_code FROM attempts a JOIN episodes e"
        " ON a.episode_id = e.id WHERE e.task_id=? AND e.status='done' AND a.success=0",
        (task,),
    )
    return Counter((name, code) for name, code in rows)


def report(a: Path, b: Path, task: str) -> None:
    da, db_ = _db(a), _db(b)
    ea, eb = episodes(da, task), episodes(db_, task)
    both = sorted(s for s in ea.keys() & eb.keys() if ea[s][1] and eb[s][1])
    if not both:
        raise SystemExit(f"no {task} game won by both runs (do they play the same seeds?)")
    sa, sb = sum(ea[s][2] for s in both), sum(eb[s][2] for s in both)
    print(f"{task}: {len(both)} games won by both; steps {a.name} {sa}, {b.name} {sb}")
    print(f"ratio: {sa / sb:.3f}")
    ta, ga = subgoal_steps(da, [ea[s][0] for s in both])
    tb, gb = subgoal_steps(db_, [eb[s][0] for s in both])
    print(
        f"{'subgoal':22s} {a.name:>18s} {'(guard)':>8s} {b.name:>18s} {'(guard)':>8s} {'diff':>6s}"
    )
    for name in sorted(ta.keys() | tb.keys(), key=lambda n: tb[n] - ta[n]):
        print(
            f"{name:22s} {ta[name]:18d} {ga[name]:8d} {tb[name]:18d} {gb[name]:8d}"
            f" {ta[name] - tb[name]:+6d}"
        )
    fa, fb = failures(da, task), failures(db_, task)
    print(
        f"failed attempts in all {task} games:"
        f" {a.name} {sum(fa.values())}, {b.name} {sum(fb.values())}"
    )
    for key in sorted(fa.keys() | fb.keys(), key=lambda k: -(fa[k] + fb[k]))[:15]:
        print(f"  {key[0]:22s} {key[1] or '?':14s} {fa[key]:5d} {fb[key]:5d}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run", type=Path, help="the run looked at (a `peam run` folder)")
    p.add_argument("against", type=Path, help="the run it is compared with")
    p.add_argument("--task", action="append", required=True, help="task id; repeatable")
    args = p.parse_args(argv)
    for task in args.task:
        report(args.run, args.against, task)


if __name__ == "__main__":
    main()
