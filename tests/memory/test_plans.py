"""Plan retrieval: successful plans from a store go into the LLM planner's prompt."""

from __future__ import annotations

import pytest

from agent.slow.config import LLMConfig
from agent.slow.llm_planner import LLMPlanner
from envs.tasks import load_tasks
from envs.text import TextView
from memory.plans import PlanMemory
from tests.agent.slow.fake_openai import FakeOpenAI, Reply, plan_json
from tests.conftest import HashEmbedder

VIEW = TextView({}, {"health": 9.0}, (0.0, 0.0, 0.0), {})


def test_plan_memory_grows_once_per_episode_and_round_trips(slow_store, tmp_path):
    memory = PlanMemory(HashEmbedder())
    added = memory.grow(slow_store)
    assert added == 9 and len(memory) == 9  # 3 tasks x 3 seeds, all successful
    assert memory.grow(slow_store) == 0  # incremental: nothing new
    lines = memory.examples("make wood pickaxe: Craft a wooden pickaxe at a table.", k=2)
    assert lines[0].startswith("- make wood pickaxe") and "make wood_pickaxe x1" in lines[0]
    assert len(lines) == 2 and len(set(lines)) == 2
    memory.save(tmp_path / "plans")
    again = PlanMemory.load(tmp_path / "plans", HashEmbedder())
    assert again.examples("make wood pickaxe", k=2) == memory.examples("make wood pickaxe", k=2)
    with pytest.raises(FileNotFoundError, match="build it"):
        PlanMemory.load(tmp_path / "none", HashEmbedder())


def test_llm_planner_prompt_carries_retrieved_plans(slow_store, tmp_path, monkeypatch):
    monkeypatch.setenv("PEAM_TEST_KEY", "k")
    memory = PlanMemory(HashEmbedder())
    memory.grow(slow_store)
    server = FakeOpenAI()
    try:
        server.default = Reply(plan_json([]))
        from memory.records import Subgoal

        server.script = [Reply(plan_json([Subgoal("collect", "wood", 1)]))]
        planner = LLMPlanner(
            LLMConfig(base_url=server.base_url, model="m", api_key_env="PEAM_TEST_KEY",
                      cache=False, plan_examples=1),
            plan_memory=memory,
        )  # fmt: skip
        planner.plan(load_tasks()["make_wood_pickaxe"], VIEW)
        user = server.requests[0]["body"]["messages"][-1]["content"]
        assert "Past successful plans for similar tasks:" in user
        assert "- make wood pickaxe: " in user and "make wood_pickaxe x1" in user
        planner.close()
    finally:
        server.close()
