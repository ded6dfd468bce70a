"""Which skills the fast tier is trusted with: its gate success per attempt.

A served version that passed the evaluation gate records, per skill, how many of its
attempts on the gate seeds succeeded. A skill takes the fast tier only when that rate,
Laplace-smoothed, reaches ``fast.min_skill_success``; a skill the gate never tried stays
with the slow tier. Kept free of torch so that `peam adapters list` can show the routing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def skill_rate(ok: int, tried: int) -> float:
    """(ok + 1) / (tried + 2); 0 for a skill never tried."""
    return (ok + 1) / (tried + 2) if tried else 0.0


def trusted(skills: Mapping[str, Sequence[int]], skill: str, least: float) -> bool:
    """Does ``skill`` (``"collect wood"``) take the fast tier at ``least``?"""
    ok, tried = skills.get(skill, (0, 0))
    return skill_rate(ok, tried) >= least


def routing_note(skills: Mapping[str, Sequence[int]], least: float) -> str:
    """One line: the skills the fast tier takes and those left to the slow tier, each with
    its gate successes / attempts."""
    fast, slow = [], []
    for skill, (ok, tried) in skills.items():
        (fast if skill_rate(ok, tried) >= least else slow).append(f"{skill} {ok}/{tried}")
    return (
        f"routing at fast.min_skill_success {least:g}: fast tier: {', '.join(fast) or 'none'};"
        f" slow tier: {', '.join(slow) or 'none'}"
    )
