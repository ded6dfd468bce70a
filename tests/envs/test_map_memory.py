"""The map memory keeps what was in view and nothing else; the wrapper hides the world."""

from __future__ import annotations

import numpy as np

import envs
from envs.map_memory import ID, UNKNOWN, VIEW, MapMemory


def test_only_the_visible_window_is_remembered_with_when_it_was_seen():
    world = np.full((64, 64), ID["stone"], dtype=np.int16)
    memory = MapMemory()
    memory.observe_crafter(world, (10, 10), step=3)
    seen = memory.seen
    assert seen.sum() == (2 * VIEW[0] + 1) * (2 * VIEW[1] + 1)
    assert seen[10 - VIEW[0], 10 - VIEW[1]] and not seen[10 + VIEW[0] + 1, 10]
    assert memory.grid[30, 30] == UNKNOWN and memory.last_seen[10, 10] == 3
    memory.observe_crafter(world, (11, 10), step=4)
    assert memory.last_seen[10 - VIEW[0], 10] == 3 and memory.last_seen[11 + VIEW[0], 10] == 4


def test_creatures_are_remembered_where_last_seen_and_forgotten_when_gone():
    world = np.full((64, 64), ID["grass"], dtype=np.int16)
    world[12, 10] = ID["cow"]
    memory = MapMemory()
    memory.observe_crafter(world, (10, 10), step=1)
    (cow,) = memory.sightings("cow")
    assert (cow.x, cow.y, cow.step) == (12, 10, 1)
    assert memory.grid[12, 10] == ID["cow"] and memory.ground[12, 10] == ID["grass"]
    memory.observe_crafter(world, (30, 30), step=2)  # walked away: the cow is remembered
    assert memory.sightings("cow")[0].step == 1 and memory.grid[12, 10] == ID["grass"]
    world[12, 10] = ID["grass"]
    memory.observe_crafter(world, (10, 10), step=3)  # back: the cow has gone
    assert memory.sightings("cow") == []


def test_the_wrapper_hides_the_world_unless_asked_for_an_oracle():
    _, info = envs.make("crafter").reset(seed=0)
    assert "semantic" not in info and isinstance(info["map"], MapMemory)
    _, info = envs.make("crafter", sees="world").reset(seed=0)
    assert info["semantic"].shape == (64, 64) and info["map"].seen.any()
