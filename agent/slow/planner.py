"""The slow tier's planner interface."""

from __future__ import annotations

from typing import Protocol

from envs.tasks import Task
from envs.text import TextView
from memory.records import CallStats, Failure, Subgoal


class Planner(Protocol):
    """Turns a task into subgoals, and a failed subgoal into a corrected plan."""

    name: str
    last_call: CallStats
    """Cost of the most recent plan/correct call (the runner records it)."""

    def begin_episode(self, task: Task) -> None:
        """An episode of ``task`` starts: forget what belonged to the last one."""
        ...

    def plan(self, task: Task, view: TextView) -> list[Subgoal]:
        """Subgoals that, executed in order from ``view``, achieve ``task``."""
        ...

    def attempt_done(self, subgoal: Subgoal, failure: Failure | None) -> None:
        """An attempt at ``subgoal`` ended: verified (``failure`` None) or failed."""
        ...

    def correct(self, subgoal: Subgoal, failure: Failure) -> list[Subgoal]:
        """Subgoals that recover from ``failure``; the last one retries ``subgoal``."""
        ...

    def close(self) -> None:
        """Release what the planner holds open (a response cache); called once after a run."""
        ...
