"""faiss retrieval memory: exact recall, persistence, incremental growth, the retrieval agent."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from agent.fast.retrieval_executor import RetrievalExecutor
from agent.loop.config import RunnerConfig
from agent.loop.runner import EpisodeRunner
from agent.slow.controller import DeliberateController
from agent.slow.recipe_planner import RecipePlanner
from envs.tasks import load_tasks
from memory.config import RetrievalConfig
from memory.retrieval import RetrievalMemory
from memory.store import ExperienceStore
from memory.transitions import load_transitions
from tests.conftest import HashEmbedder


def _memory(slow_store, kind="flat", k=1):
    data = load_transitions([slow_store])
    text = HashEmbedder().embed(data.texts)[data.text_ids]
    dim = 3 * 8 * 8 + data.states.shape[1] + text.shape[1]
    memory = RetrievalMemory(dim, RetrievalConfig(kind=kind, k=k))
    half = len(data) // 2
    memory.add(data.frames[:half], data.states[:half], text[:half], data.actions[:half])
    memory.add(data.frames[half:], data.states[half:], text[half:], data.actions[half:])
    return memory, data, text


def test_exact_index_recalls_every_stored_action_and_round_trips(slow_store, tmp_path):
    memory, data, text = _memory(slow_store)
    assert len(memory) == len(data)
    got = memory.act(data.frames, data.states, text, 17)
    keys = memory.keys(data.frames, data.states, text)
    unique = len({k.tobytes() for k in keys}) == len(keys)
    if unique:  # duplicate keys may carry different actions; otherwise recall is exact
        assert (got == data.actions).all()
    assert (got == data.actions).mean() > 0.95
    memory.save(tmp_path / "mem")
    again = RetrievalMemory.load(tmp_path / "mem")
    assert (again.act(data.frames, data.states, text, 17) == got).all()
    assert again.nbytes() == memory.nbytes() > keys.nbytes


def test_hnsw_and_ivf_indexes_and_their_errors(slow_store):
    memory, data, text = _memory(slow_store, kind="hnsw", k=3)
    assert (memory.act(data.frames, data.states, text, 17) == data.actions).mean() > 0.5
    with pytest.raises(ValueError, match="needs >= 64 steps"):
        RetrievalMemory(10, RetrievalConfig(kind="ivf")).add(
            np.zeros((3, 64, 64, 3), np.uint8), np.zeros((3, 2), np.float32),
            np.ones((3, 4), np.float32), np.zeros(3),
        )  # fmt: skip
    with pytest.raises(ValueError, match="valid choices: flat, hnsw, ivf"):
        RetrievalMemory(10, RetrievalConfig(kind="lsh"))
    with pytest.raises(ValueError, match="empty"):
        RetrievalMemory(10).act(np.zeros((1, 64, 64, 3), np.uint8), np.zeros((1, 2)),
                                np.ones((1, 4)), 17)  # fmt: skip


def test_retrieval_agent_acts_in_the_runner_as_the_fast_tier(slow_store, tmp_path):
    memory, _, _ = _memory(slow_store, k=1)
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
    from envs.schema import state_vector
    from memory.records import Subgoal

    memory, data, text = _memory(slow_store, k=8)
    votes = memory.votes(data.frames[:50], data.states[:50], text[:50], 17)
    assert (votes.sum(axis=1) == 8).all()
    majority = memory.act(data.frames[:50], data.states[:50], text[:50], 17)
    assert (votes[np.arange(50), majority] == votes.max(axis=1)).all()
    obs = {"rgb": data.frames[0], "inventory": np.zeros(12, np.int32),
           "status": np.full(4, 9.0, np.float32)}  # fmt: skip
    subgoal = Subgoal("collect", "wood", 1)

    def run(seed):
        ex = RetrievalExecutor(memory, HashEmbedder(), sample=True, seed=seed)
        ex.begin(subgoal)
        return [ex.act(obs, {"last_action": -1}).action for _ in range(40)]

    key_text = HashEmbedder().embed([subgoal.text])
    allowed = memory.votes(obs["rgb"][None], state_vector(obs, -1)[None], key_text, 17)[0]
    assert run(0) == run(0) and set(run(0)) <= set(np.flatnonzero(allowed))
    if (allowed > 0).sum() > 1:  # several actions voted: another seed samples another sequence
        assert run(0) != run(1)


def test_sync_grows_the_memory_next_to_the_store_one_episode_at_a_time(slow_store, tmp_path):
    import shutil

    from memory.retrieval_sync import sync

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(slow_store, run / "store.sqlite")
    first = sync(run, HashEmbedder())
    assert first["added"] == first["steps"] == len(load_transitions([slow_store]))
    assert first["plans_added"] == first["plans"] == 9
    again = sync(run, HashEmbedder())
    assert again["added"] == 0 and again["steps"] == first["steps"] and again["plans_added"] == 0
    with ExperienceStore(run / "store.sqlite") as store:  # one more episode arrives
        runner = EpisodeRunner(
            envs.make("crafter", max_episode_steps=300), RecipePlanner(), DeliberateController(),
            store, store.start_run("more", {}), "crafter",
        )  # fmt: skip
        runner.run_episode(load_tasks()["collect_wood_4"], 7)
    new = len(load_transitions([run / "store.sqlite"])) - first["steps"]
    grown = sync(run, HashEmbedder())
    assert new > 0 and grown["added"] == new and grown["steps"] == first["steps"] + new
    assert grown["plans_added"] == 1
    assert len(RetrievalMemory.load(run / "retrieval")) == grown["steps"]
