"""A plan memory in front of the planner: it answers the plan calls it can, the planner
(the LLM) the rest, and after a plan-level failure of a subgoal it planned, the planner
takes over for the rest of the episode. Subclasses: the plan head (``plan_head_planner``,
parameters) and plan reuse (``plan_reuse``, retrieval).

A stall or a budget is the controller's failure, not the plan's: it does not discredit the
memory (the planner's ladder retries it without a model request). ``name`` is whoever
answered the last call, as the store records it; ``last_call.head_subgoals`` counts the
subgoals the memory planned.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.slow import plan_critic
from agent.slow.planner import Planner
from envs.tasks import Task
from envs.text import TextView
from memory.records import EXECUTION_FAILURES, CallStats, Failure, Subgoal


class FrontPlanner:
    label = "memory"
    """The planner name recorded when the memory answers."""

    def __init__(self, inner: Planner):
        self.inner = inner
        self.name = inner.name
        self.last_call = CallStats()
        self._planned: set[tuple[str, str]] = set()
        self._failed = False

    def propose(self, task: Task, view: TextView) -> list[Subgoal] | None:
        """The memory's plan for ``task`` from ``view``, or None: ask the planner."""
        raise NotImplementedError

    def begin_episode(self, task: Task) -> None:
        self._planned.clear()
        self._failed = False
        self.inner.begin_episode(task)

    def attempt_done(self, subgoal: Subgoal, failure: Failure | None) -> None:
        mine = (subgoal.skill, subgoal.target) in self._planned
        if failure is not None and mine and failure.code not in EXECUTION_FAILURES:
            self._failed = True  # the memory's plan was wrong here: the planner plans the rest
        self.inner.attempt_done(subgoal, failure)

    def plan(self, task: Task, view: TextView) -> list[Subgoal]:
        goal = plan_critic.goal_of(task)
        plan = None if self._failed or goal is None else self.propose(task, view)
        if plan and not plan_critic.check(plan, view, goal):
            self.name = self.label
            self.last_call = CallStats(head_subgoals=len(plan))
            self._planned.update((s.skill, s.target) for s in plan)
            return plan
        return self._inner(lambda: self.inner.plan(task, view))

    def correct(self, subgoal: Subgoal, failure: Failure) -> list[Subgoal]:
        return self._inner(lambda: self.inner.correct(subgoal, failure))

    def _inner(self, call: Callable[[], list[Subgoal]]) -> list[Subgoal]:
        plan = call()
        self.name = self.inner.name
        self.last_call = self.inner.last_call
        return plan

    def close(self) -> None:
        self.inner.close()
