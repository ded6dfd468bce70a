"""faiss retrieval memory: keys from the map-memory features, exact recall of the teacher's
actions, persistence, incremental growth, the retrieval agent."""

from __future__ import annotations

import json

import numpy as np
import pytest

import envs
from agent.fast.retrieval_executor import RetrievalExecutor
from agent.loop.config import RunnerConfig
from agent.loop.runner import EpisodeRunner
from agent.slow.controller import DeliberateController
from agent.slow.recipe_planner import RecipePlanner
from envs.crafter_env import ACTIONS
from envs.features import CROP, N_MATERIALS, OUTSIDE, Features, features
from envs.goal import GOAL_VECTOR_DIM, with_goal
from envs.tasks import load_tasks
from memory.config import RetrievalConfig
from memory.retrieval import (
    FORMAT,
    META,
    RetrievalMemory,
    key_dim,
    observation_dim,
    observation_key,
    teacher_targets,
)
from memory.store import ExperienceStore
from memory.transitions import load_transitions
from tests.conftest import HashEmbedder


def _memory(slow_store, kind="flat", k=1):
    data = load_transitions([slow_store])
    text = HashEmbedder().embed(data.texts)[data.text_ids]
    targets = teacher_targets(data.actions, data.labels)
    memory = RetrievalMemory(key_dim(text.shape[1]), RetrievalConfig(kind=kind, k=k))
    half = len(data) // 2
    memory.add(data.grids[:half], data.vectors[:half], text[:half], targets[:half])
    memory.add(data.grids[half:], data.vectors[half:], text[half:], targets[half:])
    return memory, data, text, targets


def _synthetic(n: int, seed: int = 0) -> Features:
    """``n`` random feature rows, batched: (n, 2, CROP, CROP) grids and (n, GOAL_VECTOR_DIM)
    vectors."""
    rng = np.random.default_rng(seed)
    grid = np.stack([rng.integers(0, N_MATERIALS, (n, CROP, CROP)),
                     rng.integers(0, 256, (n, CROP, CROP))], axis=1).astype(np.uint8)  # fmt: skip
    return Features(grid, rng.uniform(-1, 1, (n, GOAL_VECTOR_DIM)).astype(np.float32))


def test_keys_are_small_deterministic_and_see_the_crop_and_the_vector():
    f = _synthetic(4)
    text = np.ones((4, 8), np.float32)
    memory = RetrievalMemory(key_dim(8))
    keys = memory.keys(f.grid, f.vector, text)
    assert keys.shape == (4, observation_dim() + 8) and observation_dim() < 800
    assert (keys == memory.keys(f.grid.copy(), f.vector.copy(), text)).all()
    obs = observation_key(f.grid, f.vector)
    assert np.allclose(np.linalg.norm(obs, axis=1), 1.0, atol=1e-5)
    centre = f.grid.copy()
    centre[:, 0, CROP // 2, CROP // 2 + 1] = OUTSIDE  # the cell next to the player
    assert not np.allclose(observation_key(centre, f.vector)[0], obs[0])
    far = f.grid.copy()
    far[:, 0, 0, 0] = (far[:, 0, 0, 0] + 1) % N_MATERIALS  # one cell at the crop's corner
    assert not np.allclose(observation_key(far, f.vector)[0], obs[0])
    age = f.grid.copy()
    age[:, 1] = 0  # how long ago cells were seen is not part of the key
    assert (observation_key(age, f.vector) == obs).all()
    assert not np.allclose(observation_key(f.grid, -f.vector)[0], obs[0])
    with pytest.raises(ValueError, match="map-memory crops"):
        memory.keys(np.zeros((1, 64, 64, 3), np.uint8), f.vector[:1], text[:1])
    with pytest.raises(ValueError, match="key_dim"):
        RetrievalMemory(10).keys(f.grid, f.vector, text)


def test_teacher_targets_keep_agreeing_actions_and_replace_the_others():
    actions = np.array([3, 3, 0, 5])
    labels = np.array([1 << 3, (1 << 2) | (1 << 7), 1, (1 << 16) | (1 << 9)])
    assert teacher_targets(actions, labels).tolist() == [3, 2, 0, 9]
    with pytest.raises(ValueError, match="without a teacher label"):
        teacher_targets(np.array([1]), np.array([0]))


def test_exact_index_recalls_every_stored_target_and_round_trips(slow_store, tmp_path):
    memory, data, text, targets = _memory(slow_store)
    assert len(memory) == len(data)
    assert ((data.labels >> targets) & 1).all()  # every stored action is one the teacher rates best
    got = memory.act(data.grids, data.vectors, text, 17)
    keys = memory.keys(data.grids, data.vectors, text)
    unique = len({k.tobytes() for k in keys}) == len(keys)
    if unique:  # duplicate keys may carry different actions; otherwise recall is exact
        assert (got == targets).all()
    assert (got == targets).mean() > 0.95
    memory.save(tmp_path / "mem")
    again = RetrievalMemory.load(tmp_path / "mem")
    assert (again.act(data.grids, data.vectors, text, 17) == got).all()
    assert again.nbytes() == memory.nbytes() > keys.nbytes
    meta = json.loads((tmp_path / "mem" / META).read_text())
    assert meta["format"] == FORMAT
    del meta["format"]  # a memory from before the features: keyed on the rgb frame
    (tmp_path / "mem" / META).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="rebuild it with `peam memory`"):
        RetrievalMemory.load(tmp_path / "mem")


