"""When a fast-tier attempt gives up: no progress for long, or pacing over cells it has stood on.

Two counters over one attempt, both reset by progress on the subgoal's own verifier:

- ``stalled``: env steps without progress (any actor); ``stall_steps`` of them end the
  attempt ("stalled").
- ``idle``: the policy's own steps in a row that neither make progress nor bring the player
  to a cell it has not stood on in this attempt (a loop, e.g. stepping left and right
  between two cells); ``idle_steps`` of them end it ("looping"). Guard steps neither count
  nor reset it, but the cells they reach count as stood on.
"""

from __future__ import annotations

from typing import Any

from envs.verifiers import Verifier


def _cell(info: dict[str, Any]) -> tuple[int, ...]:
    return tuple(int(v) for v in info["player_pos"])


class IdleCounter:
    """The ``idle`` counter alone, fed cell by cell (``scripts/pacing_report.py`` replays
    stored attempts through it)."""

    def __init__(self, start: tuple[int, ...] | None = None) -> None:
        self.visited: set[tuple[int, ...]] = set() if start is None else {start}
        self.idle = 0

    def step(self, cell: tuple[int, ...] | None, progressed: bool, own: bool) -> int:
        """After one env step (``cell``: where the player stands, None on a backend without
        positions; ``own``: the policy acted): the idle streak."""
        new = cell is None or cell not in self.visited
        if cell is not None:
            self.visited.add(cell)
        if progressed:
            self.idle = 0
        elif own:
            self.idle = 0 if new else self.idle + 1
        return self.idle


class StallWatch:
    """Counts one fast attempt's steps without progress; :meth:`step` says when to give up."""

    def __init__(
        self, verifier: Verifier, info: dict[str, Any], stall_steps: int, idle_steps: int
    ) -> None:
        self.verifier = verifier
        self.stall_steps = stall_steps
        self.idle_steps = idle_steps
        self.progress = verifier.value(info)
        self.stalled = 0
        self.idle = 0
        self.pacing = IdleCounter(_cell(info) if "player_pos" in info else None)

    def step(self, info: dict[str, Any], own: bool) -> tuple[str, str] | None:
        """After one env step (``own``: the policy acted, not the guard): (code, reason)
        when the attempt should give up, else None."""
        now = self.verifier.value(info)
        progressed = now != self.progress
        self.progress = now
        self.stalled = 0 if progressed else self.stalled + 1
        # a backend without positions: every step is new, only the stall counter applies
        cell = _cell(info) if "player_pos" in info else None
        self.idle = self.pacing.step(cell, progressed, own)
        if self.stall_steps and self.stalled >= self.stall_steps:
            return "stalled", f"no progress in {self.stalled} steps"
        if self.idle_steps and self.idle >= self.idle_steps:
            return "looping", f"no progress and no new cell in {self.idle} steps of its own"
        return None
