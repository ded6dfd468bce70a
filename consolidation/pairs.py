"""Failure-correction pairs mined from the store.

A pair is a failed attempt at a subgoal and a verified attempt at the same
subgoal that corrects it:

- **linked**: the runner recorded the correction (``attempts.corrects``); a
  chain of failed retries pairs every failure with the chain's verified end;
- **matched**: a failed attempt nobody corrected is paired with the verified
  attempt of the same subgoal, in another episode, whose start state
  (inventory and status) is nearest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memory.store import AttemptRecord, ExperienceStore


@dataclass(frozen=True)
class Pair:
    failed: AttemptRecord
    corrected: AttemptRecord
    linked: bool
    """True: linked by the runner; False: matched across episodes by start state."""
    distance: float
    """Start-state distance for matched pairs (0 for linked ones)."""


def mine_pairs(
    store_path: Path, category: str | None = None, match_across: bool = True
) -> list[Pair]:
    with ExperienceStore(store_path) as store:
        done = {e.id for e in store.episodes()}
        attempts = [
            a
            for a in store.attempts()
            if a.episode_id in done
            and a.success is not None
            and (category is None or a.subgoal.category == category)
        ]
        fixes: dict[int, AttemptRecord] = {}  # attempt id -> attempt that corrects it
        for a in attempts:
            if a.corrects is not None:
                fixes[a.corrects] = a
        pairs: list[Pair] = []
        unmatched: list[AttemptRecord] = []
        for a in attempts:
            if a.success:
                continue
            fix, seen = fixes.get(a.id), set()
            while fix is not None and not fix.success and fix.id not in seen:
                seen.add(fix.id)
                fix = fixes.get(fix.id)
            if fix is not None and fix.success:
                pairs.append(Pair(a, fix, True, 0.0))
            else:
                unmatched.append(a)
        if match_across and unmatched:
            pairs.extend(_match(store, unmatched, [a for a in attempts if a.success]))
    return pairs


def _match(
    store: ExperienceStore,
    failed: list[AttemptRecord],
    verified: list[AttemptRecord],
) -> list[Pair]:
    by_subgoal: dict[tuple, list[AttemptRecord]] = {}
    for a in verified:
        by_subgoal.setdefault(_key(a), []).append(a)
    out = []
    for a in failed:
        candidates = [v for v in by_subgoal.get(_key(a), []) if v.episode_id != a.episode_id]
        if not candidates:
            continue
        start = store.start_state(a.episode_id, a.step_start)
        if start is None:
            continue
        best, best_d = None, float("inf")
        for v in candidates:
            other = store.start_state(v.episode_id, v.step_start)
            if other is None:
                continue
            d = float(np.abs(start - other).sum())
            if d < best_d:
                best, best_d = v, d
        if best is not None:
            out.append(Pair(a, best, False, best_d))
    return out


def _key(a: AttemptRecord) -> tuple:
    return (a.subgoal.skill, a.subgoal.target, a.subgoal.count)
