"""MineDojo contract tests, without minedojo: MineDojo-shaped observations through the adapter,
the action vocabulary against the MultiDiscrete space and masks, crash recovery in a run."""

from __future__ import annotations

import importlib.util

import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import data_equivalence

import envs
from agent.cli import main
from agent.loop.config import RunnerConfig
from agent.loop.runner import EpisodeRunner
from agent.slow.minedojo_controller import MineDojoController
from agent.slow.recipe_planner import RecipePlanner
from envs.minedojo_actions import NOOP, NVEC, VOCABULARY, encode
from envs.minedojo_env import LIDAR_RAYS, VOXEL_SIZE, MineDojoEnv, MineDojoUnavailable
from envs.tasks import load_tasks
from memory.store import ExperienceStore

from .minedojo_fake import FakeMineDojo, factory

TASKS = load_tasks("configs/tasks/minedojo.yaml")


def _env(**fake) -> MineDojoEnv:
    """The adapter over the faithful fake, made with the arguments the adapter gives
    ``minedojo.make`` (world seed = seed + 1, the adapter's voxel cube and lidar fan)."""
    return MineDojoEnv(size=64, factory=factory(**fake))


def test_minedojo_observation_maps_into_the_common_schema():
    env = _env(start={"log": 3, "iron_ore": 1, "iron_ingot": 2, "crafting_table": 1})
    obs, info = env.reset(seed=7, options={"task": TASKS["collect_wood_4"].env})
    assert env.observation_space.contains(obs)
    assert obs["rgb"].shape == (64, 64, 3) and tuple(obs["rgb"][0, 0]) == (10, 20, 30)
    inv = dict(zip(envs.schema.ITEMS, obs["inventory"], strict=True))
    assert inv["wood"] == 3 and inv["iron"] == 3 and inv["stone"] == 0
    assert info["inventory"]["crafting_table"] == 1 and info["inventory"]["wood"] == 3
    health, food, drink, energy = obs["status"]
    assert (health, food, drink, energy) == (9.0, 9.0, 9.0, 9.0)
    assert tuple(obs["position"]) == (0.5, 64.0, 0.5)
    assert info["voxels"]["block_name"].shape == (5, 4, 5) and info["masks"][
        "craft_smelt"
    ].shape == (244,)
    assert info["rays"]["block_name"].shape == (15,)
    assert info["equipment"]["name"].shape == (6,)
    assert info["kills"] == {"zombie": 0, "skeleton": 0}


def test_adapter_keeps_the_gymnasium_contract():
    # (gymnasium's check_env cannot compare MineDojo's string arrays kept in info)
    env = _env(start={"log": 1})
    obs1, _ = env.reset(seed=3)
    obs2, _ = env.reset(seed=3)
    assert data_equivalence(obs1, obs2) and env.observation_space.contains(obs1)
    for action in range(env.action_space.n):
        obs, reward, terminated, truncated, info = env.step(action)
        assert env.observation_space.contains(obs) and isinstance(reward, float)
        assert isinstance(terminated, bool) and isinstance(truncated, bool)
        assert isinstance(info, dict) and "aborted" not in info
    limited = envs.make("minedojo", max_episode_steps=3)
    limited.unwrapped.factory = lambda spec, seed, size: FakeMineDojo(size=size)
    limited.reset(seed=0)
    assert [limited.step(0)[3] for _ in range(3)] == [False, False, True]  # time limit


def test_every_vocabulary_action_encodes_to_a_valid_vector_and_respects_masks():
    space = spaces.MultiDiscrete(NVEC)
    fake = FakeMineDojo(start={"log": 2, "planks": 4, "crafting_table": 1, "wooden_pickaxe": 1})
    states = [fake.reset()]
    states.append(FakeMineDojo(start={}).reset())  # empty inventory: everything masked
    for obs in states:
        for index, name in enumerate(VOCABULARY):
            vector, why = encode(index, obs)
            assert space.contains(vector), name
            if why is not None:
                assert tuple(vector) == NOOP, name
                continue
            kind, _, item = name.partition(":")
            if kind == "craft":
                assert obs["masks"]["craft_smelt"][vector[6]] and vector[5] == 4
            elif kind in ("equip", "place"):
                assert obs["masks"][kind][vector[7]]
                assert obs["inventory"]["name"][vector[7]].replace(" ", "_") == item
    empty = states[1]
    assert encode("craft:planks", empty)[1] == "craft planks is masked (needs its ingredients)"
    assert "none in the inventory" in encode("place:crafting_table", empty)[1]
    assert "crafting table nearby" in encode("craft:wooden_pickaxe", states[0])[1]


