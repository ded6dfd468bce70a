"""Consolidated plans skip the LLM: the plan head's confidence gate, training from a store,
and whole episodes that make no model request."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import numpy as np
import pytest

from agent.cli import main
from agent.slow.config import LLMConfig
from agent.slow.llm_planner import LLMPlanner
from agent.slow.plan_critic import PlanState, apply
from agent.slow.plan_head_planner import PlanHeadPlanner, roll_out
from agent.slow.recipe_planner import RecipePlanner
from consolidation.plan_head import PlanExample, plan_examples, train_plan_head
from envs.tasks import load_tasks
from envs.text import TextView
from memory.plan_head import PlanHead
from memory.plans import task_text
from memory.records import Failure, Subgoal

from .fake_openai import FakeOpenAI

TASKS = load_tasks()
EMPTY = TextView({}, {"health": 9.0}, (0.0, 0.0, 0.0), {})
TRAINED = ("place_table", "make_wood_pickaxe", "make_stone_pickaxe")


class HashEmbedder:
    """A stand-in for the text model: a fixed random unit vector per text."""

    def embed(self, texts: list[str]) -> np.ndarray:
        out = []
        for t in texts:
            seed = int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)
            v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
            out.append(v / np.linalg.norm(v))
        return np.stack(out)


def recipe_examples() -> list[PlanExample]:
    """The recipe planner's plans from an empty inventory, as verified sequences."""
    found = []
    for episode, task_id in enumerate(TRAINED, start=1):  # none held out (id % 10 != 0)
        task = TASKS[task_id]
        state = PlanState.of(EMPTY)
        near: set[str] = set()
        for sg in RecipePlanner().plan(task, EMPTY):
            text = task_text(task.id, task.description)
            found.append(PlanExample(text, dict(state.inventory), set(near), sg.text, episode))
            apply(sg, state, {})
            if sg.skill == "place":
                near.add(sg.target)
    return found


@pytest.fixture(scope="module")
def head() -> PlanHead:
    trained, report = train_plan_head(recipe_examples() * 20, HashEmbedder().embed, updates=300)
    assert report["train_accuracy"] == 1.0
    return trained


@pytest.fixture
def server():
    fake = FakeOpenAI()
    yield fake
    fake.close()


def _planner(head: PlanHead, server: FakeOpenAI, threshold: float = 0.9) -> PlanHeadPlanner:
    llm = LLMPlanner(LLMConfig(base_url=server.base_url, model="m", api_key_env="", cache=False))
    return PlanHeadPlanner(head, llm, HashEmbedder(), threshold)


def test_a_confident_head_plans_without_the_llm(head, server):
    planner = _planner(head, server)
    view = TextView({}, {}, (0.0, 0.0, 0.0), {})
    for task_id in TRAINED:
        planner.begin_episode(TASKS[task_id])
        plan = planner.plan(TASKS[task_id], view)
        assert plan == RecipePlanner().plan(TASKS[task_id], view)
        assert planner.name == "plan_head" and planner.last_call.head_subgoals == len(plan)
        assert planner.last_confidence >= 0.9
    assert not server.requests


def test_below_the_threshold_the_llm_answers(head, server):
    from .scripted_models import goal_only

    server.default = goal_only
    planner = _planner(head, server, threshold=1.01)  # never confident enough
    planner.begin_episode(TASKS["place_table"])
    planner.plan(TASKS["place_table"], EMPTY)
    assert server.requests and planner.name == "llm"
    assert planner.last_call.head_subgoals == 0 and planner.last_call.requests >= 1


def test_after_a_head_plan_failed_the_llm_plans_the_rest_of_the_episode(head, server):
    from .scripted_models import goal_only

    server.default = goal_only
    planner = _planner(head, server)
    task = TASKS["make_wood_pickaxe"]
    planner.begin_episode(task)
    planner.plan(task, EMPTY)
    assert not server.requests
    failure = Failure("no_station", "no table nearby", EMPTY, {"stations": ["table"]})
    planner.attempt_done(Subgoal("make", "wood_pickaxe", 1), failure)
    planner.plan(task, EMPTY)
    assert server.requests and planner.name == "llm"
    planner.begin_episode(task)  # a new episode trusts the head again
    asked = len(server.requests)
    planner.plan(task, EMPTY)
    assert len(server.requests) == asked and planner.name == "plan_head"


def test_a_head_that_never_reaches_the_goal_is_not_used(head, server):
    planner = _planner(head, server)
    plan, confidence = planner.rollout(TASKS["defeat_zombie"], EMPTY)
    assert confidence == 0.0 or plan[-1].target == "zombie"


