"""Which skills the fast tier is trusted with: its gate success per attempt.

A served version that passed the evaluation gate records, per skill, how many of its
attempts on the gate seeds succeeded. A skill takes the fast tier only when that rate,
Laplace-smoothed, reaches ``fast.min_skill_success``; a skill the gate never tried stays
with the slow tier. With ``fast.route_acted`` the rate is over the attempts that acted:
one the guard gave up at its first step (no station in view, an item missing) cost
nothing and handed the subgoal over at once, so it does not count against the skill.
Kept free of torch so that `peam adapters list` can show the routing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def skill_rate(ok: int, tried: int) -> float:
    """(ok + 1) / (tried + 2); 0 for a skill never tried."""
    return (ok + 1) / (tried + 2) if tried else 0.0


def trusted(skills: Mapping[str, Sequence[int]], skill: str, least: float) -> bool:
    """Does ``skill`` (``"collect wood"``) take the fast tier at ``least``?"""
    ok, tried = skills.get(skill, (0, 0))
    return skill_rate(ok, tried) >= least


def gate_counts(candidate: Mapping[str, Any], acted: bool) -> dict[str, list[int]] | None:
    """A gated version's (ok, tried) per skill from its gate tally (``candidate``), over the
    attempts that acted when ``acted`` (tallies older than the ``given_up`` counts: all
    attempts); None when the tally has no skills."""
    skills = candidate.get("skills")
    if skills is None:
        return None
    given_up = candidate.get("given_up", {}) if acted else {}
    return {s: [ok, tried - int(given_up.get(s, 0))] for s, (ok, tried) in skills.items()}


def routing_note(
    skills: Mapping[str, Sequence[int]], least: float, given_up: Mapping[str, int] | None = None
) -> str:
    """One line: the skills the fast tier takes and those left to the slow tier, each with
    its gate successes / attempts (and the attempts given up at once, not counted)."""
    fast, slow = [], []
    for skill, (ok, tried) in skills.items():
        at_once = (given_up or {}).get(skill, 0)
        extra = f" (+{at_once} given up at once)" if at_once else ""
        (fast if skill_rate(ok, tried) >= least else slow).append(f"{skill} {ok}/{tried}{extra}")
    return (
        f"routing at fast.min_skill_success {least:g}: fast tier: {', '.join(fast) or 'none'};"
        f" slow tier: {', '.join(slow) or 'none'}"
    )
