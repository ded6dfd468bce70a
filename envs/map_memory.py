"""The agent's map memory: what it has seen of the world, and nothing else.

Each step the visible part of the world (Crafter: the 9x7 cells around the player,
the area its frame shows; reading ``info["semantic"]`` only inside that window
stands for perfect perception of the frame) is copied into a remembered grid with
a seen mask and the step each cell was last seen. Moving things (cows, zombies,
skeletons, arrows) are kept apart, with their last position and the step they were
seen there; the remembered grid shows the ground under them.

:class:`MapMemoryWrapper` is the one place an agent's info is filled: it adds
``info["map"]`` and, unless the run is an all-seeing comparison
(``keep_world=True``: then the map is the whole world, every step), removes
``info["semantic"]``, so no tier can read beyond what it has seen. Another backend
fills the same :class:`MapMemory` from its own local observations through
:meth:`MapMemory.observe`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np

from envs.crafter_env import SEMANTIC_NAMES

UNKNOWN = -1
"""Value of a never-seen cell in :attr:`MapMemory.grid`."""
VIEW = (4, 3)
"""Half width and half height of Crafter's visible window in cells (9 x 7)."""
ID = {name: i for i, name in enumerate(SEMANTIC_NAMES)}
MOVING = frozenset(ID[n] for n in ("player", "cow", "zombie", "skeleton", "arrow"))
"""Things that move: remembered apart from the ground (a plant stays put: ground)."""
_GROUND_UNDER = {
    ID["skeleton"]: ID["path"],  # skeletons live in tunnels
    ID["arrow"]: ID["path"],
}
_DEFAULT_GROUND = ID["grass"]
_IS_MOVING = np.zeros(len(SEMANTIC_NAMES) + 1, dtype=bool)
_IS_MOVING[sorted(MOVING)] = True
_REMEMBERED = np.zeros(len(SEMANTIC_NAMES) + 1, dtype=bool)
_REMEMBERED[[ID["cow"], ID["zombie"], ID["skeleton"]]] = True
"""Moving things worth remembering where they were (not the player, not arrows in flight)."""


@dataclass(frozen=True)
class Sighting:
    """A moving thing where it was last seen: ``kind`` (a semantic name), cell, step."""

    kind: str
    x: int
    y: int
    step: int


