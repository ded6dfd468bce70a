"""The evaluation gate: a trained adapter version replaces the served one only if it plays at
least as well.

The candidate and the served version play the category's tasks on the same gate seeds
(a block reserved for gating, never used for training or testing), fast tier alone
(no hand-off), with the same sampling seeds: each pair of episodes differs only in the
adapter. The candidate is published when its total successes are not lower, no task
loses more than ``margin`` successes, and its label accuracy on the round's held-out
states (the teacher's labels, measured by the trainer for both) is not more than
``accuracy_margin`` points below the served version's: eight seeds per task can tie at
the ceiling (a combat gate of 16 games at 15-16) while the policy grows worse on the
states it meets. Either way the numbers are kept with the
version (``agent.fast.registry.annotate``), and the trigger later compares the served
version's fast-tier failure rate since with the one measured here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.compare.stats import mcnemar
from agent.evolve.config import GateConfig
from agent.fast import registry
from agent.fast.executor import skill_key
from agent.loop.config import RunConfig
from agent.loop.run_folder import execute, prepare
from envs.tasks import CATEGORIES
from memory.store import ExperienceStore

Log = Callable[[str], None]


def play_version(
    base: RunConfig, root: Path, category: str, version: int, seeds: str, out: Path
) -> dict[str, Any]:
    """The fast tier alone with ``category`` pinned to ``version`` on ``seeds`` (resumable)."""
    cfg = copy.deepcopy(base)
    cfg.fast.dir, cfg.fast.pin = str(root), f"{category}={version}"
    cfg.seeds, cfg.runner.handoff, cfg.runner.label = seeds, False, False
    cfg.fast.min_skill_success = 0.0  # the fast tier alone: every subgoal it has an adapter for
    return play_category(cfg, category, out)


def play_category(cfg: RunConfig, category: str, out: Path) -> dict[str, Any]:
    """``cfg`` played on the category's tasks only, into ``out`` (resumable); its tally."""
    plan = prepare(cfg, out, resume=(out / "config.yaml").exists())
    plan.todo = [(t, s) for t, s in plan.todo if t.category == category]
    execute(plan)
    plan.store.close()
    return tally(out / "store.sqlite", category)


def tally(store_path: Path, category: str) -> dict[str, Any]:
    """Successes per task, and the fast tier's attempts and failures at the category's
    subgoals (in total and per skill; ``given_up``: per skill, the failures the guard gave
    up at the attempt's first step, before any action), of a gate run."""
    with ExperienceStore(store_path) as store:
        episodes = [e for e in store.episodes() if e.category == category]
        attempts = [
            a for a in store.attempts() if a.tier == "fast" and a.subgoal.category == category
        ]
    per_task: dict[str, int] = {}
    for e in episodes:
        per_task[e.task_id] = per_task.get(e.task_id, 0) + int(bool(e.success))
    skills: dict[str, list[int]] = {}
    given_up: dict[str, int] = {}  # failed at the attempt's first step: the guard gave it up
    for a in attempts:
        key = skill_key(a.subgoal)
        row = skills.setdefault(key, [0, 0])
        row[0] += int(bool(a.success))
        row[1] += 1
        if not a.success and a.step_end == a.step_start:
            given_up[key] = given_up.get(key, 0) + 1
    return {
        "episodes": len(episodes),
        "successes": sum(per_task.values()),
        "per_task": per_task,
        "attempts": len(attempts),
        "failed_attempts": sum(1 for a in attempts if not a.success),
        "skills": skills,
        "given_up": given_up,
    }