def test_identical_synthetic_keys_return_their_stored_action():
    f = _synthetic(40, seed=1)
    text = HashEmbedder(16).embed(["collect wood"] * 20 + ["place table"] * 20)
    actions = np.arange(40) % 17
    memory = RetrievalMemory(key_dim(16), RetrievalConfig(k=1))
    memory.add(f.grid, f.vector, text, actions)
    assert (memory.act(f.grid, f.vector, text, 17) == actions).all()
    swapped = text[::-1].copy()  # same observations, the other subgoal: text_weight separates them
    weighted = RetrievalMemory(key_dim(16), RetrievalConfig(k=1, text_weight=10.0))
    weighted.add(f.grid, f.vector, text, actions)
    same = weighted.act(f.grid, f.vector, swapped, 17)
    assert (same[:20] >= 0).all() and not (same == actions).all()


def test_hnsw_and_ivf_indexes_and_their_errors(slow_store):
    memory, data, text, targets = _memory(slow_store, kind="hnsw", k=3)
    assert (memory.act(data.grids, data.vectors, text, 17) == targets).mean() > 0.5
    f = _synthetic(3)
    with pytest.raises(ValueError, match="needs >= 64 steps"):
        RetrievalMemory(key_dim(4), RetrievalConfig(kind="ivf")).add(
            f.grid, f.vector, np.ones((3, 4), np.float32), np.zeros(3)
        )
    big = _synthetic(64)
    ivf = RetrievalMemory(key_dim(4), RetrievalConfig(kind="ivf", ivf_lists=4, k=1))
    ivf.add(big.grid, big.vector, np.ones((64, 4), np.float32), np.arange(64) % 17)
    assert len(ivf) == 64
    with pytest.raises(ValueError, match="valid choices: flat, hnsw, ivf"):
        RetrievalMemory(10, RetrievalConfig(kind="lsh"))
    with pytest.raises(ValueError, match=r"blocks must be in 1\.\.17"):
        RetrievalMemory(10, RetrievalConfig(blocks=0))
    with pytest.raises(ValueError, match="empty"):
        RetrievalMemory(key_dim(4)).act(f.grid[:1], f.vector[:1], np.ones((1, 4)), 17)


def test_retrieval_agent_acts_in_the_runner_as_the_fast_tier(slow_store, tmp_path):
    memory, _, _, _ = _memory(slow_store, k=1)
    store = ExperienceStore(tmp_path / "r.sqlite")
    run = store.start_run("retrieval", {})
    runner = EpisodeRunner(
        envs.make("crafter", max_episode_steps=300), RecipePlanner(), DeliberateController(),
        store, run, "crafter", RunnerConfig(guard=False, handoff=False),
        fast=RetrievalExecutor(memory, HashEmbedder()),
    )  # fmt: skip
    result = runner.run_episode(load_tasks()["place_table"], 0)  # a seed it has memories of
    assert {a.tier for a in store.attempts()} == {"fast"}
    assert result.success  # on a seed it has seen, the vote replays what worked


def test_sampled_votes_follow_the_neighbours_and_the_seed(slow_store):
    from memory.records import Subgoal

    memory, data, text, _ = _memory(slow_store, k=8)
    votes = memory.votes(data.grids[:50], data.vectors[:50], text[:50], 17)
    assert (votes.sum(axis=1) == 8).all()
    majority = memory.act(data.grids[:50], data.vectors[:50], text[:50], 17)
    assert (votes[np.arange(50), majority] == votes.max(axis=1)).all()
    env = envs.make("crafter")
    obs, info = env.reset(seed=0)  # the first step of an episode the memory has seen
    subgoal = Subgoal("collect", "wood", 1)

    def run(seed, key=(0, 0)):
        ex = RetrievalExecutor(memory, HashEmbedder(), sample=True, seed=seed)
        ex.begin(subgoal, key)
        return [ex.act(obs, info).action for _ in range(40)]

    f = features(obs, info)
    key_text = HashEmbedder().embed([subgoal.text])
    vector = with_goal(f.vector[None], [("collect", "wood")])
    allowed = memory.votes(f.grid[None], vector, key_text, 17)[0]
    assert run(0) == run(0) and set(run(0)) <= set(np.flatnonzero(allowed))
    assert run(0, (3, 1)) == run(0, (3, 1)) and set(run(0, (3, 1))) <= set(np.flatnonzero(allowed))
    if (allowed > 0).sum() > 1:  # several actions voted: another seed or key samples anew
        assert run(0) != run(1)
        assert run(0, (3, 1)) != run(0, (3, 2))


