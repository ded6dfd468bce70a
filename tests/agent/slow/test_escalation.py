"""The escalation ladder: model answer -> repair with the critic's reasons -> the offline
planner, with bounded model requests, and the store saying which tier planned what."""

from __future__ import annotations

from typing import Any

import pytest

from agent.loop.build import make_runner
from agent.loop.config import RunConfig
from agent.slow.config import LLMConfig
from agent.slow.llm_planner import LLMPlanner
from agent.slow.plan_critic import check, complete
from envs import make as make_env
from envs.tasks import load_tasks
from envs.text import Sighting, TextView
from memory.records import Failure, Subgoal
from memory.store import ExperienceStore

from .fake_openai import FakeOpenAI, Reply, plan_json
from .scripted_models import goal_only, missing_station

TASKS = load_tasks()
EMPTY = TextView({}, {"health": 9.0}, (0.0, 0.0, 0.0), {})
PICKAXE = Subgoal("make", "wood_pickaxe", 1)


@pytest.fixture
def server():
    fake = FakeOpenAI()
    yield fake
    fake.close()


def _planner(server: FakeOpenAI, tmp_path, **settings: Any) -> LLMPlanner:
    cfg = LLMConfig(
        base_url=server.base_url,
        model="m",
        api_key_env="",
        cache_path=str(tmp_path / "cache.sqlite"),
        **settings,
    )
    return LLMPlanner(cfg)


# -- the critic ------------------------------------------------------------------------


def test_the_critic_names_each_missing_prerequisite_and_its_fix():
    problems = check([PICKAXE], EMPTY, PICKAXE)
    assert problems == [
        "make wood_pickaxe needs a table nearby: add place table before it",
        "make wood_pickaxe uses 1 wood and the plan holds 0 there: add collect wood x1 before it",
    ]
    coal = Subgoal("collect", "coal", 1)
    assert check([coal], EMPTY, coal) == [
        "collect coal needs a wood_pickaxe: add make wood_pickaxe before it"
    ]
    table = Subgoal("place", "table", 1)
    assert "place table uses 2 wood" in check([table], EMPTY, table)[0]
    assert check([Subgoal("collect", "wood", 1)], EMPTY, PICKAXE)[-1] == (
        "the plan never reaches the goal 'make wood_pickaxe x1': end it with that"
    )


def test_the_critic_accepts_what_the_view_already_has():
    at_table = TextView({"wood": 1}, {}, (0.0, 0.0, 0.0), {"table": Sighting(3, 1, 2)})
    assert check([PICKAXE], at_table, PICKAXE) == []
    far = TextView({"wood": 1}, {}, (0.0, 0.0, 0.0), {"table": Sighting(30, 20, 10)})
    assert "needs a table nearby" in check([PICKAXE], far, PICKAXE)[0]


def test_a_retry_must_fix_the_cause_of_its_failure():
    at_table = TextView({"wood": 1}, {}, (0.0, 0.0, 0.0), {"table": Sighting(3, 1, 2)})
    failed = {("make", "wood_pickaxe"): Failure("no_station", "no table nearby", at_table,
                                                {"stations": ["table"]})}  # fmt: skip
    assert check([PICKAXE], at_table, PICKAXE, failed) == [
        "'make wood_pickaxe x1' failed before (no table nearby): add place table before retrying it"
    ]
    fixed = [Subgoal("collect", "wood", 3), Subgoal("place", "table", 1), PICKAXE]
    assert check(fixed, at_table, PICKAXE, failed) == []


def test_complete_keeps_the_model_subgoals_and_fills_the_rest():
    plan, by_model = complete([PICKAXE], EMPTY, PICKAXE)
    assert [s.text for s in plan] == ["collect wood x3", "place table x1", "make wood_pickaxe x1"]
    assert by_model == [False, False, True]
    assert check(plan, EMPTY, PICKAXE) == []


# -- the ladder, one call at a time --------------------------------------------------


