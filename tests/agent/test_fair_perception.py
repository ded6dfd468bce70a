"""No tier reads the world beyond the player's visible window: scrambling every cell of
Crafter's world map outside that window, every step, changes no action of the fair slow
tier, of the guard, or of the fast tier. The all-seeing oracle, by contrast, is fooled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest

from agent.loop.build import make_runner
from agent.loop.config import load_config
from agent.slow.recipe_planner import RecipePlanner
from envs.map_memory import VIEW, MapMemoryWrapper
from envs.tasks import load_tasks
from memory.labels import UNSEEN
from memory.store import ExperienceStore

TASKS = load_tasks()
N_MATERIALS = 19


class ScrambleOutsideView(gymnasium.Wrapper):
    """Replaces every cell of ``info["semantic"]`` outside the visible window with a random
    material, anew each step (an agent that reads them acts differently)."""

    def __init__(self, env: gymnasium.Env, seed: int = 0):
        super().__init__(env)
        self.rng = np.random.default_rng(seed)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        return obs, self._scramble(info)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._scramble(info)

    def _scramble(self, info: dict[str, Any]) -> dict[str, Any]:
        real = info["semantic"]
        fake = self.rng.integers(1, N_MATERIALS, size=real.shape).astype(real.dtype)
        px, py = (int(v) for v in info["player_pos"])
        window = (
            slice(max(px - VIEW[0], 0), px + VIEW[0] + 1),
            slice(max(py - VIEW[1], 0), py + VIEW[1] + 1),
        )
        fake[window] = real[window]
        return {**info, "semantic": fake}


class Actions(gymnasium.Wrapper):
    """Records the actions taken."""

    def __init__(self, env: gymnasium.Env):
        super().__init__(env)
        self.taken: list[int] = []

    def step(self, action: Any) -> Any:
        self.taken.append(int(action))
        return self.env.step(action)


def _play(
    tmp_path: Path, overrides: list[str], scramble: bool, jobs, sees: str, teacher: str = "memory"
) -> list[int]:
    cfg = load_config(
        "configs/run/default.yaml",
        [*overrides, f"controller.sees={sees}", f"runner.teacher_sees={teacher}"],
    )
    fast = None
    if cfg.fast.dir:
        from agent.loop.build import make_fast

        fast = make_fast(cfg)
    taken: list[int] = []
    with ExperienceStore(tmp_path / f"s{scramble}{sees}{teacher}.sqlite") as store:
        run = store.start_run("t", {})
        for task_id, seed in jobs:
            task = TASKS[task_id]
            env: gymnasium.Env = gymnasium.make("peam/Crafter-v0", max_episode_steps=task.budget)
            if scramble:
                env = ScrambleOutsideView(env, seed)
            recorder = Actions(
                MapMemoryWrapper(env, keep_world=sees == "world", teacher_world=teacher == "world")
            )
            runner = make_runner(cfg, recorder, RecipePlanner(), store, run, fast)
            runner.run_episode(task, seed)
            taken += [-1, *recorder.taken]  # -1 marks an episode boundary
    return taken


JOBS = [
    ("collect_coal", 4),
    ("make_stone_pickaxe", 5),
    ("defeat_zombie", 0),
    ("make_iron_pickaxe", 2),
]


def test_the_fair_slow_tier_ignores_everything_outside_the_view(tmp_path):
    plain = _play(tmp_path, [], scramble=False, jobs=JOBS, sees="memory")
    scrambled = _play(tmp_path, [], scramble=True, jobs=JOBS, sees="memory")
    assert len(plain) > 200
    assert plain == scrambled


def test_the_all_seeing_oracle_is_fooled_by_the_scrambled_world(tmp_path):
    jobs = JOBS[:2]
    plain = _play(tmp_path, [], scramble=False, jobs=jobs, sees="world")
    scrambled = _play(tmp_path, [], scramble=True, jobs=jobs, sees="world")
    assert plain != scrambled  # the check above can see a tier that reads the world


@pytest.mark.slow
def test_the_fast_tier_and_the_guard_ignore_everything_outside_the_view(tmp_path, fast_dir):
    sets = [f"fast.dir={fast_dir}", "runner.guard=true", "runner.stall_steps=30"]
    jobs = [("place_table", 1), ("collect_wood_4", 2), ("make_wood_pickaxe", 0)]
    plain = _play(tmp_path, sets, scramble=False, jobs=jobs, sees="memory")
    scrambled = _play(tmp_path, sets, scramble=True, jobs=jobs, sees="memory")
    assert len(plain) > 50
    assert plain == scrambled


def _labels(store_path: Path) -> list[tuple[str, int, int | None]]:
    with ExperienceStore(store_path) as store:
        return [
            (s.actor, s.action, s.label)
            for e in store.episodes()
            for s in store.steps(e.id, frames=False)
        ]


def test_a_privileged_teacher_labels_from_the_world_and_the_agent_still_acts_on_its_memory(
    tmp_path,
):
    jobs = [("collect_iron", 3)]
    plain = _play(tmp_path, [], scramble=False, jobs=jobs, sees="memory", teacher="world")
    scrambled = _play(tmp_path, [], scramble=True, jobs=jobs, sees="memory", teacher="world")
    fair = _play(tmp_path, [], scramble=False, jobs=jobs, sees="memory")
    assert len(plain) > 100
    assert plain == scrambled == fair  # the teacher never acts: the agent plays as before
    world = _labels(tmp_path / "sFalsememoryworld.sqlite")
    fooled = _labels(tmp_path / "sTruememoryworld.sqlite")
    own = _labels(tmp_path / "sFalsememorymemory.sqlite")
    assert [w[2] for w in world] != [f[2] for f in fooled]  # the labels read the world
    flagged = [(a, label) for actor, a, label in world if label and label & UNSEEN]
    assert flagged, "exploring for iron, the world's teacher walks where the memory has no iron"
    for action, label in flagged:  # the slow tier acted fair: never on a flagged label
        assert not (label >> action) & 1
    for (_, _, w), (_, _, o) in zip(world, own, strict=True):
        if w is not None and o is not None and not w & UNSEEN:
            assert w & o  # unflagged: it shares an action with the fair controller's label
