"""Plan heads consolidated per category, like the adapters: trigger, train, gate, publish.

Layout under a root folder, through ``agent.fast.registry`` (``kind="plans"``)::

    plans/<category>/v<N>/   plan_head.safetensors + plan_head.json (its meta: the last
                             episode it learned from, its gate's numbers)
    plans/<category>/LATEST  the served version

- **Trigger** (one level ``alpha``, no count threshold): with no head served, the
  category's episodes succeed more often than not (``trigger.enough_successes``); with
  one, a one-sided z-test that the share of the category's episodes since it was
  published whose plan still went to the model is higher than the share of held-out
  episodes the served head left to the model when it was gated.
- **Candidate**: trained on every verified plan of the category so far (plans are small,
  so all earlier ones are replayed); about one episode in ``validate_every`` (by task and
  seed) is held out.
- **Gate** (on those held-out episodes, offline): the head is rolled out from each
  episode's start state as the planner does (``roll_out``) and answers when it reaches
  the task's goal with every step at least ``threshold`` likely. Published when it
  answers at least as many held-out episodes as the served head and its next-subgoal
  accuracy there is not lower by more than ``margin``; otherwise the served head stays
  and the candidate's numbers are kept in its notes.
- **Played gate** (when ``play`` is given, as ``peam plans --registry --gate-seeds``):
  after the offline checks pass, the candidate plays the category's tasks on seeds
  reserved for gating, the slow tier acting, and so does the served head (or, for a
  first head, the planner alone). Published only when its successes are not lower, no
  task loses more than ``task_margin`` of them, and it leaves no more plan calls to the
  planner behind it than the served head did.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from agent.fast import registry
from agent.slow.plan_critic import PlanState
from agent.slow.plan_head_planner import roll_out
from agent.slow.recipe_planner import STATIONS
from consolidation.plan_head import PlanExample, plan_examples, train_plan_head
from consolidation.trigger import TriggerDecision, enough_successes, failure_jump
from envs.tasks import CATEGORIES, DEFAULT_TASKS_FILE, Task, load_tasks
from memory.plan_head import PlanHead
from memory.store import ExperienceStore

Embed = Callable[[list[str]], np.ndarray]
Play = Callable[[str, "Path | None", str], dict[str, Any]]
"""play(category, plan head folder or None for the planner alone, name) -> tally (see
``agent.evolve.plan_gate``): episodes, successes, per_task, plan_calls, left_to_planner."""


@dataclass
class PlanRoundConfig:
    alpha: float = 1e-4
    """Significance level of the trigger."""
    validate_every: int = 10
    """About one episode in this many (by task and seed) is held out for the gate."""
    updates: int = 600
    threshold: float = 0.5
    """A rollout answers when every step is at least this likely (``plan_head.threshold``)."""
    margin: float = 0.02
    """Most held-out next-subgoal accuracy a candidate may lose and still be published."""
    task_margin: int = 0
    """Played gate: most successes one task may lose against the served head."""
    seed: int = 0


def consolidate_plans(
    store_path: Path,
    root: Path,
    embed: Embed,
    config: PlanRoundConfig | None = None,
    tasks_file: str = DEFAULT_TASKS_FILE,
    log: Callable[[str], None] = print,
    play: Play | None = None,
) -> dict[str, dict[str, Any]]:
    """One round for every category with verified plans; returns what each decided.
    ``play``: the played gate (module docstring); None = the offline gate alone."""
    cfg = config or PlanRoundConfig()
    tasks = load_tasks(tasks_file)
    examples = plan_examples(store_path, tasks_file)
    with ExperienceStore(store_path) as store:
        episodes = [e for e in store.episodes() if e.status == "done"]
        asked = {e: row["model_requests"] > 0 for e, row in store.planning_by_episode().items()}
    out: dict[str, dict[str, Any]] = {}
    for category in CATEGORIES:
        mine = [e for e in examples if e.category == category]
        if not mine:
            continue
        served = registry.latest(root, category, registry.PLANS)
        meta = _meta(root, category, served)
        until = int(meta.get("until", -1))
        if served is None:
            outcomes = [bool(e.success) for e in episodes if e.category == category]
            decision = enough_successes(category, outcomes, cfg.alpha)
        else:
            gate = meta.get("gate", {})
            held, answered = int(gate.get("held_out", 0)), int(gate.get("answered", 0))
            baseline = [True] * (held - answered) + [False] * answered
            recent = [asked.get(e.id, False) for e in episodes
                      if e.category == category and e.id > until]  # fmt: skip
            decision = _model_calls(category, baseline, recent, cfg.alpha)
        row: dict[str, Any] = {"trigger": decision.to_dict()}
        out[category] = row
        log(f"plans {category}: {'consolidate' if decision.fire else 'wait'} - {decision.reason}")
        if not decision.fire:
            continue
        row.update(_round(root, category, served, mine, tasks, embed, cfg, decision, play, log))
        log(f"plans {category}: {row['decision']}")
    return out


def _round(
    root: Path,
    category: str,
    served: int | None,
    mine: list[PlanExample],
    tasks: dict[str, Task],
    embed: Embed,
    cfg: PlanRoundConfig,
    decision: TriggerDecision,
    play: Play | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    head, report = train_plan_head(
        mine, embed, updates=cfg.updates, validate_every=cfg.validate_every, seed=cfg.seed
    )
    held = [e for e in mine if e.name % cfg.validate_every == 0]
    mine_gate = gate_numbers(head, held, tasks, embed, cfg.threshold)
    old = None
    if served is not None:
        folder = registry.category_dir(root, category, registry.PLANS) / f"v{served}"
        old = gate_numbers(PlanHead.load(folder), held, tasks, embed, cfg.threshold)
    publish = old is None or (
        mine_gate["answered"] >= old["answered"]
        and mine_gate["accuracy"] >= old["accuracy"] - cfg.margin
    )
    version = max(registry.versions(root, category, registry.PLANS), default=0) + 1
    head.meta = dict(
        category=category,
        version=version,
        parent=served,
        until=max(e.episode for e in mine),
        train=report,
        trigger=decision.to_dict(),
        gate=mine_gate,
    )
    parent = registry.category_dir(root, category, registry.PLANS)
    _save(head, parent, version)
    verdict: dict[str, Any] = {"published": publish, "candidate": mine_gate, "served": old}
    if publish and play is not None:
        rival = f"v{served}" if served else "the planner alone"
        log(f"plans {category}: v{version} plays the gate seeds against {rival}")
        theirs = play(category, parent / f"v{served}" if served else None, f"v{served or 0}")
        ours = play(category, parent / f"v{version}", f"v{version}")
        verdict["played"] = played = decide_played(ours, theirs, cfg.task_margin)
        publish = verdict["published"] = played["publish"]
    registry.annotate(root, category, version, {"gate_decision": verdict}, registry.PLANS)
    if publish:
        registry.serve(root, category, version, registry.PLANS)
    what = f"published v{version}" if publish else f"kept v{served} (candidate v{version})"
    numbers = f"answers {mine_gate['answered']}/{mine_gate['held_out']} held-out episodes"
    if old is not None:
        numbers += f" vs {old['answered']} served"
    if "played" in verdict:
        numbers += f"; played: {verdict['played']['reason']}"
    return {"version": version, "published": publish, "decision": f"{what}; {numbers}"}


def gate_numbers(
    head: PlanHead, held: list[PlanExample], tasks: dict[str, Task], embed: Embed, threshold: float
) -> dict[str, Any]:
    """On held-out examples: next-subgoal accuracy, and how many episodes the head's own
    rollout from the episode's start state answers (confident, reaching the goal)."""
    if not held:
        return {"held_out": 0, "answered": 0, "accuracy": 0.0}
    texts = sorted({e.task for e in held})
    vectors = dict(zip(texts, embed(texts).astype(np.float32), strict=True))
    right = 0
    for e in held:
        probs = head.next(vectors[e.task], e.inventory, e.near)
        right += head.vocab[int(np.argmax(probs))] == e.subgoal
    starts: dict[int, PlanExample] = {}
    for e in held:
        starts.setdefault(e.episode, e)  # the first example of an episode is its start
    answered = 0
    for e in starts.values():
        task = tasks.get(e.task_id)
        if task is None:
            continue
        state = PlanState(Counter(e.inventory), set(e.near) & set(STATIONS))
        _, confidence = roll_out(head, vectors[e.task], task, state, set(e.near))
        answered += confidence >= threshold
    return {"held_out": len(starts), "answered": answered, "accuracy": right / len(held)}


