"""Typed records passed between the agent, the store and consolidation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from envs.text import TextView
from envs.verifiers import Verifier

SKILLS: dict[str, str] = {
    "collect": "gather",
    "place": "craft",
    "make": "craft",
    "defeat": "combat",
    "eat": "gather",
    "sleep": "gather",
}
"""Skill -> the category whose adapter it trains."""

TIERS = ("slow", "fast")

EXECUTION_FAILURES = frozenset({"stalled", "looping", "budget", "unreachable", "aborted"})
"""Failure codes of carrying a subgoal out, not of its plan: retried without asking the
model, and they do not discredit a plan memory."""


@dataclass(frozen=True)
class Subgoal:
    """One step of a plan: ``skill`` applied to ``target`` until ``count`` is verified.

    ``collect``/``make``: hold ``count`` of ``target`` (``collect drink``: drink
    ``count`` more times); ``place``: place ``count`` more; ``defeat``: defeat ``count``
    more; ``eat``: eat ``count`` more (a cow, a ripe plant); ``sleep``: sleep until
    rested and wake up.
    """

    skill: str
    target: str
    count: int = 1
    category: str = ""

    def __post_init__(self) -> None:
        if self.skill not in SKILLS:
            raise ValueError(f"unknown skill {self.skill!r}; valid choices: {', '.join(SKILLS)}")
        if not self.category:
            object.__setattr__(self, "category", SKILLS[self.skill])
        if self.count < 1:
            raise ValueError(f"subgoal count must be >= 1, got {self.count}")

    @property
    def text(self) -> str:
        return f"{self.skill} {self.target} x{self.count}"

    def verifier(self) -> Verifier:
        """The env-side check that decides this subgoal's attempt."""
        if self.skill == "collect" and self.target == "drink":  # a status, full at 9
            return Verifier("achievement", "collect_drink", self.count)
        if self.skill in ("collect", "make"):
            return Verifier("inventory", self.target, self.count)
        if self.skill == "place":
            return Verifier("achievement", f"place_{self.target}", self.count)
        if self.skill == "eat":
            return Verifier("achievement", f"eat_{self.target}", self.count)
        if self.skill == "sleep":
            return Verifier("achievement", "wake_up", self.count)
        return Verifier("kill", self.target, self.count)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Failure:
    """Why an attempt failed verification, and what the agent saw when it did."""

    code: str
    reason: str
    view: TextView | None = None
    data: dict[str, Any] = field(default_factory=dict)


class Decision(NamedTuple):
    """One step of an executor: an action, or a give-up with its reason."""

    action: int | None
    give_up: Failure | None = None


@dataclass
class CallStats:
    """What the last planner call cost: tokens, cache use, and why it fell back (if it did)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    fallback_reason: str | None = None
    """Why the offline planner answered (a code first: ``plan_rejected``,
    ``repeated_failure``, ``no_progress``, ``invalid_plan``, ``endpoint``), or None."""
    requests: int = 0
    """Requests that reached the model in this call (cache hits and repairs counted apart:
    a hit costs none, each repair round one)."""
    model_subgoals: int = 0
    """Subgoals of the answer the model planned itself (accepted by the plan critic)."""
    offline_subgoals: int = 0
    """Subgoals the offline recipe planner had to add or take over."""
    head_subgoals: int = 0
    """Subgoals the consolidated plan head planned (no model request)."""