def test_masked_actions_never_reach_minedojo_and_crafting_counts_achievements():
    env = _env(start={"log": 3})
    env.reset(seed=0)
    for name in VOCABULARY:  # MineDojo raises on an equip/place of an empty slot
        env.step(VOCABULARY.index(name))
    env = _env(start={"log": 3})
    env.reset(seed=0)
    for name in ("craft:planks", "craft:planks", "craft:crafting_table",
                 "camera_down", "camera_down", "camera_down",  # the crosshair on the floor
                 "place:crafting_table", "craft:stick", "craft:planks",
                 "craft:wooden_pickaxe"):  # fmt: skip
        *_, info = env.step(VOCABULARY.index(name))
        assert "invalid_action" not in info, (name, info.get("invalid_action"))
    assert info["achievements"] == {"make_planks": 3, "make_table": 1, "place_table": 1,
                                    "make_stick": 1, "make_wood_pickaxe": 1}  # fmt: skip
    assert info["inventory"]["wood_pickaxe"] == 1


def _run(tmp_path, env, task_id, seeds):
    store = ExperienceStore(tmp_path / "md.sqlite")
    run = store.start_run("minedojo", {})
    results = []
    for seed in seeds:
        runner = EpisodeRunner(env, RecipePlanner(), MineDojoController(), store, run, "minedojo",
                               RunnerConfig(subgoal_budget=60))  # fmt: skip
        results.append(runner.run_episode(TASKS[task_id], seed))
    return store, results


def test_an_episode_runs_through_envs_make_as_peam_run_builds_it(tmp_path):
    # envs.make wraps the backend in the map memory; MineDojo has no grid world to map
    env = envs.make("minedojo", max_episode_steps=TASKS["place_table"].budget)
    env.unwrapped.factory = factory(start={"log": 1})
    _, (result,) = _run(tmp_path, env, "place_table", [0])
    assert result.success, result.outcome
    assert "map" not in env.reset(seed=0)[1]


def test_slow_tier_places_a_table_on_the_fake(tmp_path):
    env = _env(start={"log": 1})
    store, (result,) = _run(tmp_path, env, "place_table", [0])
    assert result.success and result.outcome == "success"
    verified = [a.subgoal.text for a in store.attempts() if a.success]
    assert verified[-1] == "place table x1"  # crafted planks -> table, placed it


@pytest.mark.parametrize("mode", ["raise", "silent"])
def test_a_malmo_crash_mid_episode_is_recorded_as_aborted_and_the_run_goes_on(tmp_path, mode):
    made: list[FakeMineDojo] = []

    def factory(spec, seed, size):  # the first simulator dies at its 3rd step
        made.append(FakeMineDojo(size=size, start={"log": 1}, voxel_size=VOXEL_SIZE,
                                 lidar_rays=LIDAR_RAYS, crash_at=3 if not made else None,
                                 crash_mode=mode))  # fmt: skip
        return made[-1]

    env = MineDojoEnv(size=64, factory=factory, reuse_world=True)
    store, results = _run(tmp_path, env, "place_table", [0, 1])
    first, second = results
    assert not first.success and first.outcome.startswith("aborted: ")
    assert ("RuntimeError" in first.outcome) == (mode == "raise")
    assert second.success  # a fresh simulator was started for the next episode
    assert len(made) == 2 and made[0].closed
    episodes = store.episodes()
    assert [e.outcome.split(":")[0] for e in episodes] == ["aborted", "success"]
    assert any(a.failure_code == "aborted" for a in store.attempts(episodes[0].id))


def test_reset_gives_up_after_its_restarts_with_the_reason():
    def factory(spec, seed, size):
        raise EOFError("Minecraft process finished unexpectedly. There was an error with Malmo.")

    env = MineDojoEnv(factory=factory, restarts=1)
    with pytest.raises(RuntimeError, match="failed 2 times to reset: EOFError"):
        env.reset(seed=0)


@pytest.mark.skipif(importlib.util.find_spec("minedojo") is not None, reason="minedojo installed")
def test_missing_minedojo_names_the_install_steps(tmp_path, capsys):
    env = envs.make("minedojo", max_episode_steps=10)
    with pytest.raises(MineDojoUnavailable) as err:
        env.reset(seed=0)
    for needle in ("JDK 8", "setuptools==65.5.0", "gym==0.21.0", "MINEDOJO_HEADLESS=1",
                   "pip install -e '.[minedojo]'", "validate_minedojo.py"):  # fmt: skip
        assert needle in str(err.value)
    out = tmp_path / "md"
    assert main(["run", "--config", "configs/run/minedojo.yaml", "--out", str(out)]) == 2
    assert "JDK 8" in capsys.readouterr().err and not out.exists()


def test_suite_maps_all_eleven_tasks_with_crafter_verifiers():
    crafter = load_tasks("configs/tasks/crafter.yaml")
    assert list(TASKS) == list(crafter)
    for task_id, task in TASKS.items():
        assert (
            task.verifier == crafter[task_id].verifier
            and task.category == crafter[task_id].category
        )
        assert task.env["task_id"] in ("harvest", "combat")
