"""The LLM planner against a scripted OpenAI-protocol server, through the real `openai` client."""

from __future__ import annotations

import json
import time

import pytest

from agent.slow.config import LLMConfig, MissingAPIKeyError
from agent.slow.llm_planner import LLMPlanner
from agent.slow.recipe_planner import RecipePlanner
from envs.tasks import load_tasks
from envs.text import Sighting, TextView
from memory.records import Failure, Subgoal

from .fake_openai import FakeOpenAI, Reply, plan_json

TASKS = load_tasks()
VIEW = TextView({}, {"health": 9.0}, (0.0, 0.0, 0.0), {})
GOOD = [Subgoal("collect", "wood", 2), Subgoal("place", "table", 1)]


@pytest.fixture
def server():
    fake = FakeOpenAI()
    yield fake
    fake.close()


def _planner(server: FakeOpenAI, tmp_path, **overrides) -> LLMPlanner:
    settings = {
        "base_url": server.base_url,
        "model": "test-model",
        "api_key_env": "PEAM_TEST_KEY",
        "timeout_s": 0.5,
        "max_retries": 2,
        "backoff_s": 0.01,
        "repair_rounds": 1,
        "cache_path": str(tmp_path / "cache.sqlite"),
    }
    return LLMPlanner(LLMConfig(**{**settings, **overrides}))


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("PEAM_TEST_KEY", "sk-test-key-123")


def test_valid_plan(server, tmp_path):
    server.script = [Reply(plan_json(GOOD), prompt_tokens=321, completion_tokens=45)]
    planner = _planner(server, tmp_path)
    assert planner.plan(TASKS["place_table"], VIEW) == GOOD
    stats = planner.last_call
    assert (stats.prompt_tokens, stats.completion_tokens, stats.cached) == (321, 45, False)
    assert stats.fallback_reason is None
    request = server.requests[0]
    assert {k.lower(): v for k, v in request["headers"].items()}[
        "authorization"
    ] == "Bearer sk-test-key-123"
    user = request["body"]["messages"][-1]["content"]
    assert "place_table" in user and "inventory: empty" in user and "health=9" in user
    assert "collect (category gather)" in request["body"]["messages"][0]["content"]


def test_malformed_json_is_repaired(server, tmp_path):
    server.script = [Reply("sure! {subgoals: [oops"), Reply(f"```json\n{plan_json(GOOD)}\n```")]
    planner = _planner(server, tmp_path)
    assert planner.plan(TASKS["place_table"], VIEW) == GOOD
    repair = server.requests[1]["body"]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "sure! {subgoals: [oops"}
    assert "not valid JSON" in repair[-1]["content"]
    assert planner.last_call.prompt_tokens == 200 and planner.last_call.fallback_reason is None


def test_malformed_twice_falls_back_to_recipes(server, tmp_path):
    server.default = Reply("no idea")
    planner = _planner(server, tmp_path)
    plan = planner.plan(TASKS["place_table"], VIEW)
    assert plan == RecipePlanner().plan(TASKS["place_table"], VIEW)
    assert "invalid_plan after 1 repair round(s)" in planner.last_call.fallback_reason
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            {"skill": "teleport", "target": "table", "count": 1, "category": "craft"},
            "unknown skill",
        ),
        ({"skill": "collect", "target": "wood", "count": 1, "category": "magic"}, "does not match"),
        (
            {"skill": "make", "target": "diamond_hoe", "count": 1, "category": "craft"},
            "unknown target",
        ),
    ],
)
def test_unknown_skill_category_or_target_is_rejected_then_repaired(server, tmp_path, bad, message):
    server.script = [Reply(json.dumps({"subgoals": [bad]})), Reply(plan_json(GOOD))]
    planner = _planner(server, tmp_path)
    assert planner.plan(TASKS["place_table"], VIEW) == GOOD
    assert message in server.requests[1]["body"]["messages"][-1]["content"]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_are_retried_with_backoff(server, tmp_path, status):
    server.script = [Reply(status=status), Reply(status=status), Reply(plan_json(GOOD))]
    planner = _planner(server, tmp_path)
    assert planner.plan(TASKS["place_table"], VIEW) == GOOD
    assert len(server.requests) == 3 and planner.last_call.fallback_reason is None


