"""Per task, how a run's LLM planner did: success, model requests, tokens, the share of
subgoals the model planned itself, the offline planner's rungs, and model seconds.

    .venv/bin/python scripts/llm_report.py runs/local-1.5b [runs/local-0.5b ...]

Prints one markdown table per run (read from its ``store.sqlite``).
"""

from __future__ import annotations

import sqlite3
import sys
from collections import Counter, defaultdict
from pathlib import Path


def report(run: Path) -> str:
    db = sqlite3.connect(f"file:{run / 'store.sqlite'}?mode=ro", uri=True)
    episodes = db.execute(
        "SELECT id, task_id, success FROM episodes WHERE status='done' ORDER BY id"
    ).fetchall()
    calls = defaultdict(list)
    for row in db.execute(
        "SELECT episode_id, requests, prompt_tokens + completion_tokens, model_subgoals,"
        " offline_subgoals, fallback_reason, latency_s FROM planner_calls"
    ):
        calls[row[0]].append(row[1:])
    tasks: dict[str, dict[str, float]] = defaultdict(Counter)
    rungs: Counter[str] = Counter()
    for episode_id, task, success in episodes:
        t = tasks[task]
        t["episodes"] += 1
        t["wins"] += int(bool(success))
        for requests, tokens, mine, offline, reason, latency in calls[episode_id]:
            t["requests"] += requests
            t["tokens"] += tokens
            t["mine"] += mine
            t["offline"] += offline
            t["seconds"] += latency if requests else 0.0
            rungs[(reason or "accepted").split(":")[0]] += 1
    lines = [
        f"{run}:",
        "",
        "| task | success | model requests / ep | tokens / ep | planned by the model |"
        " model s / ep |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    total: Counter[str] = Counter()
    for task, t in tasks.items():
        total.update(t)
        lines.append(_row(task, t))
    lines.append(_row("**all**", total))
    lines += ["", "calls by rung: " + ", ".join(f"{k} {v}" for k, v in rungs.most_common())]
    return "\n".join(lines)


def _row(name: str, t: dict[str, float]) -> str:
    n = t["episodes"]
    planned = t["mine"] + t["offline"]
    share = f"{t['mine'] / planned:.0%}" if planned else "-"
    return (
        f"| {name} | {int(t['wins'])}/{int(n)} | {t['requests'] / n:.1f} |"
        f" {t['tokens'] / n:,.0f} | {share} | {t['seconds'] / n:.0f} |"
    )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    print("\n\n".join(report(Path(p)) for p in sys.argv[1:]))
