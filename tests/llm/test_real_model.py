"""A few checks against a real local model (`make llm`, then `make test-llm`); each skips,
naming `make llm`, when no server answers. Not part of `make test`."""

from __future__ import annotations

import json
import os
import urllib.request

import pytest

from agent.slow.config import LLMConfig
from agent.slow.llm_planner import LLMPlanner
from agent.slow.plan_critic import check, goal_of
from envs.tasks import load_tasks
from envs.text import TextView

pytestmark = pytest.mark.llm
URL = os.environ.get("PEAM_LLM_URL", "http://127.0.0.1:8088/v1")
TASKS = load_tasks()
EMPTY = TextView({}, {"health": 9.0, "food": 9.0, "drink": 9.0, "energy": 9.0}, (0.0, 0.0, 0.0))


@pytest.fixture(scope="module")
def model() -> str:
    try:
        with urllib.request.urlopen(f"{URL}/models", timeout=5) as r:
            return json.load(r)["data"][0]["id"]
    except OSError:
        pytest.skip(f"no LLM server answers at {URL}: start one with `make llm`")


def _planner(model: str, tmp_path, **settings) -> LLMPlanner:
    cfg = LLMConfig(base_url=URL, model=model, api_key_env="", timeout_s=300, max_retries=1,
                    cache_path=str(tmp_path / "cache.sqlite"), **settings)  # fmt: skip
    return LLMPlanner(cfg)


def test_structured_answers_parse_and_tokens_are_counted(model, tmp_path):
    planner = _planner(model, tmp_path, structured="json_object_schema", critic=False)
    for task_id in ("make_wood_pickaxe", "collect_coal"):
        plan = planner.plan(TASKS[task_id], EMPTY)
        stats = planner.last_call
        assert stats.fallback_reason is None, stats.fallback_reason  # it parsed
        assert stats.requests == 1 and stats.prompt_tokens > 100 and stats.completion_tokens > 5
        assert stats.model_subgoals == len(plan) >= 1


def test_auto_finds_the_form_llama_cpp_takes(model, tmp_path):
    planner = _planner(model, tmp_path, structured="auto", critic=False)
    planner.plan(TASKS["place_table"], EMPTY)
    assert planner.structured_form in ("json_schema", "json_object_schema")
    assert planner.last_call.fallback_reason is None


def test_the_ladder_ends_in_a_plan_the_rules_accept(model, tmp_path):
    planner = _planner(model, tmp_path, structured="json_object_schema")
    task = TASKS["make_stone_pickaxe"]
    plan = planner.plan(task, EMPTY)
    assert check(plan, EMPTY, goal_of(task)) == []
    assert planner.last_call.requests <= 2
