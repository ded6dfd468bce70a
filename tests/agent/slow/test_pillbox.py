"""The stone pillbox: planned from the map memory, built and closed under Crafter's rules."""

from __future__ import annotations

import numpy as np
from crafter import objects

import envs
from agent.slow import pillbox
from agent.slow.navigation import ID
from agent.slow.shelter import enclosed


def _crafter_in_the_open(stones: int, reach: int = 7):
    """A Crafter world bare grass ``reach`` cells around the player, no creatures near."""
    env = envs.make("crafter")
    env.reset(seed=5)
    raw = env.unwrapped._env
    world, player = raw._world, raw._player
    x, y = (int(v) for v in player.pos)
    for obj in list(world.objects):
        if obj is not player and abs(obj.pos[0] - x) <= 9 and abs(obj.pos[1] - y) <= 9:
            world.remove(obj)
    for i in range(max(x - reach, 0), min(x + reach + 1, 64)):
        for j in range(max(y - reach, 0), min(y + reach + 1, 64)):
            world[i, j] = "grass"
    player.inventory["stone"] = stones
    return env, raw, world, player


def test_six_stones_close_a_player_in_on_bare_grass_and_a_zombie_cannot_reach_it():
    env, raw, world, player = _crafter_in_the_open(stones=6)
    grid = raw._sem_view()
    pos = (int(player.pos[0]), int(player.pos[1]))
    chosen = pillbox.choose(grid, pos, tuple(int(v) for v in player.facing), 6)
    assert chosen is not None
    pocket, actions = chosen
    assert pillbox.stones_needed(grid, pocket) == 6 and len(actions) <= 25
    for action in actions:
        env.step(action)
    sem = raw._sem_view()
    here = (int(player.pos[0]), int(player.pos[1]))
    assert here in pocket.cells and player.inventory["stone"] == 0
    assert enclosed(sem, here, set(pocket.cells))
    spot = (here[0] + 3, here[1])
    zombie = objects.Zombie(world, spot, player)
    world.add(zombie)
    health = player.health = 9
    at_wall = False
    for _ in range(40):  # Crafter's own zombie moves (the env would despawn it by day)
        zombie.update()
        x, y = (int(v) for v in zombie.pos)
        at_wall |= any(abs(x - a) + abs(y - b) == 1 for a, b in pocket.walls)
    assert at_wall  # it came up to the walls
    assert player.health == health  # and never struck


def test_solid_ground_around_saves_stones_and_too_few_stones_build_nothing():
    grid = np.full((20, 20), ID["grass"], dtype=np.int16)
    grid[10, 10] = ID["player"]
    grid[12:16, 6:14] = ID["stone"]  # a stone face two cells to the right
    chosen = pillbox.choose(grid, (10, 10), (0, 1), 6)
    assert chosen is not None
    assert pillbox.stones_needed(grid, chosen[0], (10, 10)) < 6
    bare = np.full((20, 20), ID["grass"], dtype=np.int16)
    assert pillbox.choose(bare, (10, 10), (0, 1), 5) is None


def _play(grid: np.ndarray, pos, facing, actions) -> tuple[tuple[int, int], list[int]]:
    """Crafter's rules on a grid: a move walks onto open ground, else turns; a stone goes
    on the faced cell. Returns the last cell and every cell a move was made toward."""
    moves = {1: (-1, 0), 2: (1, 0), 3: (0, -1), 4: (0, 1)}
    toward = []
    for action in actions:
        ahead = (pos[0] + facing[0], pos[1] + facing[1])
        if action == pillbox.PLACE_STONE:
            assert grid[ahead] in pillbox.PLACEABLE
            grid[ahead] = ID["stone"]
        elif action in moves:
            facing = moves[action]
            ahead = (pos[0] + facing[0], pos[1] + facing[1])
            toward.append(int(grid[ahead]))
            if grid[ahead] in (ID["grass"], ID["sand"], ID["path"], ID["lava"], -1):
                pos = ahead
    return pos, toward