def test_sync_grows_the_memory_next_to_the_store_one_episode_at_a_time(slow_store, tmp_path):
    import shutil

    from memory.retrieval_sync import sync

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(slow_store, run / "store.sqlite")
    verified = load_transitions([slow_store], keep=lambda a: bool(a.success))
    first = sync(run, HashEmbedder())
    assert first["added"] == first["steps"] == len(verified)
    assert first["plans_added"] == first["plans"] == 9
    memory = RetrievalMemory.load(run / "retrieval")
    assert memory.dim == key_dim(HashEmbedder().dim)
    assert (memory.actions == teacher_targets(verified.actions, verified.labels)).all()
    again = sync(run, HashEmbedder())
    assert again["added"] == 0 and again["steps"] == first["steps"] and again["plans_added"] == 0
    with ExperienceStore(run / "store.sqlite") as store:  # one more episode arrives
        runner = EpisodeRunner(
            envs.make("crafter", max_episode_steps=300), RecipePlanner(), DeliberateController(),
            store, store.start_run("more", {}), "crafter",
        )  # fmt: skip
        runner.run_episode(load_tasks()["collect_wood_4"], 7)
    new = len(load_transitions([run / "store.sqlite"], keep=lambda a: bool(a.success)))
    new -= first["steps"]
    grown = sync(run, HashEmbedder())
    assert new > 0 and grown["added"] == new and grown["steps"] == first["steps"] + new
    assert grown["plans_added"] == 1
    assert len(RetrievalMemory.load(run / "retrieval")) == grown["steps"]


def test_banned_actions_lose_their_votes():
    f = _synthetic(40, seed=1)
    text = HashEmbedder(16).embed(["collect wood"] * 40)
    actions = np.arange(40) % 17
    memory = RetrievalMemory(key_dim(16), RetrievalConfig(k=3))
    memory.add(f.grid, f.vector, text, actions)
    free = memory.act(f.grid[:5], f.vector[:5], text[:5], 17)
    banned = memory.act(f.grid[:5], f.vector[:5], text[:5], 17, [[int(a)] for a in free])
    assert not (banned == free).any()
    every = [list(range(17))] * 5  # nothing left to choose: noop
    assert (memory.act(f.grid[:5], f.vector[:5], text[:5], 17, every) == 0).all()


class _Favours:
    """A fake memory whose every neighbour took ``action``, and one moved left."""

    def __init__(self, action: str):
        self.action = ACTIONS.index(action)

    def votes(self, grid, vector, text, n_actions):
        out = np.zeros((len(grid), n_actions))
        out[:, self.action] = 9.0
        out[:, ACTIONS.index("move_left")] = 1.0
        return out

    def act(self, grid, vector, text, n_actions, banned=()):
        votes = self.votes(grid, vector, text, n_actions)
        for i, ban in enumerate(banned):
            votes[i, list(ban)] = -1.0
        return votes.argmax(axis=1)


def test_the_retrieval_agent_places_a_furnace_only_beside_a_table_as_the_fast_tier():
    from memory.records import Subgoal

    furnaces = _Favours("place_furnace")
    env = envs.make("crafter")
    env.reset(seed=3)
    world, (x, y) = env.unwrapped._env._world, env.unwrapped._env._player.pos
    world[x + 3, y] = "table"  # in view, not beside the player
    obs, *_, info = env.step(0)
    subgoal = Subgoal("place", "furnace", 1)
    for sample in (False, True):
        ex = RetrievalExecutor(furnaces, HashEmbedder(), sample=sample)  # type: ignore[arg-type]
        ex.begin(subgoal)
        assert {ex.act(obs, info).action for _ in range(20)} == {ACTIONS.index("move_left")}
    world[x - 1, y] = "table"  # and one beside: the furnace may go here
    obs, *_, info = env.step(0)
    ex = RetrievalExecutor(furnaces, HashEmbedder())  # type: ignore[arg-type]
    ex.begin(subgoal)
    assert ex.act(obs, info).action == ACTIONS.index("place_furnace")


def test_the_retrieval_agent_keeps_to_the_fast_tiers_rule_on_futile_crafts():
    """With ``fast.futile_crafts`` neither memory makes a pickaxe two cells from the table."""
    from memory.records import Subgoal

    env = envs.make("crafter")
    env.reset(seed=3)
    world, player = env.unwrapped._env._world, env.unwrapped._env._player
    x, y = player.pos
    world[x + 2, y] = "table"  # in view, out of crafting reach
    player.inventory["wood"] = 1
    obs, *_, info = env.step(0)
    subgoal, make = Subgoal("make", "wood_pickaxe", 1), ACTIONS.index("make_wood_pickaxe")
    for futile, sample, actions in (
        (False, False, {make}),  # the majority, as before the rule
        (True, False, {ACTIONS.index("move_left")}),
        (True, True, {ACTIONS.index("move_left")}),  # sampled: never the make either
    ):
        memory = _Favours("make_wood_pickaxe")
        ex = RetrievalExecutor(memory, HashEmbedder(), sample=sample, futile=futile)  # type: ignore[arg-type]
        ex.begin(subgoal)
        assert {ex.act(obs, info).action for _ in range(20)} == actions
