"""How much an evaluation run needed its slow tier: the method's claim is that every
consolidation round leaves less for the slow tier to do.

Per run folder: the finished games, the subgoal attempts each tier made (the slow tier's
split into hand-offs, where it corrects a failed fast attempt, and subgoals routed to it
because no served adapter is trusted with them, ``fast.min_skill_success``), and who took
the actions (the fast policy, the slow tier, and the guard: the slow tier's survival
reflexes, which act before a fast step where they must).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memory.store import ExperienceStore

STORE = "store.sqlite"


def tier_use(folder: Path) -> dict[str, Any] | None:
    """The run's use of each tier (see the module docstring), or None before its store."""
    if not (folder / STORE).exists():
        return None
    with ExperienceStore(folder / STORE) as store:
        done = {ep.id for ep in store.episodes()}
        attempts = [a for a in store.attempts() if a.episode_id in done]
        actions = store.actions_by_actor()
    fast = sum(a.tier == "fast" for a in attempts)
    slow = [a for a in attempts if a.tier == "slow"]
    handoffs = sum(a.corrects is not None for a in slow)
    total = sum(actions.values())
    return {
        "games": len(done),
        "attempts": {"fast": fast, "slow": len(slow)},
        "handoffs": handoffs,
        "routed": len(slow) - handoffs,
        "actions": actions,
        "slow_attempt_share": len(slow) / len(attempts) if attempts else 0.0,
        "slow_action_share": actions.get("slow", 0) / total if total else 0.0,
        "guard_action_share": actions.get("guard", 0) / total if total else 0.0,
    }


def use_cells(use: dict[str, Any]) -> tuple[str, str]:
    """Two table cells: slow-tier attempts per game (hand-offs + routed), and the shares of
    the actions the slow tier and the guard took."""
    games = max(1, use["games"])
    attempts = (
        f"{use['attempts']['slow'] / games:.2f} ({use['handoffs'] / games:.2f}"
        f" + {use['routed'] / games:.2f})"
    )
    shares = f"{use['slow_action_share']:.1%} / {use['guard_action_share']:.1%}"
    return attempts, shares