class MapMemory:
    """The remembered world of one episode (see the module docstring)."""

    def __init__(self, shape: tuple[int, int] = (64, 64)):
        self.shape = shape
        self.ground = np.full(shape, UNKNOWN, dtype=np.int16)
        """Last seen material of every cell (moving things removed), UNKNOWN if never seen."""
        self.last_seen = np.full(shape, -1, dtype=np.int32)
        """The step each cell was last in view; -1 = never."""
        self.grid = self.ground.copy()
        """What the agent navigates by: the ground, with what is in view now drawn on it."""
        self.creatures: dict[tuple[int, int], Sighting] = {}
        """Moving things by the cell they were last seen in."""
        self.step = 0
        self.window: tuple[slice, slice] = (slice(0, 0), slice(0, 0))
        """The cells in view at the last observation."""
        self.actions: deque[int] = deque(maxlen=8)
        """The last actions the player took (most recent last)."""

    @property
    def seen(self) -> np.ndarray:
        return self.last_seen >= 0

    def observe(self, window: np.ndarray, origin: tuple[int, int], step: int) -> None:
        """Take in ``window`` (semantic values of the visible cells) whose first cell is the
        world cell ``origin``, seen at ``step``."""
        x0, y0 = origin
        w, h = window.shape
        area = (slice(x0, x0 + w), slice(y0, y0 + h))
        previous, self.step, self.window = self.window, step, area
        moving = _IS_MOVING[window]
        ground = self.ground[area]
        np.copyto(ground, window, where=~moving)
        under = moving & (ground == UNKNOWN)
        if under.any():  # a creature on a never-seen cell: the ground it usually walks on
            kinds = window[under]
            ground[under] = [_GROUND_UNDER.get(int(k), _DEFAULT_GROUND) for k in kinds]
        self.last_seen[area] = step
        # Moving things: forget those whose cell is in view now, remember what is there.
        if self.creatures:
            x1, y1 = x0 + w, y0 + h
            gone = [c for c in self.creatures if x0 <= c[0] < x1 and y0 <= c[1] < y1]
            for cell in gone:
                del self.creatures[cell]
        remembered = _REMEMBERED[window]
        if remembered.any():
            for i, j in zip(*np.nonzero(remembered), strict=True):
                cell = (x0 + int(i), y0 + int(j))
                self.creatures[cell] = Sighting(SEMANTIC_NAMES[int(window[i, j])], *cell, step)
        # The navigation grid: the ground, with what is in view now (exactly the window).
        self.grid[previous] = self.ground[previous]
        self.grid[area] = window

    def observe_crafter(self, semantic: np.ndarray, player_pos: Any, step: int) -> None:
        """Take in Crafter's visible window around ``player_pos`` from its world map."""
        px, py = int(player_pos[0]), int(player_pos[1])
        x0, y0 = max(px - VIEW[0], 0), max(py - VIEW[1], 0)
        window = semantic[x0 : px + VIEW[0] + 1, y0 : py + VIEW[1] + 1]
        self.observe(window, (x0, y0), step)

    def observe_world(self, semantic: np.ndarray, step: int) -> None:
        """The all-seeing oracle's memory: the whole world, as it is now (comparison only)."""
        self.step = step
        self.grid = np.asarray(semantic, dtype=np.int16).copy()
        self.ground = self.grid
        self.last_seen[:] = step

    def sightings(self, kind: str) -> list[Sighting]:
        """Remembered moving things of ``kind``, most recently seen first."""
        found = [s for s in self.creatures.values() if s.kind == kind]
        return sorted(found, key=lambda s: -s.step)

    def in_view(self, x: int, y: int) -> bool:
        return _inside((x, y), self.window)


def _inside(cell: tuple[int, int], area: tuple[slice, slice]) -> bool:
    return area[0].start <= cell[0] < area[0].stop and area[1].start <= cell[1] < area[1].stop


class MapMemoryWrapper(gymnasium.Wrapper):
    """Adds ``info["map"]`` (a :class:`MapMemory` the env fills every step) and, unless
    ``keep_world``, removes ``info["semantic"]``: the agent knows only what it has seen.
    A backend without a grid world (MineDojo: no semantic map, no grid position) gets no
    ``info["map"]``; its sightings come in ``info["nearby"]``."""

    def __init__(self, env: gymnasium.Env, keep_world: bool = False, teacher_world: bool = False):
        super().__init__(env)
        self.keep_world = keep_world
        self.teacher_world = teacher_world
        """The memory stays what was seen; ``info["world"]`` holds the whole world for a
        privileged labelling teacher (never for a tier that acts)."""
        self.memory = MapMemory()
        self._t = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        semantic = info.get("semantic")
        self.memory = MapMemory(semantic.shape if semantic is not None else (64, 64))
        self._t = 0
        return obs, self._fill(info)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._t += 1
        self.memory.actions.append(int(action))
        return obs, reward, terminated, truncated, self._fill(info)

    def _fill(self, info: dict[str, Any]) -> dict[str, Any]:
        # The backend returns a fresh dict every step: filled in place.
        semantic = info.get("semantic") if self.keep_world else info.pop("semantic", None)
        if semantic is not None and self.keep_world:
            self.memory.observe_world(semantic, self._t)
        elif semantic is not None and "player_pos" in info:
            self.memory.observe_crafter(semantic, info["player_pos"], self._t)
        if semantic is not None or "player_pos" in info:  # a backend with a grid world
            info["map"] = self.memory
        if semantic is not None and self.teacher_world:
            info["world"] = semantic
        return info
