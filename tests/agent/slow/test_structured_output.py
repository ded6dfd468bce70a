"""Structured output per server kind: the strongest form the server takes, one step down at a
time when it refuses one, remembered for the planner's life."""

from __future__ import annotations

from typing import Any

import pytest

from agent.slow.config import LLMConfig
from agent.slow.llm_planner import LLMPlanner
from agent.slow.plan_schema import crafter_vocabulary, json_schema
from envs.tasks import load_tasks
from envs.text import TextView
from memory.records import Subgoal

from .fake_openai import FakeOpenAI, Reply, plan_json

TASKS = load_tasks()
VIEW = TextView({}, {"health": 9.0}, (0.0, 0.0, 0.0), {})
GOOD = plan_json([Subgoal("collect", "wood", 2), Subgoal("place", "table", 1)])


def _form(body: dict[str, Any]) -> str:
    fmt = body.get("response_format")
    if fmt is None:
        return "none"
    if fmt["type"] == "json_object" and "schema" in fmt:
        return "json_object_schema"
    return fmt["type"]


def server_taking(*forms: str, refusal: int = 400):
    """A server that answers GOOD in the given forms and refuses the others."""

    def reply(body: dict[str, Any]) -> Reply:
        return Reply(GOOD) if _form(body) in forms else Reply(status=refusal)

    return FakeOpenAI(default=reply)


def _planner(server: FakeOpenAI, **settings: Any) -> LLMPlanner:
    cfg = LLMConfig(base_url=server.base_url, model="m", api_key_env="", cache=False, **settings)
    return LLMPlanner(cfg)


@pytest.mark.parametrize(
    ("kind", "forms", "refusal", "sent"),
    [
        ("openai or vllm", ("json_schema",), 400, ["json_schema"]),
        ("llama.cpp 0.3", ("json_object_schema", "json_object"), 500,
         ["json_schema", "json_object_schema"]),
        ("plain JSON mode", ("json_object",), 422,
         ["json_schema", "json_object_schema", "json_object"]),
        ("no structured output", ("none",), 400,
         ["json_schema", "json_object_schema", "json_object", "none"]),
    ],
)  # fmt: skip
def test_each_server_kind_gets_its_strongest_form(kind, forms, refusal, sent):
    server = server_taking(*forms, refusal=refusal)
    try:
        planner = _planner(server)
        assert planner.plan(TASKS["place_table"], VIEW)[-1] == Subgoal("place", "table", 1)
        assert [_form(r["body"]) for r in server.requests] == sent
        assert planner.last_call.fallback_reason is None
        planner.plan(TASKS["place_table"], VIEW)  # the form is remembered: no refusal again
        assert _form(server.requests[-1]["body"]) == sent[-1]
        assert len(server.requests) == len(sent) + 1
    finally:
        server.close()


def test_the_schema_is_sent_whole():
    server = server_taking("json_schema")
    try:
        _planner(server).plan(TASKS["place_table"], VIEW)
        fmt = server.requests[0]["body"]["response_format"]
        assert fmt["json_schema"]["schema"] == json_schema(crafter_vocabulary())
        assert fmt["json_schema"]["strict"] is True
        items = fmt["json_schema"]["schema"]["properties"]["subgoals"]["items"]
        assert items["properties"]["skill"]["enum"] == ["collect", "place", "make", "defeat"]
    finally:
        server.close()


def test_a_named_form_starts_there():
    server = server_taking("json_object_schema", "json_object")
    try:
        planner = _planner(server, structured="json_object_schema")
        planner.plan(TASKS["place_table"], VIEW)
        assert [_form(r["body"]) for r in server.requests] == ["json_object_schema"]
        assert planner.structured_form == "json_object_schema"
    finally:
        server.close()


def test_after_a_form_worked_a_500_is_retried_not_a_refusal():
    server = FakeOpenAI(script=[Reply(GOOD), Reply(status=500), Reply(GOOD)])
    try:
        planner = _planner(server, backoff_s=0.01)
        planner.plan(TASKS["place_table"], VIEW)
        planner.plan(TASKS["place_table"], VIEW)
        assert [_form(r["body"]) for r in server.requests] == ["json_schema"] * 3
    finally:
        server.close()


def test_an_unknown_form_names_the_valid_ones():
    with pytest.raises(ValueError, match="valid: auto, json_schema, json_object_schema"):
        LLMPlanner(LLMConfig(api_key_env="", structured="xml"))
