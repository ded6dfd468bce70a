"""Surviving the night: dig a two-cell burrow into stone and close it behind you.

Zombies walk on grass, sand and path and come out in the dark; a player in the open at
night is worn down. A burrow is safe: from an open cell ``e`` facing stone, mine ``s1``
and ``s2`` (two cells straight ahead, whose other neighbours are solid), step to ``s2``,
step back to ``s1`` (now facing ``e``) and place a stone on ``e``. With ``pillbox`` on, a
pocket built of placed stones on open ground (``agent.slow.pillbox``) takes the burrow's
place where none is near or building takes fewer actions than walking to one. Inside, the
player sleeps when tired and waits for the morning. Everything is read from the map memory.
"""

from __future__ import annotations

import numpy as np

from agent.slow import pillbox as box
from agent.slow.navigation import (
    DIRS,
    DO,
    ID,
    MOVE,
    NOOP,
    WALKABLE_IDS,
    search,
    stays_solid,
    terrain,
)
from envs.crafter_env import ACTIONS

NIGHT = 0.35
"""Daylight below which the player shelters (it shows in the frame as darkness)."""
MORNING = 0.6
"""Daylight above which a sheltered player comes out (when no monster waits outside)."""
FULL_DAY = 0.9
"""Daylight above which a sheltered player comes out even with a monster in view (in full
daylight Crafter removes zombies from the open: they stop gathering)."""
MAX_WALK = 25
"""Farthest entrance (grid steps) worth walking to at nightfall."""
RESTED = 8
"""Health at which a player sheltering to recover (``rest_health``) comes out by day."""
DIG_ACTIONS = 7
"""Actions a burrow takes at its entrance (face, mine twice, step in and back, place)."""
SLEEP = ACTIONS.index("sleep")
PLACE_STONE = ACTIONS.index("place_stone")
_STONE = ID["stone"]
_CREATURES = {ID[n] for n in ("zombie", "skeleton", "cow")}


def _solid(world: np.ndarray, x: int, y: int) -> bool:
    """Closed for good (``stays_solid``; outside the world counts): a zombie in the doorway
    or a sapling a creature may destroy leaves the burrow open."""
    inside = 0 <= x < world.shape[0] and 0 <= y < world.shape[1]
    return stays_solid(int(world[x, y]) if inside else None)


def enclosed(world: np.ndarray, pos: tuple[int, int], inside: set[tuple[int, int]]) -> bool:
    """No walkable way in: every neighbour of the pocket ``inside`` is solid."""
    for x, y in inside:
        for dx, dy in DIRS:
            cell = (x + dx, y + dy)
            if cell not in inside and not _solid(world, *cell):
                return False
    return True


def _walls(s1: tuple[int, int], s2: tuple[int, int], d: tuple[int, int]) -> list[tuple[int, int]]:
    """A burrow's walls: both sides of ``s1`` and ``s2``, and the cell beyond ``s2``."""
    px, py = -d[1], d[0]  # perpendicular
    return [(s1[0] + px, s1[1] + py), (s1[0] - px, s1[1] - py), (s2[0] + px, s2[1] + py),
            (s2[0] - px, s2[1] - py), (s2[0] + d[0], s2[1] + d[1])]  # fmt: skip