def test_a_goal_only_answer_is_repaired_then_filled_by_the_offline_planner(server, tmp_path):
    server.default = goal_only
    planner = _planner(server, tmp_path)
    plan = planner.plan(TASKS["make_wood_pickaxe"], EMPTY)
    assert check(plan, EMPTY, PICKAXE) == []
    stats = planner.last_call
    assert stats.requests == 2  # the answer, one repair round with the critic's reasons
    repair = server.requests[1]["body"]["messages"][-1]["content"]
    assert "make wood_pickaxe needs a table nearby: add place table before it" in repair
    assert stats.fallback_reason.startswith("plan_rejected: make wood_pickaxe needs a table")
    assert (stats.model_subgoals, stats.offline_subgoals) == (1, 2)


def test_an_accepted_plan_is_the_model_s_alone(server, tmp_path):
    good = [Subgoal("collect", "wood", 3), Subgoal("place", "table", 1), PICKAXE]
    server.default = Reply(plan_json(good))
    planner = _planner(server, tmp_path)
    assert planner.plan(TASKS["make_wood_pickaxe"], EMPTY) == good
    stats = planner.last_call
    assert (stats.requests, stats.model_subgoals, stats.offline_subgoals) == (1, 3, 0)
    assert stats.fallback_reason is None


def test_repeated_failure_escalates_without_asking(server, tmp_path):
    server.default = goal_only  # a correction only retries the failed subgoal
    planner = _planner(server, tmp_path, escalate_after=2)
    planner.begin_episode(TASKS["make_wood_pickaxe"])
    at_table = TextView({"wood": 1}, {}, (0.0, 0.0, 0.0), {"table": Sighting(3, 1, 2)})
    failure = Failure("no_station", "no table nearby", at_table, {"stations": ["table"]})
    planner.attempt_done(PICKAXE, failure)
    fixed = planner.correct(PICKAXE, failure)
    assert [s.text for s in fixed][-2:] == ["place table x1", "make wood_pickaxe x1"]
    assert planner.last_call.requests == 2
    assert planner.last_call.fallback_reason.startswith("plan_rejected: 'make wood_pickaxe x1'")
    planner.attempt_done(PICKAXE, failure)  # failed again: the offline planner takes it
    asked = len(server.requests)
    fixed = planner.correct(PICKAXE, failure)
    assert len(server.requests) == asked and fixed[-1] == PICKAXE
    assert planner.last_call.fallback_reason == (
        "repeated_failure: 'make wood_pickaxe x1' failed 2 times"
    )


def test_an_execution_failure_is_retried_without_asking(server, tmp_path):
    planner = _planner(server, tmp_path)
    planner.begin_episode(TASKS["collect_wood_4"])
    wood = Subgoal("collect", "wood", 4)
    failure = Failure("stalled", "no progress in 60 steps", EMPTY)
    planner.attempt_done(wood, failure)
    assert planner.correct(wood, failure) == [wood]
    assert not server.requests
    assert planner.last_call.fallback_reason == "execution_failure: stalled"


def test_a_failed_answer_is_not_served_from_the_cache_again(server, tmp_path):
    plan = [Subgoal("collect", "wood", 3), Subgoal("place", "table", 1), PICKAXE]
    server.default = Reply(plan_json(plan))
    planner = _planner(server, tmp_path)
    planner.begin_episode(TASKS["make_wood_pickaxe"])
    planner.plan(TASKS["make_wood_pickaxe"], EMPTY)
    planner.plan(TASKS["make_wood_pickaxe"], EMPTY)
    assert len(server.requests) == 1 and planner.last_call.cached  # same prompt: from cache
    planner.attempt_done(PICKAXE, Failure("budget", "not verified within 400 steps", EMPTY))
    planner.plan(TASKS["make_wood_pickaxe"], EMPTY)
    assert len(server.requests) == 2 and not planner.last_call.cached
    planner.begin_episode(TASKS["make_wood_pickaxe"])  # a new episode may reuse it
    planner.plan(TASKS["make_wood_pickaxe"], EMPTY)
    assert len(server.requests) == 2 and planner.last_call.cached