def decide_played(
    candidate: dict[str, Any], served: dict[str, Any], task_margin: int
) -> dict[str, Any]:
    """The played gate's verdict: not fewer successes, no task down by more than
    ``task_margin``, no more plan calls left to the planner than ``served`` (the served
    head, or the planner alone for a first head: then it leaves every call)."""
    drops = [served["per_task"].get(t, 0) - candidate["per_task"].get(t, 0)
             for t in served["per_task"]]  # fmt: skip
    worst = max(drops, default=0)
    ok = (
        candidate["successes"] >= served["successes"]
        and worst <= task_margin
        and candidate["left_to_planner"] <= served["left_to_planner"]
    )
    reason = (
        f"{candidate['successes']} vs {served['successes']} successes on"
        f" {candidate['episodes']} gate episodes (largest task drop {worst}, allowed"
        f" {task_margin}); plan calls left to the planner {candidate['left_to_planner']}"
        f" vs {served['left_to_planner']}"
    )
    return {"publish": ok, "reason": reason, "candidate": candidate, "served": served}


def _model_calls(
    category: str, baseline: list[bool], recent: list[bool], alpha: float
) -> TriggerDecision:
    """``failure_jump`` on "the plan went to the model" flags, worded as such."""
    d = failure_jump(category, baseline, recent, alpha)
    why = (
        f"episodes whose plan asked the model since publication {d.rate_recent:.2f}"
        f" (n={d.n_recent}) vs held-out episodes the served head left to it"
        f" {d.rate_baseline:.2f} (n={d.n_baseline}): z={d.z:.2f}, p={d.p_value:.2g}"
        f" {'<' if d.fire else '>='} alpha={alpha}"
    )
    return replace(d, test="model_calls", reason=why if d.n_recent and d.n_baseline else d.reason)


def _meta(root: Path, category: str, version: int | None) -> dict[str, Any]:
    if version is None:
        return {}
    rows = [r for r in registry.describe(root, category, registry.PLANS) if r["version"] == version]
    return rows[0] if rows else {}


def _save(head: PlanHead, parent: Path, version: int) -> None:
    """Write version ``version`` whole or not at all (a temp folder renamed into place)."""
    parent.mkdir(parents=True, exist_ok=True)
    partial = parent / f".v{version}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    head.save(partial)
    os.replace(partial, parent / f"v{version}")
    registry.fsync_dir(parent)
