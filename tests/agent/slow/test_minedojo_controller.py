"""The MineDojo controller under Minecraft's rules (the faithful fake): the slow tier finishes
the craft and wood tasks, aims with the voxel cube, reads lidar with the right sign, keeps a
station in view, and gathers fuel before smelting."""

from __future__ import annotations

import numpy as np
import pytest

from agent.loop.config import RunnerConfig
from agent.loop.runner import EpisodeRunner
from agent.slow.minedojo_controller import MineDojoController
from agent.slow.recipe_planner import RecipePlanner
from envs.minedojo_actions import VOCABULARY
from envs.minedojo_env import MineDojoEnv
from envs.tasks import load_tasks
from memory.records import Subgoal
from memory.store import ExperienceStore
from tests.envs.minedojo_fake import FakeMineDojo, factory
from tests.envs.minedojo_fake.world import GROUND, Entity
from tests.envs.minedojo_scene import scene

TASKS = load_tasks("configs/tasks/minedojo.yaml")
FEET = GROUND + 1


def _adapter(fake: FakeMineDojo | None = None) -> MineDojoEnv:
    """The adapter over ``fake``, or over a fake made as ``minedojo.make`` would be."""
    if fake is None:
        return MineDojoEnv(size=16, factory=factory())
    return MineDojoEnv(size=16, factory=lambda spec, seed, size: fake)


@pytest.mark.parametrize(
    "task_id", ["place_table", "make_wood_pickaxe", "make_stone_pickaxe", "collect_wood_4"]
)
def test_slow_tier_completes_the_task_under_minecrafts_rules(tmp_path, task_id):
    store = ExperienceStore(tmp_path / "md.sqlite")
    run = store.start_run("minedojo", {})
    runner = EpisodeRunner(_adapter(), RecipePlanner(), MineDojoController(), store, run,
                           "minedojo", RunnerConfig(subgoal_budget=1500))  # fmt: skip
    result = runner.run_episode(TASKS[task_id], 0)
    assert result.success, [(a.subgoal.text, a.failure_code) for a in store.attempts()]
    # it had to break blocks for it: the wood came from logs held under attack
    (episode,) = store.episodes()
    attacks = sum(
        1 for s in store.steps(episode.id, frames=False) if VOCABULARY[s.action] == "attack"
    )
    assert attacks >= 60


def _controller_steps(env, subgoal, n, until=None):
    c = MineDojoController()
    c.begin(subgoal)
    obs, info = env.reset(seed=0)
    names = []
    for _ in range(n):
        if until is not None and until():
            break
        d = c.act(obs, info)
        if d.action is None:
            return names, d.give_up
        names.append(VOCABULARY[d.action])
        obs, _, _, _, info = env.step(d.action)
    return names, None


def test_it_looks_down_at_a_log_by_its_feet_before_attacking():
    fake = scene(setup=lambda f: f.world.set((0, FEET, 1), "log"))  # below a level view
    names, _ = _controller_steps(_adapter(fake), Subgoal("collect", "wood"), 4)
    assert names == ["camera_down", "camera_down", "attack", "attack"]  # 15 degrees: above it


def test_it_turns_left_toward_a_creature_that_a_positive_yaw_ray_sees():
    at = np.array([0.5 + 8 * np.tan(0.5236), FEET, 8.5])
    fake = scene(setup=lambda f: f.world.entities.append(Entity("zombie", at, 20.0)))
    env = _adapter(fake)
    names, _ = _controller_steps(env, Subgoal("defeat", "zombie"), 2)
    assert names[0] == "camera_left"  # +x is on the left when facing +z


def test_it_places_on_the_floor_and_crafts_with_the_table_in_view():
    fake = scene(start={"planks": 3, "stick": 2, "crafting_table": 1})
    env = _adapter(fake)

    def done():
        return fake.player.count("wooden_pickaxe") == 1

    names, failure = _controller_steps(env, Subgoal("make", "wood_pickaxe"), 12, done)
    assert failure is None and fake.player.count("wooden_pickaxe") == 1
    assert names.index("camera_down") < names.index("place:crafting_table")


def test_it_asks_for_fuel_before_smelting_and_smelts_with_it():
    start = {"iron_ore": 3, "stick": 2, "furnace": 1, "crafting_table": 1}
    env = _adapter(scene(start=start))
    _, failure = _controller_steps(env, Subgoal("make", "iron_pickaxe"), 5)
    assert failure is not None and failure.code == "missing_item"
    assert failure.data["item"] == "coal"
    fake = scene(start={**start, "coal": 1})

    def done():
        return fake.player.count("iron_pickaxe") == 1

    names, failure = _controller_steps(_adapter(fake), Subgoal("make", "iron_pickaxe"), 40, done)
    assert failure is None and fake.player.count("iron_pickaxe") == 1, names
    assert names.count("craft:iron_ingot") == 3 and "equip:coal" in names
