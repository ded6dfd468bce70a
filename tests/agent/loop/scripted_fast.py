"""A scripted stand-in for the fast tier: it covers every subgoal and plays a fixed rule."""

from __future__ import annotations

from collections.abc import Callable

from memory.records import Decision


class ScriptedFast:
    """``rule(t)`` -> the action of the policy's t-th step (from 1); records the idle
    streak the runner passed with each step."""

    name = "scripted"

    def __init__(self, rule: Callable[[int], int]) -> None:
        self.rule, self.t, self.idle = rule, 0, []

    def begin(self, subgoal, key=(0, 0)) -> None:
        pass

    def covers(self, subgoal):
        return "gather"

    def refresh(self) -> list[str]:
        return []

    def act(self, obs, info, idle: int = 0) -> Decision:
        self.t += 1
        self.idle.append(idle)
        return Decision(self.rule(self.t))
