"""`peam run` with the LLM planner end to end, against a local OpenAI-protocol server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent.cli import main
from agent.loop.summary import read_episodes
from agent.slow.recipe_planner import RecipePlanner
from envs.tasks import load_tasks
from envs.text import TextView
from memory.records import Subgoal
from memory.store import ExperienceStore
from tests.agent.slow.fake_openai import FakeOpenAI, Reply, plan_json

TASKS = load_tasks()
EMPTY = TextView({}, {}, (0.0, 0.0, 0.0), {})
SECRET = "sk-live-SECRET-0123456789abcdef"


def recipe_llm(body: dict) -> Reply:
    """A stand-in model that answers like the recipe planner would."""
    prompt = body["messages"][-1]["content"]
    failed = re.search(r"The subgoal '(\w+) (\w+) x(\d+)' failed", prompt)
    if failed:
        skill, target, count = failed.groups()
        subgoals = [Subgoal(skill, target, int(count))]
    else:
        task_id = re.search(r"Task: (\w+)", prompt).group(1)
        subgoals = RecipePlanner().plan(TASKS[task_id], EMPTY)
    content = plan_json(subgoals)
    return Reply(content, prompt_tokens=len(prompt) // 4, completion_tokens=len(content) // 4)


@pytest.fixture
def server():
    fake = FakeOpenAI(default=recipe_llm)
    yield fake
    fake.close()


def _run(server: FakeOpenAI, out: Path, tasks: list[str], *extra: str) -> int:
    args = [
        "run",
        "--out",
        str(out),
        "--seeds",
        "1-2",
        "--quiet",
        "--set",
        "planner=llm",
        "--set",
        f"llm.base_url={server.base_url}",
        "--set",
        "llm.api_key_env=PEAM_SECRET",
        "--set",
        "llm.model=fake-recipe-model",
        "--set",
        "llm.backoff_s=0.01",
        *extra,
    ]
    for t in tasks:
        args += ["--task", t]
    return main(args)


def test_llm_planner_solves_craft_tasks_and_tokens_match(server, tmp_path, monkeypatch):
    monkeypatch.setenv("PEAM_SECRET", SECRET)
    craft = [t.id for t in TASKS.values() if t.category == "craft"]
    out = tmp_path / "llm"
    assert _run(server, out, craft) == 0
    summary = json.loads((out / "summary.json").read_text())
    for task_id in craft:
        assert summary["tasks"][task_id]["success_rate"] == 1.0, task_id
    served = [r for r in server.served if r.status == 200]
    assert sum(r.prompt_tokens for r in served) == sum(
        row["prompt_tokens"] for row in summary["tasks"].values()
    )
    assert sum(r.completion_tokens for r in served) == sum(
        e["completion_tokens"] for e in read_episodes(out)
    )
    store = ExperienceStore(out / "store.sqlite")
    calls = store.planner_calls()
    assert calls and all(c["planner"] == "llm" and c["fallback_reason"] is None for c in calls)

    # The key went to the server, and never into any file of the run folder.
    assert any(SECRET in str(r["headers"]) for r in server.requests)
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_rerun_hits_the_cache_and_no_cache_bypasses_it(server, tmp_path, monkeypatch):
    monkeypatch.setenv("PEAM_SECRET", SECRET)
    out = tmp_path / "cached"
    assert _run(server, out, ["place_table"]) == 0
    first = len(server.requests)
    again = tmp_path / "again"
    assert (
        _run(server, again, ["place_table"], "--set", f"llm.cache_path={out}/llm_cache.sqlite") == 0
    )
    assert len(server.requests) == first
    summary = json.loads((again / "summary.json").read_text())
    assert summary["tasks"]["place_table"]["prompt_tokens"] == 0
    assert all(c["cached"] for c in ExperienceStore(again / "store.sqlite").planner_calls())
    fresh = tmp_path / "fresh"
    assert _run(server, fresh, ["place_table"], "--no-cache") == 0
    assert len(server.requests) == 2 * first


def test_dead_endpoint_never_kills_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PEAM_SECRET", SECRET)
    dead = FakeOpenAI(default=Reply(status=500))
    try:
        out = tmp_path / "dead"
        assert _run(dead, out, ["make_wood_pickaxe"], "--set", "llm.max_retries=1") == 0
    finally:
        dead.close()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tasks"]["make_wood_pickaxe"]["success_rate"] == 1.0
    calls = ExperienceStore(out / "store.sqlite").planner_calls()
    assert calls and all("InternalServerError" in c["fallback_reason"] for c in calls)


def test_missing_key_is_exit_2_before_anything_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PEAM_SECRET", raising=False)
    out = tmp_path / "nokey"
    assert (
        main(
            [
                "run",
                "--out",
                str(out),
                "--task",
                "place_table",
                "--quiet",
                "--set",
                "planner=llm",
                "--set",
                "llm.api_key_env=PEAM_SECRET",
            ]
        )
        == 2
    )
    assert "PEAM_SECRET is not set" in capsys.readouterr().err
    assert not out.exists()
