"""Path features: the first moves of the cheapest walks over the map memory, as documented."""

from __future__ import annotations

import numpy as np
import pytest

from envs.crafter_env import SEMANTIC_NAMES
from envs.map_memory import MapMemory, Sighting
from envs.paths import COST_SCALE, LIKELY, PATH_DIM, PER_TARGET, TARGETS, path_vector

ID = {n: i for i, n in enumerate(SEMANTIC_NAMES)}
LEFT, RIGHT, UP, DOWN = range(4)


def _memory(rows: list[str], seen_rows: list[str] | None = None) -> MapMemory:
    """A remembered map from text: x runs along a row, y down the rows. ``.`` grass,
    ``#`` stone, ``T`` tree, ``t`` table, ``f`` furnace, ``?`` never seen."""
    chars = {".": "grass", "#": "stone", "T": "tree", "t": "table", "f": "furnace",
             "w": "water", "p": "path"}  # fmt: skip
    h, w = len(rows), len(rows[0])
    memory = MapMemory((w, h))
    for y, row in enumerate(rows):
        for x, c in enumerate(row):
            if c != "?":
                memory.grid[x, y] = ID[chars[c]]
                memory.last_seen[x, y] = 0
    return memory


def _row(vector: np.ndarray, target: str) -> np.ndarray:
    i = TARGETS.index(target)
    return vector[PER_TARGET * i : PER_TARGET * (i + 1)]


def _info(memory: MapMemory, pos: tuple[int, int], **inventory: int) -> dict:
    return {"map": memory, "player_pos": np.array(pos), "inventory": inventory}


def test_the_walk_goes_around_a_wall_and_keeps_equal_walks():
    memory = _memory([
        ".......",
        ".#####.",
        "...T...",
    ])  # fmt: skip
    v = path_vector(_info(memory, (3, 0)))
    assert v.shape == (PATH_DIM,) and v.dtype == np.float32
    row = _row(v, "tree")
    # Around the wall either way costs the same: both first moves are kept.
    assert row[LEFT] == 1 and row[RIGHT] == 1 and row[UP] == 0 and row[DOWN] == 0
    assert row[4] == pytest.approx(7 / COST_SCALE) and row[5] == 1  # 3 along, 2 down, 2 in


def test_next_to_the_thing_the_flag_turns_to_it_and_unknown_things_are_unreachable():
    memory = _memory([
        "...",
        ".T.",
        "...",
    ])  # fmt: skip
    row = _row(path_vector(_info(memory, (1, 0))), "tree")
    assert list(row) == [0, 0, 0, 1, 0, 1]  # face down: turn toward it, cost 0
    assert list(_row(path_vector(_info(memory, (1, 0))), "iron")) == [0, 0, 0, 0, 1, 0]


def test_never_seen_cells_are_walls():
    memory = _memory([
        "..?..",
        "..?.T",
        ".....",
    ])  # fmt: skip
    row = _row(path_vector(_info(memory, (0, 0))), "tree")
    assert row[DOWN] == 1 and row[RIGHT] == 1  # around the unknown column, not through it
    assert row[4] == pytest.approx(6 / COST_SCALE)  # down to row 2, along it, up to (3, 1)
    walled = _memory([
        "..?..",
        "..?.T",
        "..?..",
    ])  # fmt: skip
    assert _row(path_vector(_info(walled, (0, 0))), "tree")[5] == 0


def test_stone_is_dug_through_only_with_a_pickaxe():
    memory = _memory(["..#..", "..#T.", "..#.."])
    without = _row(path_vector(_info(memory, (0, 1))), "tree")
    with_pickaxe = _row(path_vector(_info(memory, (0, 1), wood_pickaxe=1)), "tree")
    assert without[5] == 0
    assert with_pickaxe[5] == 1 and with_pickaxe[RIGHT] == 1


def test_crafting_spots_count_diagonal_cells_next_to_both_stations():
    memory = _memory([
        ".....",
        ".t...",
        "...f.",
        ".....",
    ])  # fmt: skip
    here = _row(path_vector(_info(memory, (2, 2))), "near_table_furnace")
    assert list(here) == [0, 0, 0, 0, 0, 1]  # (2,2) touches the table diagonally: stay
    far = _row(path_vector(_info(memory, (4, 0))), "near_table_furnace")
    assert far[5] == 1 and far[4] == pytest.approx(3 / COST_SCALE)  # to (2, 1): next to both
    assert far[LEFT] == 1 and far[DOWN] == 1


def test_a_remembered_creature_is_a_target_where_it_was_seen():
    memory = _memory(["....", "....", "...."])
    memory.creatures[(3, 2)] = Sighting("cow", 3, 2, 0)
    row = _row(path_vector(_info(memory, (0, 2))), "cow")
    assert row[RIGHT] == 1 and row[5] == 1


def test_the_frontier_leans_toward_likely_surroundings():
    # Unknown beyond both ends of a corridor; stone sits near the farther end.
    memory = _memory([
        "?......##?",
        "?......##?",
        "?........?",
    ])  # fmt: skip
    v = path_vector(_info(memory, (3, 2)))
    assert _row(v, "frontier_plain")[LEFT] == 1  # nearer edge: x = 1
    assert _row(v, "frontier_stone")[RIGHT] == 1  # the discounted edge near stone
    assert set(LIKELY) >= {"plain", "stone"}