def test_never_plans_a_move_toward_lava_or_unknown_ground():
    grid = np.full((20, 20), ID["grass"], dtype=np.int16)
    grid[:, 12:] = -1  # never seen below row 11
    grid[:, 8] = ID["lava"]
    chosen = pillbox.choose(grid, (10, 10), (0, 1), 6)
    assert chosen is not None
    pocket, actions = chosen
    end, toward = _play(grid, (10, 10), (0, 1), actions)
    assert ID["lava"] not in toward and -1 not in toward
    assert end in pocket.cells and enclosed(grid, end, set(pocket.cells))


def test_the_night_shelter_builds_a_pocket_where_there_is_no_stone_to_dig_into():
    from agent.slow.shelter import NOOP, SLEEP, Shelter

    env, raw, _, player = _crafter_in_the_open(stones=6, reach=30)
    player.inventory["wood_pickaxe"] = 1

    def night_step(shelter: Shelter) -> int | None:
        pos = (int(player.pos[0]), int(player.pos[1]))
        facing = (int(player.facing[0]), int(player.facing[1]))
        return shelter.step(raw._sem_view(), pos, facing, player.inventory, 0.2, 9)

    assert night_step(Shelter(pillbox=False)) is None  # no stone face: the open
    shelter = Shelter(pillbox=True)
    for _ in range(30):
        action = night_step(shelter)
        assert action is not None
        if action in (NOOP, SLEEP):
            break
        env.step(action)
    assert shelter.pocket is not None and action == NOOP
    here = (int(player.pos[0]), int(player.pos[1]))
    assert enclosed(raw._sem_view(), here, set(shelter.pocket.cells))


def test_a_hurt_player_shelters_by_day_until_its_health_is_back():
    from agent.slow.shelter import RESTED, Shelter

    _, raw, _, player = _crafter_in_the_open(stones=6, reach=30)
    player.inventory["wood_pickaxe"] = 1

    def day_step(shelter: Shelter, health: float) -> int | None:
        pos = (int(player.pos[0]), int(player.pos[1]))
        facing = (int(player.facing[0]), int(player.facing[1]))
        inv = player.inventory
        return shelter.step(raw._sem_view(), pos, facing, inv, 1.0, 9, health=health)

    assert day_step(Shelter(pillbox=True), health=3) is None  # rest_health 0: nights only
    shelter = Shelter(pillbox=True, rest_health=4)
    assert day_step(shelter, health=5) is None
    assert day_step(shelter, health=4) is not None and shelter.resting
    assert day_step(shelter, health=RESTED - 1) is not None  # still recovering
    assert day_step(shelter, health=RESTED) is None and not shelter.active


def test_the_evening_stone_errand_mines_stone_nearby_only_when_asked():
    from agent.slow.config import ControllerConfig
    from agent.slow.controller import DeliberateController
    from agent.slow.navigation import DO
    from memory.records import Subgoal

    env, _, world, player = _crafter_in_the_open(stones=1, reach=8)
    x, y = (int(v) for v in player.pos)
    world[x + 1, y] = "stone"
    player.facing = np.array((1, 0))
    player.inventory["wood_pickaxe"] = 1
    obs, _, _, _, info = env.step(0)

    def evening_action(dusk_stone: int) -> tuple[int | None, bool]:
        controller = DeliberateController(ControllerConfig(dusk_stone=dusk_stone))
        controller.begin(Subgoal("collect", "wood", 9))
        for daylight in (0.8, 0.7):  # falling: the evening
            decision = controller.act(obs, {**info, "daylight": daylight})
        return decision.action, controller.reflexive

    assert evening_action(dusk_stone=4) == (DO, True)  # faces the stone: mines it
    assert evening_action(dusk_stone=0)[1] is False  # off: the subgoal goes on
