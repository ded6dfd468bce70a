"""Dodging arrows: the reflex reads only the view and sidesteps under Crafter's own rules."""

from __future__ import annotations

import numpy as np

import envs
from agent.loop.config import RunnerConfig
from agent.slow.config import ControllerConfig
from agent.slow.controller import DeliberateController
from agent.slow.dodge import ARROW, Dodge
from agent.slow.navigation import ID, MOVE, NOOP
from memory.records import Decision, Subgoal
from memory.store import ExperienceStore
from tests.agent.loop.scripted_fast import ScriptedFast, play_collect_wood

LEFT, RIGHT, UP = MOVE[(-1, 0)], MOVE[(1, 0)], MOVE[(0, -1)]


def _open(ground: str = "grass") -> np.ndarray:
    grid = np.full((20, 20), ID[ground], dtype=np.int16)
    grid[10, 10] = ID["player"]
    return grid


def test_steps_aside_from_an_arrow_in_line_onto_free_ground():
    grid = _open()
    grid[10, 7] = ARROW  # three cells above
    assert Dodge().step(grid, (10, 10)) == LEFT
    grid[9, 10] = ID["tree"]
    assert Dodge().step(grid, (10, 10)) == RIGHT
    grid[11, 10] = ID["stone"]
    assert Dodge().step(grid, (10, 10)) is None  # nowhere to go


def test_leaves_alone_arrows_that_cannot_reach_or_fly_away():
    grid = _open()
    grid[10, 7], grid[10, 8] = ARROW, ID["stone"]
    assert Dodge().step(grid, (10, 10)) is None  # a wall between
    grid = _open()
    grid[12, 8] = ARROW  # not in the row or column
    assert Dodge().step(grid, (10, 10)) is None
    dodge, grid = Dodge(), _open()
    grid[10, 8] = ARROW
    assert dodge.step(grid, (10, 10)) is not None
    grid[10, 8], grid[10, 7] = ID["grass"], ARROW  # one cell farther: flying away
    assert dodge.step(grid, (10, 10)) is None


def test_does_not_step_into_another_arrows_line():
    grid = _open()
    grid[10, 7] = ARROW  # above: left or right would do
    grid[9, 12] = ARROW  # below-left, aimed up the column the left cell is in
    assert Dodge().step(grid, (10, 10)) == RIGHT


def test_the_sidestep_beats_a_real_arrow():
    """In Crafter itself: an arrow flying at the player misses once the reflex steps aside,
    and hits without the reflex."""
    from crafter import objects

    def health_after(dodge: bool) -> int:
        env = envs.make("crafter")
        env.reset(seed=3)
        world, player = env.unwrapped._env._world, env.unwrapped._env._player
        x, y = (int(v) for v in player.pos)
        column = [(x, y - k) for k in range(1, 4)] + [(x - 1, y), (x + 1, y)]
        assert all(world[c][0] == "grass" and world[c][1] is None for c in column)
        world.add(objects.Arrow(world, (x, y - 3), np.array((0, 1))))
        obs, _, _, _, info = env.step(0)  # noop: the arrow flies one cell closer
        controller = DeliberateController(ControllerConfig(dodge=dodge))
        controller.begin(Subgoal("collect", "wood", 1))
        health = player.health
        for _ in range(3):
            decision = controller.act(obs, info)
            if decision.action is None:
                break
            obs, _, _, _, info = env.step(decision.action if controller.reflexive else 0)
        return health - player.health

    assert health_after(dodge=True) == 0
    assert health_after(dodge=False) == 2


def test_never_steps_onto_the_cell_an_arrow_flies_into_next():
    dodge, grid = Dodge(), _open()
    grid[12, 9] = ARROW
    dodge.step(grid, (10, 10))
    grid[12, 9], grid[11, 9] = ID["grass"], ARROW  # it flies left, along the row above
    assert dodge.step(grid, (10, 10)) is None  # not aimed at the player's cell
    assert dodge.blocks((10, 10), UP)  # (10, 9) is where it flies next
    assert not dodge.blocks((10, 10), MOVE[(0, 1)])
    assert not dodge.blocks((10, 10), LEFT)
    controller = DeliberateController(ControllerConfig(dodge=True))
    assert controller.hold(UP) is None  # nothing seen yet


def test_an_arrow_seen_once_may_fly_any_way():
    dodge, grid = Dodge(), _open()
    grid[11, 9] = ARROW  # diagonal to the player: not aimed at it
    assert dodge.step(grid, (10, 10)) is None
    assert dodge.blocks((10, 10), UP) and dodge.blocks((10, 10), RIGHT)
    assert not dodge.blocks((10, 10), LEFT)


class NoClimbing(DeliberateController):
    """A controller whose reflexes hold back every step up (as if an arrow flew there)."""

    def hold(self, action: int) -> Decision | None:
        return Decision(NOOP) if action == UP else None


def test_the_runner_replaces_a_held_back_fast_step_with_the_guards_wait(tmp_path):
    store = ExperienceStore(tmp_path / "s.sqlite")
    config = RunnerConfig(handoff=False, label=True)
    play_collect_wood(store, ScriptedFast(lambda t: UP), config, NoClimbing(), steps=20)
    (episode,) = store.episodes()
    fast = {a.id for a in store.attempts() if a.tier == "fast"}
    steps = [s for s in store.steps(episode.id, frames=False) if s.attempt_id in fast]
    assert steps and all(s.action == NOOP and s.actor == "guard" for s in steps)
    assert all(s.label is None for s in steps)  # the guard's steps are never labelled
