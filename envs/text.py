"""A text view of an observation for the planner: inventory, status, what is nearby."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.crafter_env import SEMANTIC_NAMES
from envs.schema import inventory_dict, status_dict

# Things worth naming to a planner (grass, sand and path are the floor).
_NOTABLE = {
    "water",
    "stone",
    "tree",
    "lava",
    "coal",
    "iron",
    "diamond",
    "table",
    "furnace",
    "cow",
    "zombie",
    "skeleton",
    "plant",
}
_NOTABLE_IDS = np.array([i for i, n in enumerate(SEMANTIC_NAMES) if n in _NOTABLE])


@dataclass(frozen=True)
class Sighting:
    """The nearest thing of a kind: grid distance and offset from the player."""

    distance: int
    dx: int
    dy: int


@dataclass(frozen=True)
class TextView:
    """What the slow tier sees of an observation."""

    inventory: dict[str, int]
    status: dict[str, float]
    position: tuple[float, ...]
    nearby: dict[str, Sighting] = field(default_factory=dict)
    unlocked: tuple[str, ...] = ()
    """Achievements unlocked so far this episode."""

    def has_nearby(self, name: str, within: int) -> bool:
        s = self.nearby.get(name)
        return s is not None and s.distance <= within

    def render(self) -> str:
        inv = ", ".join(f"{k}={v}" for k, v in self.inventory.items() if v) or "empty"
        status = ", ".join(f"{k}={v:g}" for k, v in self.status.items())
        lines = [f"inventory: {inv}", f"status: {status}"]
        if self.nearby:
            parts = []
            for name, s in sorted(self.nearby.items(), key=lambda kv: kv[1].distance):
                parts.append(f"{name} {s.distance} away ({_direction(s.dx, s.dy)})")
            lines.append("nearby: " + "; ".join(parts))
        else:
            lines.append("nearby: nothing notable")
        if self.unlocked:
            lines.append("achievements unlocked: " + ", ".join(self.unlocked))
        return "\n".join(lines)


def _direction(dx: int, dy: int) -> str:
    parts = []
    if dy:
        parts.append(f"{abs(dy)} {'down' if dy > 0 else 'up'}")
    if dx:
        parts.append(f"{abs(dx)} {'right' if dx > 0 else 'left'}")
    return ", ".join(parts) or "here"


def nearby(info: dict[str, Any], radius: int) -> dict[str, Sighting]:
    """Nearest notable material or creature of each kind within ``radius`` (Chebyshev), as
    the agent remembers it (``info["map"]``); the whole world only in an all-seeing run."""
    if "nearby" in info:  # backends without a map report their own sightings (MineDojo)
        return {k: s for k, s in info["nearby"].items() if s.distance <= radius}
    semantic = info.get("semantic")  # present only when the run sees the world
    if semantic is None and "map" in info:
        semantic = info["map"].grid
    if semantic is None:
        return {}
    px, py = (int(v) for v in info["player_pos"])
    x0, y0 = max(px - radius, 0), max(py - radius, 0)
    window = semantic[x0 : px + radius + 1, y0 : py + radius + 1]
    xs, ys = np.nonzero(np.isin(window, _NOTABLE_IDS))
    found: dict[str, Sighting] = {}
    for x, y in zip(xs + x0, ys + y0, strict=True):
        name = SEMANTIC_NAMES[int(semantic[x, y])]
        dx, dy = int(x - px), int(y - py)
        dist = abs(dx) + abs(dy)
        if name not in found or dist < found[name].distance:
            found[name] = Sighting(dist, dx, dy)
    return found


def view(obs: dict[str, np.ndarray], info: dict[str, Any], radius: int = 8) -> TextView:
    """The planner's view of ``obs`` (plus what the backend reports in ``info``)."""
    return TextView(
        inventory=inventory_dict(obs["inventory"]),
        status=status_dict(obs["status"]),
        position=tuple(float(v) for v in obs["position"]),
        nearby=nearby(info, radius),
        unlocked=tuple(n for n, c in info.get("achievements", {}).items() if c > 0),
    )