def decide(
    candidate: dict[str, Any],
    served: dict[str, Any] | None,
    margin: int,
    accuracy: tuple[float | None, float | None] = (None, None),
    accuracy_margin: float | None = None,
    discordant: tuple[int | None, int | None] = (None, None),
    accuracy_alpha: float | None = None,
) -> dict:
    """Publish or keep, with the reason and both sides' numbers. ``accuracy``: (the served
    version's, the candidate's) held-out label accuracy; ``accuracy_margin`` (points) None,
    or either accuracy unknown: not checked. ``discordant``: held-out states only the
    candidate / only the served version acts as taught on; with ``accuracy_alpha`` a fall
    beyond the margin is refused only when it is significant (two-sided exact McNemar
    p < alpha); without the counts (versions trained before they were recorded), the margin
    alone decides."""
    if served is None:
        reason = f"first version ({candidate['successes']}/{candidate['episodes']} on the gate)"
        return {"publish": True, "reason": reason, "candidate": candidate, "served": None}
    drops = {
        t: served["per_task"].get(t, 0) - candidate["per_task"].get(t, 0)
        for t in served["per_task"]
    }
    worst = max(drops.values(), default=0)
    ok = candidate["successes"] >= served["successes"] and worst <= margin
    reason = (
        f"{candidate['successes']} vs {served['successes']} successes on the gate seeds"
        f" (largest task drop {worst}, allowed {margin})"
    )
    before, after = accuracy
    if accuracy_margin is not None and before is not None and after is not None:
        fell = 100 * (before - after) > accuracy_margin
        reason += (
            f"; held-out label accuracy {before:.1%} -> {after:.1%}"
            f" (drop allowed {accuracy_margin:g} points"
        )
        better, worse = discordant
        if accuracy_alpha is not None and better is not None and worse is not None:
            p = mcnemar(better, worse)
            fell = fell and worse > better and p < accuracy_alpha
            reason += (
                f"; paired: {better} states gained, {worse} lost, McNemar p = {p:.3g},"
                f" a fall refuses below p {accuracy_alpha:g}"
            )
        reason += ")"
        ok = ok and not fell
    return {"publish": ok, "reason": reason, "candidate": candidate, "served": served}


class Gate:
    """gate(category, candidate version) for ``consolidation.daemon.Consolidator``."""

    def __init__(self, base: RunConfig, root: Path, config: GateConfig, log: Log = print):
        self.base, self.root, self.config, self.log = base, root, config, log

    def __call__(self, category: str, version: int) -> dict[str, Any]:
        folder = self.root / "gate" / f"{category}-v{version}"
        served = registry.latest(self.root, category)
        self.log(f"gate: {category} v{version} vs served v{served} on seeds {self.config.seeds}")
        mine = play_version(
            self.base, self.root, category, version, self.config.seeds, folder / "candidate"
        )
        theirs = None
        if served is not None:
            theirs = play_version(
                self.base, self.root, category, served, self.config.seeds, folder / "served"
            )
        meta = next(r for r in registry.describe(self.root, category) if r["version"] == version)
        evaluation = meta.get("evaluation") or {}
        accuracy = (evaluation.get("val_accuracy_before"), evaluation.get("val_accuracy_after"))
        discordant = (evaluation.get("val_better"), evaluation.get("val_worse"))
        c = self.config
        return decide(
            mine, theirs, c.margin, accuracy, c.accuracy_margin, discordant, c.accuracy_alpha
        )


def recount(root: Path) -> list[str]:
    """Add the ``given_up`` counts to the gate notes of every version whose gate run is kept
    under ``root/gate`` (tallies from before the count); the recounted skills must match the
    notes, or nothing is written. Returns a line per version recounted."""
    updates = []
    for category in CATEGORIES:
        for row in registry.describe(root, category):
            gate = row.get("gate") or {}
            store = root / "gate" / f"{category}-v{row['version']}" / "candidate" / "store.sqlite"
            if not gate.get("candidate") or not store.exists():
                continue
            counted = tally(store, category)
            if counted["skills"] != gate["candidate"].get("skills"):
                raise ValueError(
                    f"{store}: its skill counts differ from {category} v{row['version']}'s gate"
                    " notes; not the gate run of this version"
                )
            gate["candidate"]["given_up"] = counted["given_up"]
            updates.append((category, row["version"], gate))
    for category, version, gate in updates:
        registry.annotate(root, category, version, {"gate": gate})
    return [f"{c} v{v}: given up at once {gate['candidate']['given_up']}" for c, v, gate in updates]
