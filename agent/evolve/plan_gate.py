"""The plan heads' played gate: a candidate head plays the category's tasks on gate seeds.

``consolidation.plan_rounds`` calls a :class:`PlanGate` with a head folder (or None: the
planner alone) and gets a tally back. The slow tier acts (no fast tier), so a pair of
gate runs differs only in who plans: the head, with the run's planner answering the calls
it is unsure of, or that planner alone. With the recipe planner behind it (the default)
the gate costs no LLM tokens; with an LLM configured, its calls are real.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from agent.evolve import gate
from agent.loop.config import RunConfig
from agent.loop.run_folder import execute, prepare
from agent.slow.plan_head_planner import PlanHeadPlanner
from memory.store import ExperienceStore


class PlanGate:
    """play(category, head folder or None, name) -> tally, on ``seeds`` under ``out``."""

    def __init__(self, base: RunConfig, seeds: str, out: Path):
        self.base, self.seeds, self.out = base, seeds, out

    def __call__(self, category: str, head: Path | None, name: str) -> dict[str, Any]:
        cfg = copy.deepcopy(self.base)
        cfg.seeds, cfg.fast.dir, cfg.plan_reuse.dir = self.seeds, "", ""
        cfg.plan_head.dir = str(head) if head is not None else ""
        folder = self.out / f"{category}-{name}"
        plan = prepare(cfg, folder, resume=(folder / "config.yaml").exists())
        plan.todo = [(t, s) for t, s in plan.todo if t.category == category]
        execute(plan)
        return tally(folder / "store.sqlite", category)


def tally(store_path: Path, category: str) -> dict[str, Any]:
    """The adapters' gate tally (successes in total and per task) of a gate run, with its
    plan calls: all of them, and those the head left to the planner behind it."""
    out = gate.tally(store_path, category)
    with ExperienceStore(store_path) as store:
        ids = {e.id for e in store.episodes() if e.category == category}
        calls = [c for c in store.planner_calls() if c["episode_id"] in ids and c["kind"] == "plan"]
    out["plan_calls"] = len(calls)
    out["left_to_planner"] = sum(1 for c in calls if c["planner"] != PlanHeadPlanner.label)
    return out
