"""Plan heads consolidated per category through the registry, the trigger and a held-out
gate; the planner serves each category its own head."""

from __future__ import annotations

import json

from agent.fast import registry
from agent.loop.build import _plan_heads
from agent.slow.plan_head_planner import PlanHeadPlanner
from agent.slow.recipe_planner import RecipePlanner
from consolidation.plan_head import plan_examples
from consolidation.plan_rounds import PlanRoundConfig, _round, consolidate_plans
from consolidation.trigger import enough_successes
from envs.tasks import load_tasks
from envs.text import TextView
from tests.conftest import HashEmbedder

CFG = PlanRoundConfig(alpha=0.05, validate_every=3, updates=300)
TASKS = load_tasks()


def test_a_round_per_category_publishes_gates_and_waits_for_new_episodes(slow_store, tmp_path):
    embed = HashEmbedder().embed
    rows = consolidate_plans(slow_store, tmp_path, embed, CFG, log=lambda _line: None)
    assert set(rows) == {"craft", "gather"}  # the store holds no combat episode
    for category, row in rows.items():
        assert row["trigger"]["test"] == "enough_successes" and row["published"]
        assert registry.latest(tmp_path, category, registry.PLANS) == 1
        [v1] = registry.describe(tmp_path, category, registry.PLANS)
        held = {e.episode for e in plan_examples(slow_store) if e.category == category
                and e.episode % 3 == 0}  # fmt: skip
        assert v1["gate"]["held_out"] == len(held) > 0
        assert v1["served"] and v1["gate_decision"]["published"]
    # Nothing new since: the trigger waits (no recent episodes), no version is added.
    again = consolidate_plans(slow_store, tmp_path, embed, CFG, log=lambda _line: None)
    assert all(not r["trigger"]["fire"] and r["trigger"]["test"] == "model_calls"
               for r in again.values())  # fmt: skip
    assert registry.versions(tmp_path, "craft", registry.PLANS) == [1]


def test_the_gate_keeps_the_served_head_when_a_candidate_answers_less(slow_store, tmp_path):
    embed = HashEmbedder().embed
    consolidate_plans(slow_store, tmp_path, embed, CFG, log=lambda _line: None)
    craft = [e for e in plan_examples(slow_store) if e.category == "craft"]
    fire = enough_successes("craft", [True] * 20, 0.05)
    weak = PlanRoundConfig(alpha=0.05, validate_every=3, updates=1, threshold=CFG.threshold)
    row = _round(tmp_path, "craft", 1, craft, TASKS, embed, weak, fire)
    served = registry.describe(tmp_path, "craft", registry.PLANS)[0]["gate"]["answered"]
    assert served > 0 and not row["published"], row
    assert registry.latest(tmp_path, "craft", registry.PLANS) == 1
    notes = json.loads(
        (registry.category_dir(tmp_path, "craft", registry.PLANS) / "v2" / "notes.json").read_text()
    )
    assert notes["gate_decision"]["served"]["answered"] == served
    assert notes["gate_decision"]["candidate"]["answered"] < served


def test_the_planner_serves_each_category_its_head(slow_store, tmp_path):
    consolidate_plans(slow_store, tmp_path, HashEmbedder().embed, CFG, log=lambda _line: None)
    heads = _plan_heads(tmp_path)
    assert set(heads) == {"craft", "gather"}
    planner = PlanHeadPlanner(heads, RecipePlanner(), HashEmbedder(), threshold=0.0)
    view = TextView({}, {"health": 9.0}, (0.0, 0.0, 0.0), {})
    plan, confidence = planner.rollout(TASKS["make_wood_pickaxe"], view)
    assert plan and confidence > 0
    assert planner.rollout(TASKS["defeat_zombie"], view) == ([], 0.0)  # no combat head


def test_peam_plans_registry_consolidates_and_names_the_setting(slow_store, tmp_path, capsys):
    from agent.cli import main

    out = tmp_path / "plans"
    args = ["plans", "--run", str(slow_store.parent), "--out", str(out), "--registry"]
    assert main([*args, "--alpha", "0.05", "--updates", "50"]) == 0
    assert f"plan_head.dir={out}" in capsys.readouterr().out
    assert registry.latest(out, "craft", registry.PLANS) == 1