def test_save_and_load_give_the_same_answers(head, tmp_path):
    head.save(tmp_path / "head")
    again = PlanHead.load(tmp_path / "head")
    text = HashEmbedder().embed(["x"])[0]
    assert np.allclose(head.next(text, {}, set()), again.next(text, {}, set()))
    with pytest.raises(FileNotFoundError, match="peam plans"):
        PlanHead.load(tmp_path / "none")


def test_a_head_saved_with_another_state_layout_is_refused_by_name(head, tmp_path):
    head.save(tmp_path / "head")
    record = json.loads((tmp_path / "head" / "plan_head.json").read_text())
    del record["state_dim"]  # a head from before the held-at-all inputs
    (tmp_path / "head" / "plan_head.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="train it again with `peam plans`"):
        PlanHead.load(tmp_path / "head")


def test_the_rollout_takes_the_likeliest_subgoal_the_rules_allow():
    vocab = ["make wood_pickaxe x1", "collect wood x3", "place table x1"]

    class Head:  # prefers the pickaxe at every step, before it has wood or a table
        def __init__(self):
            self.vocab = vocab

        def next(self, text, inventory, near):
            return [0.6, 0.3, 0.1]

    task = TASKS["make_wood_pickaxe"]
    state = PlanState(Counter(), set())
    plan, confidence = roll_out(Head(), np.zeros(384), task, state, set())
    # Wood first (the only allowed step), then the table (wood held: collecting it is no
    # step), then the pickaxe, allowed at last next to more wood (a table needs 2).
    assert [s.text for s in plan] == ["collect wood x3", "place table x1", "make wood_pickaxe x1"]
    assert confidence == pytest.approx(0.6 / 0.9)


def test_peam_plans_trains_from_a_run_and_the_next_run_skips_the_llm(tmp_path, capsys):
    seen = tmp_path / "seen"
    assert main(["run", "--task", "place_table", "--seeds", "0-3", "--out", str(seen),
                 "--quiet"]) == 0  # fmt: skip
    examples = plan_examples(seen / "store.sqlite")
    assert [e.subgoal for e in examples[:2]] == ["collect wood x2", "place table x1"]
    assert "tree" in examples[0].near
    head = tmp_path / "head"
    assert main(["plans", "--run", str(seen), "--out", str(head), "--updates", "200"]) == 0
    assert "next-subgoal accuracy" in capsys.readouterr().out
    fake = FakeOpenAI()
    try:
        out = tmp_path / "with-head"
        args = ["run", "--task", "place_table", "--seeds", "100-101", "--out", str(out),
                "--quiet", "--set", "planner=llm", "--set", f"llm.base_url={fake.base_url}",
                "--set", "llm.api_key_env=", "--set", f"plan_head.dir={head}"]  # fmt: skip
        assert main(args) == 0
        assert not fake.requests  # consolidated: no model request at all
    finally:
        fake.close()
    rows = [line for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert all('"success": true' in r and '"head_subgoals": 2' in r for r in rows)


def test_retrieval_reuses_a_near_identical_task_s_plan_without_the_llm(server):
    from agent.slow.plan_reuse import PlanReusePlanner
    from memory.plans import PlanMemory

    from .scripted_models import goal_only

    server.default = goal_only
    memory = PlanMemory(HashEmbedder())
    task = TASKS["make_wood_pickaxe"]
    plan = RecipePlanner().plan(task, EMPTY)
    memory.add([task_text(task.id, task.description)], [[s.text for s in plan]], ["s#1"])
    llm = LLMPlanner(LLMConfig(base_url=server.base_url, model="m", api_key_env="", cache=False))
    planner = PlanReusePlanner(memory, llm, similarity=0.95)
    planner.begin_episode(task)
    assert planner.plan(task, EMPTY) == plan and planner.name == "plan_reuse"
    assert planner.last_call.head_subgoals == len(plan) and not server.requests
    other = TASKS["collect_coal"]  # a different task: the LLM plans it
    planner.begin_episode(other)
    planner.plan(other, EMPTY)
    assert planner.name == "llm" and server.requests


def test_an_execution_failure_does_not_discredit_the_head(head, server):
    planner = _planner(head, server)
    task = TASKS["make_wood_pickaxe"]
    planner.begin_episode(task)
    planner.plan(task, EMPTY)
    planner.attempt_done(Subgoal("collect", "wood", 3), Failure("stalled", "no progress", EMPTY))
    planner.plan(task, EMPTY)
    assert planner.name == "plan_head" and not server.requests