def test_persistent_errors_fall_back_and_say_why(server, tmp_path):
    server.default = Reply(status=500)
    planner = _planner(server, tmp_path, structured="none")  # a 500 is not a refused form
    plan = planner.plan(TASKS["make_wood_pickaxe"], VIEW)
    assert plan == RecipePlanner().plan(TASKS["make_wood_pickaxe"], VIEW)
    assert planner.last_call.fallback_reason == "endpoint: InternalServerError after 3 tries"
    assert len(server.requests) == 3  # bounded: 1 try + 2 retries


def test_slow_response_times_out_then_retries(server, tmp_path):
    server.script = [Reply(plan_json(GOOD), delay_s=2.0), Reply(plan_json(GOOD))]
    planner = _planner(server, tmp_path)
    start = time.perf_counter()
    assert planner.plan(TASKS["place_table"], VIEW) == GOOD
    assert time.perf_counter() - start < 1.9
    assert planner.last_call.fallback_reason is None


def test_timeouts_only_fall_back_without_hanging(server, tmp_path):
    server.default = Reply(plan_json(GOOD), delay_s=2.0)
    planner = _planner(server, tmp_path, max_retries=1)
    start = time.perf_counter()
    planner.plan(TASKS["place_table"], VIEW)
    assert time.perf_counter() - start < 3.0
    assert planner.last_call.fallback_reason == "endpoint: APITimeoutError after 2 tries"


def test_unreachable_endpoint_falls_back(tmp_path):
    cfg = LLMConfig(
        base_url="http://127.0.0.1:9/v1",
        api_key_env="",
        max_retries=1,
        backoff_s=0.01,
        timeout_s=0.5,
        cache=False,
    )
    planner = LLMPlanner(cfg)
    assert planner.plan(TASKS["place_table"], VIEW) == RecipePlanner().plan(
        TASKS["place_table"], VIEW
    )
    assert planner.last_call.fallback_reason == "endpoint: APIConnectionError after 2 tries"


def test_cache_makes_a_rerun_free_and_identical(server, tmp_path):
    server.default = Reply(plan_json(GOOD), prompt_tokens=500, completion_tokens=60)
    first = _planner(server, tmp_path).plan(TASKS["place_table"], VIEW)
    again = _planner(server, tmp_path)
    assert again.plan(TASKS["place_table"], VIEW) == first
    assert again.last_call.cached and again.last_call.prompt_tokens == 0
    assert len(server.requests) == 1
    bypass = _planner(server, tmp_path, cache=False)
    bypass.plan(TASKS["place_table"], VIEW)
    assert len(server.requests) == 2 and not bypass.last_call.cached


def test_correction_sees_the_failure(server, tmp_path):
    fixed = [Subgoal("make", "wood_pickaxe", 1), Subgoal("collect", "stone", 1)]
    server.script = [Reply(plan_json(GOOD)), Reply(plan_json(fixed))]
    planner = _planner(server, tmp_path)
    planner.plan(TASKS["place_table"], VIEW)
    at_table = TextView({"wood": 1}, {"health": 9.0}, (0.0, 0.0, 0.0), {"table": Sighting(2, 1, 1)})
    data = {"item": "wood_pickaxe", "count": 1}
    failure = Failure("missing_item", "collecting stone needs 1 wood_pickaxe", at_table, data)
    assert planner.correct(Subgoal("collect", "stone", 1), failure) == fixed
    prompt = server.requests[1]["body"]["messages"][-1]["content"]
    assert "collect stone x1' failed: missing_item: collecting stone needs 1 wood_pickaxe" in prompt
    assert "place_table" in prompt and "Observation when it failed" in prompt
    assert planner.last_call.model_subgoals == 2 and planner.last_call.fallback_reason is None


def test_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("PEAM_TEST_KEY")
    with pytest.raises(MissingAPIKeyError, match="PEAM_TEST_KEY is not set"):
        LLMPlanner(LLMConfig(api_key_env="PEAM_TEST_KEY"))