class Shelter:
    """One burrow per night; :meth:`step` answers an action or None (not sheltering)."""

    def __init__(
        self,
        max_cost: int = 400,
        pillbox: bool = False,
        rest_health: int = 0,
        morning: float = MORNING,
        checks: bool = False,
    ):
        self.max_cost = max_cost
        self.checks = checks
        """Check the burrow as it is dug (``controller.burrow_checks``; see :meth:`_dig`)."""
        self.morning = morning
        """Daylight above which the sheltered player comes out when no monster is in view."""
        self.pillbox = pillbox
        self.rest_health = rest_health
        """Health at or below which the player shelters by day too, until :data:`RESTED`
        (0: only at night)."""
        self.resting = False
        self.site: tuple[tuple[int, int], tuple[int, int]] | None = None
        """The burrow being dug: (entrance cell, direction into the stone)."""
        self.pocket: box.Pocket | None = None
        """The pocket of placed stones being built (instead of a burrow)."""
        self.active = False
        self._nowhere: tuple | None = None
        """The (map, position, facing, stones) of the last search that found no shelter:
        the same search is not run again each step of the night."""

    def step(
        self,
        world: np.ndarray,
        pos: tuple[int, int],
        facing: tuple[int, int],
        inventory: dict[str, int],
        daylight: float,
        energy: float,
        monster_in_view: bool = False,
        health: float = 9,
    ) -> int | None:
        """The burrow's next action; ``monster_in_view``: a zombie or skeleton is in the
        player's view now (a sheltered player waits for it to go before coming out)."""
        inside = self._inside(world, pos)
        if 0 < health <= self.rest_health:
            self.resting = True
        elif health >= RESTED:
            self.resting = False
        if not self.active:
            if (daylight >= NIGHT and not self.resting) or inventory.get("wood_pickaxe", 0) < 1:
                return None
            self.active, self.site, self.pocket = True, None, None
        elif not self.resting and (
            daylight >= FULL_DAY or (daylight >= self.morning and not (inside and monster_in_view))
        ):
            self.active, self.site, self.pocket = False, None, None
            return None
        if inside:
            return SLEEP if energy < 9 else NOOP
        if self.pocket is not None:
            actions = self._build(world, pos, facing, inventory)
            if actions:
                return actions[0]
            self.pocket = None
        if self.site is not None:
            action = self._dig(world, pos, facing, inventory)
            if action is not None:
                return action
            self.site = None
        stones = inventory.get("stone", 0)
        here = (world.tobytes(), pos, facing, stones)
        if here == self._nowhere:  # searched this very map from here: nothing then, nor now
            self.active = False
            return None
        self.site = self._find(world, pos)
        built = box.choose(world, pos, facing, stones) if self.pillbox and stones else None
        if built is not None and (
            self.site is None or len(built[1]) < self._walk(pos) + DIG_ACTIONS
        ):
            self.site, self.pocket = None, built[0]
            return built[1][0]
        if self.site is None:
            self.active, self._nowhere = False, here  # nowhere to shelter: carry on
            return None
        return self._dig(world, pos, facing, inventory)

    def _walk(self, pos: tuple[int, int]) -> int:
        assert self.site is not None
        (ex, ey), _ = self.site
        return abs(ex - pos[0]) + abs(ey - pos[1])

    def _build(self, world, pos, facing, inventory) -> list[int] | None:
        """The pocket's remaining actions from here, or None when it cannot be finished."""
        assert self.pocket is not None
        need = box.stones_needed(world, self.pocket, pos)
        if need is None or need > inventory.get("stone", 0):
            return None
        return box.plan(world, pos, facing, self.pocket)

    def _inside(self, world: np.ndarray, pos: tuple[int, int]) -> bool:
        """In the closed burrow at ``self.site`` or the closed pocket ``self.pocket``."""
        if self.pocket is not None:
            cells = set(self.pocket.cells)
            return pos in cells and enclosed(world, pos, cells)
        if self.site is None:
            return False
        (ex, ey), (dx, dy) = self.site
        s1, s2 = (ex + dx, ey + dy), (ex + 2 * dx, ey + 2 * dy)
        return pos in (s1, s2) and enclosed(world, pos, {s1, s2})

    def _dig(self, world, pos, facing, inventory) -> int | None:
        """The next action of the burrow at ``self.site``, or None when it went wrong."""
        assert self.site is not None
        e, d = self.site
        s1 = (e[0] + d[0], e[1] + d[1])
        s2 = (s1[0] + d[0], s1[1] + d[1])
        back = (-d[0], -d[1])
        checks = self.checks
        if checks and not all(_solid(world, *c) for c in _walls(s1, s2, d)):
            return None  # a wall is open (mined on the way in, or seen wrong): shelter anew
        if pos == s1 and facing == back:  # inside, facing the entrance: close it
            return PLACE_STONE if inventory.get("stone", 0) > 0 else None
        if pos == s2:
            return DO if checks and facing == back and int(world[s1]) in _CREATURES else MOVE[back]
        if pos in (e, s1) and facing == d:
            ahead = s1 if pos == e else s2
            strike = {_STONE} | (_CREATURES if checks else set())
            return DO if int(world[ahead]) in strike else MOVE[d]
        if pos == s1:
            return MOVE[d]  # turn toward s2 (stone or mined: both fine)
        grid = terrain(world, inventory)
        grid[pos] = 0
        path = search(grid, pos, facing, lambda x, y, fx, fy: (x, y) == e and (fx, fy) == d,
                      self.max_cost)  # fmt: skip
        return path[0] if path else None

    def _find(self, world: np.ndarray, pos: tuple[int, int]) -> tuple | None:
        """The nearest entrance (by straight distance) with two stones ahead and solid sides."""
        best, best_d = None, 1 << 30
        w, h = world.shape
        stone = np.argwhere(world == _STONE)
        for sx, sy in stone.tolist():
            for dx, dy in DIRS:
                e = (sx - dx, sy - dy)
                s2 = (sx + dx, sy + dy)
                if not (0 <= e[0] < w and 0 <= e[1] < h) or int(world[e]) not in WALKABLE_IDS:
                    continue
                if not (0 <= s2[0] < w and 0 <= s2[1] < h) or int(world[s2]) != _STONE:
                    continue
                if not all(_solid(world, *c) for c in _walls((sx, sy), s2, (dx, dy))):
                    continue
                dist = abs(e[0] - pos[0]) + abs(e[1] - pos[1])
                if dist < best_d and dist <= MAX_WALK:
                    best, best_d = (e, (dx, dy)), dist
        return best