def test_a_replan_prompt_carries_what_failed_and_how_often(server, tmp_path):
    server.default = goal_only
    planner = _planner(server, tmp_path, escalate_after=9)
    planner.begin_episode(TASKS["collect_coal"])
    coal = Subgoal("collect", "coal", 1)
    failure = Failure("missing_item", "collecting coal needs 1 wood_pickaxe", EMPTY,
                      {"item": "wood_pickaxe", "count": 1})  # fmt: skip
    for _ in range(2):
        planner.attempt_done(coal, failure)
        planner.correct(coal, failure)
    planner.plan(TASKS["collect_coal"], EMPTY)
    prompt = server.requests[-2]["body"]["messages"][1]["content"]
    assert "Tried this episode and failed (fix the cause before retrying):" in prompt
    assert "- collect coal x1: missing_item: collecting coal needs 1 wood_pickaxe (2 times)" in (
        prompt
    )


def test_requests_without_progress_are_bounded(server, tmp_path):
    server.default = Reply("no plan here")
    planner = _planner(server, tmp_path, max_requests_without_progress=5)
    planner.begin_episode(TASKS["place_table"])
    for _ in range(4):
        planner.plan(TASKS["place_table"], EMPTY)
    assert len(server.requests) == 5
    assert planner.last_call.fallback_reason == (
        "no_progress: 5 model requests without a verified subgoal"
    )
    planner.attempt_done(Subgoal("collect", "wood", 2), None)  # progress: the model again
    planner.plan(TASKS["place_table"], EMPTY)
    assert len(server.requests) == 7


# -- whole episodes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "task_id", "seed"),
    [
        (goal_only, "make_wood_pickaxe", 0),
        (goal_only, "collect_coal", 1),
        (missing_station, "make_stone_pickaxe", 2),
    ],
)
def test_episodes_succeed_through_the_ladder(server, tmp_path, model, task_id, seed):
    server.default = model
    task = TASKS[task_id]
    cfg = RunConfig(planner="llm")
    planner = _planner(server, tmp_path)
    with ExperienceStore(tmp_path / "s.sqlite") as store:
        run = store.start_run("t", {})
        env = make_env("crafter", max_episode_steps=task.budget)
        result = make_runner(cfg, env, planner, store, run, None).run_episode(task, seed)
        calls = store.planner_calls(result.episode_id)
        planning = store.planning_by_episode(result.episode_id)[result.episode_id]
    assert result.success, result.outcome
    assert len(server.requests) <= 12
    assert planning["model_requests"] == len(server.requests)
    assert planning["model_subgoals"] >= 1 and planning["offline_subgoals"] >= 1
    assert all(c["fallback_reason"] is None or c["offline_subgoals"] > 0 for c in calls)
    assert calls[0]["fallback_reason"].startswith("plan_rejected")


def test_subgoals_past_the_goal_are_cut_and_not_counted(server, tmp_path):
    extra = [Subgoal("collect", "wood", 4), Subgoal("place", "table", 1), PICKAXE]
    server.default = Reply(plan_json(extra))
    planner = _planner(server, tmp_path)
    assert planner.plan(TASKS["collect_wood_4"], EMPTY) == [Subgoal("collect", "wood", 4)]
    assert planner.last_call.model_subgoals == 1


def test_a_valid_plan_up_to_the_goal_is_accepted_whatever_follows(server, tmp_path):
    # The make after the goal breaks a rule, but it would never run: no repair round.
    server.default = Reply(plan_json([Subgoal("collect", "wood", 4), PICKAXE]))
    planner = _planner(server, tmp_path)
    assert planner.plan(TASKS["collect_wood_4"], EMPTY) == [Subgoal("collect", "wood", 4)]
    assert planner.last_call.requests == 1 and planner.last_call.fallback_reason is None
