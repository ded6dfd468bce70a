"""Consolidated plans skip the LLM: the plan head answers first, the LLM only when unsure.

``plan``: the head (``memory.plan_head``) is rolled out from the view — next subgoal,
its effect on a simulated inventory and the known stations (``plan_critic.PlanState``),
until the task's goal holds; each step is the most probable subgoal the game's rules allow
there. Its plan is used, with no model request, when every step's probability among the
allowed subgoals is at least ``threshold``, the plan critic accepts it, and no subgoal the head
planned has failed in this episode for a reason of the plan (an item or a station missing,
an unknown target; a stall or a budget is the controller's, retried without a request);
otherwise the inner planner (the LLM, with its
escalation ladder) answers. ``correct`` always goes to the inner planner, whose ladder
retries execution failures without a model request. ``name`` is the planner that
answered the last call (``plan_head`` or the inner one's), as the store records it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from agent.slow import plan_critic
from agent.slow.plan_front import FrontPlanner
from agent.slow.planner import Planner
from envs.tasks import Task
from envs.text import TextView
from memory.plan_head import NEAR, PlanHead, parse_subgoal
from memory.plans import task_text
from memory.records import Subgoal


def roll_out(
    head: PlanHead,
    text: np.ndarray,
    task: Task,
    state: plan_critic.PlanState,
    near: set[str],
    max_len: int = 16,
) -> tuple[list[Subgoal], float]:
    """The head's plan for ``task`` (``text``: its embedding) from ``state`` and the kinds
    known ``near``, and its confidence. Each step is the most probable subgoal the game's
    rules allow there (``plan_critic.apply`` finds no problem: its tool, materials and
    stations are held) that is not already done (collecting or making what is held); the
    confidence is the smallest step probability among the allowed
    subgoals (0 when none is allowed or the plan never reaches the task's goal). ``state``
    and ``near`` are changed as the plan goes."""
    goal = plan_critic.goal_of(task)
    if goal is None:
        return [], 0.0
    plan: list[Subgoal] = []
    confidence = 1.0
    for _ in range(max_len):
        probs = np.asarray(head.next(text, dict(state.inventory), near))
        allowed = [i for i in np.flatnonzero(probs > 0) if _allowed(head.vocab[i], state)]
        mass = float(probs[allowed].sum()) if allowed else 0.0
        if mass <= 0:
            return plan, 0.0
        best = max(allowed, key=lambda i: probs[i])
        confidence = min(confidence, float(probs[best]) / mass)
        sg = parse_subgoal(head.vocab[best])
        plan.append(sg)
        plan_critic.apply(sg, state, {})
        if sg.skill == "place":
            near.add(sg.target)
        if plan_critic.holds(goal, state, plan):
            return plan, confidence
    return plan, 0.0  # never reached the goal


def _allowed(text: str, state: plan_critic.PlanState) -> bool:
    """Whether the subgoal ``text`` breaks none of the game's rules in ``state`` and does
    something there (a ``collect`` or ``make`` of what is already held is no step)."""
    sg = parse_subgoal(text)
    if sg.skill in ("collect", "make") and state.inventory[sg.target] >= sg.count:
        return sg.target == "drink"
    trial = plan_critic.PlanState(Counter(state.inventory), set(state.stations), set(state.placed))
    return not plan_critic.apply(sg, trial, {})


class PlanHeadPlanner(FrontPlanner):
    label = "plan_head"

    def __init__(
        self,
        head: PlanHead | dict[str, PlanHead],
        inner: Planner,
        embedder: Any,
        threshold: float = 0.5,
        max_len: int = 16,
    ):
        super().__init__(inner)
        self.head = head
        """One head for every task, or one per task category (``consolidation.plan_rounds``:
        a category without a served head goes to the inner planner)."""
        self.embedder = embedder
        self.threshold, self.max_len = threshold, max_len
        self._texts: dict[str, np.ndarray] = {}
        self.last_confidence = 0.0
        """The last rollout's confidence (the smallest step probability among the subgoals
        the rules allow at that step)."""

    def rollout(self, task: Task, view: TextView) -> tuple[list[Subgoal], float]:
        """The head's plan from ``view`` and its confidence."""
        head = self.head.get(task.category) if isinstance(self.head, dict) else self.head
        if head is None:
            return [], 0.0
        if task.id not in self._texts:
            text = task_text(task.id, task.description)
            self._texts[task.id] = self.embedder.embed([text])[0]
        near = {k for k, s in view.nearby.items() if s.distance <= NEAR}
        state = plan_critic.PlanState.of(view)
        return roll_out(head, self._texts[task.id], task, state, near, self.max_len)

    def propose(self, task: Task, view: TextView) -> list[Subgoal] | None:
        plan, self.last_confidence = self.rollout(task, view)
        return plan if self.last_confidence >= self.threshold else None
