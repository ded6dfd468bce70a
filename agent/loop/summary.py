"""A run's outcome files, kept up to date one finished episode at a time.

``summary.json``: per task, episodes, successes, LLM tokens and attempts per tier
(rewritten atomically after every episode: its size is the number of tasks, not of
episodes). ``episodes.jsonl``: one line per finished episode, appended. Built once from
the store when a run starts or resumes; after that each episode costs a few indexed
lookups, however many episodes the store holds (``benchmarks/bookkeeping.py``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from envs.tasks import Task
from memory.atomic import atomic_write
from memory.store import PLANNING_KEYS, EpisodeRecord, ExperienceStore

SUMMARY = "summary.json"
EPISODES = "episodes.jsonl"


def _empty(category: str) -> dict[str, Any]:
    return {
        "category": category,
        "episodes": 0,
        "successes": 0,
        "success_rate": 0.0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "tokens_per_episode": 0.0,
        "fast_attempts": 0,
        "fast_verified": 0,
        "slow_attempts": 0,
        "planner_calls": 0,
        "model_requests": 0,
        "model_subgoals": 0,
        "offline_subgoals": 0,
        "head_subgoals": 0,
        "model_share": None,
    }


PLANNING = PLANNING_KEYS


class RunSummary:
    """The run's per-task totals and per-episode rows (see the module docstring)."""

    def __init__(self, out: Path, store: ExperienceStore, run_id: int, tasks: list[Task]):
        self.out, self.store = out, store
        self.tasks: dict[str, dict[str, Any]] = {t.id: _empty(t.category) for t in tasks}
        # One pass over what is stored already (a resumed run), then one episode at a time.
        tokens, tiers = store.tokens_by_episode(), store.attempts_by_tier()
        planning = store.planning_by_episode()
        rows = [self._count(ep, tokens, tiers, planning) for ep in store.episodes(run_id)]
        text = "".join(json.dumps(row) + "\n" for row in rows)
        atomic_write(out / EPISODES, text)
        self._write()

    def add(self, episode_id: int) -> dict[str, Any]:
        """Count the episode just stored; append its row; rewrite summary.json."""
        ep = self.store.episode(episode_id)
        row = self._count(
            ep,
            self.store.tokens_by_episode(ep.id),
            self.store.attempts_by_tier(ep.id),
            self.store.planning_by_episode(ep.id),
        )
        with open(self.out / EPISODES, "a") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return self._write()

    def as_dict(self) -> dict[str, Any]:
        return {"tasks": self.tasks, "episodes_file": EPISODES}

    def _count(
        self,
        ep: EpisodeRecord,
        tokens: dict[int, tuple[int, int]],
        tiers: dict[int, dict[str, tuple[int, int]]],
        planning: dict[int, dict[str, int]],
    ) -> dict[str, Any]:
        row = self.tasks.setdefault(ep.task_id, _empty(ep.category))
        prompt, completion = tokens.get(ep.id, (0, 0))
        by_tier = tiers.get(ep.id, {})
        row["episodes"] += 1
        row["successes"] += int(bool(ep.success))
        row["prompt_tokens"] += prompt
        row["completion_tokens"] += completion
        row["fast_attempts"] += by_tier.get("fast", (0, 0))[0]
        row["fast_verified"] += by_tier.get("fast", (0, 0))[1]
        row["slow_attempts"] += by_tier.get("slow", (0, 0))[0]
        plans = planning.get(ep.id, {})
        for key in PLANNING:
            row[key] += plans.get(key, 0)
        planned = row["model_subgoals"] + row["offline_subgoals"] + row["head_subgoals"]
        row["model_share"] = row["model_subgoals"] / planned if planned else None
        n = row["episodes"]
        row["success_rate"] = row["successes"] / n
        row["tokens_per_episode"] = (row["prompt_tokens"] + row["completion_tokens"]) / n
        return {
            "task": ep.task_id,
            "seed": ep.seed,
            "success": bool(ep.success),
            "steps": ep.steps,
            "outcome": ep.outcome,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "unlocked": list(ep.unlocked),
            **{key: plans.get(key, 0) for key in PLANNING},
        }

    def _write(self) -> dict[str, Any]:
        summary = self.as_dict()
        atomic_write(self.out / SUMMARY, json.dumps(summary, indent=2))
        return summary


def read_episodes(out: Path) -> list[dict[str, Any]]:
    """The per-episode rows of a run folder, in the order they finished."""
    path = Path(out) / EPISODES
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
