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

CFG = PlanRoundConfig(alpha=0.05, validate_every=2, updates=300)
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
                and e.name % 2 == 0}  # fmt: skip
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
    weak = PlanRoundConfig(alpha=0.05, validate_every=2, updates=1, threshold=CFG.threshold)
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
    # With --gate-seeds the first heads also play their tasks against the planner alone.
    config = tmp_path / "gate.yaml"
    config.write_text("tasks: [place_table, collect_wood_4]\n")
    played = tmp_path / "played"
    args = ["plans", "--run", str(slow_store.parent), "--out", str(played), "--registry"]
    gate = ["--gate-seeds", "50000", "--gate-config", str(config)]
    assert main([*args, "--alpha", "0.05", "--updates", "300", *gate]) == 0
    assert "plays the gate seeds against the planner alone" in capsys.readouterr().out
    for category in ("craft", "gather"):
        [v1] = registry.describe(played, category, registry.PLANS)
        verdict = v1["gate_decision"]["played"]
        assert verdict["candidate"]["episodes"] == verdict["served"]["episodes"] == 1
        assert (played / "gate" / f"{category}-v1" / "store.sqlite").exists()


def test_the_played_gate_publishes_only_a_head_that_plays_as_well(slow_store, tmp_path):
    """A first head plays against the planner alone; a head that wins less is kept out."""
    embed = HashEmbedder().embed
    craft = [e for e in plan_examples(slow_store) if e.category == "craft"]
    fire = enough_successes("craft", [True] * 20, 0.05)
    played: list[tuple[str, str]] = []
    # name -> (make_wood_pickaxe games won of 2, plan calls left to the planner of 4)
    games = {"v0": (2, 4), "v1": (2, 0), "v2": (1, 0)}

    def play(category, head, name):
        assert (head is None) == (name == "v0")
        played.append((category, name))
        wins, left = games[name]
        return {"episodes": 4, "successes": 2 + wins, "plan_calls": 4, "left_to_planner": left,
                "per_task": {"place_table": 2, "make_wood_pickaxe": wins}}  # fmt: skip

    row = _round(tmp_path, "craft", None, craft, TASKS, embed, CFG, fire, play, print)
    assert played == [("craft", "v0"), ("craft", "v1")] and row["published"], row
    notes = registry.describe(tmp_path, "craft", registry.PLANS)[0]["gate_decision"]["played"]
    assert notes["candidate"]["left_to_planner"] == 0 and notes["served"]["left_to_planner"] == 4
    # v2 answers every call too but loses a game of make_wood_pickaxe: v1 stays served.
    row = _round(tmp_path, "craft", 1, craft, TASKS, embed, CFG, fire, play, print)
    assert played[2:] == [("craft", "v1"), ("craft", "v2")]
    assert not row["published"] and "3 vs 4 successes" in row["decision"], row
    assert registry.latest(tmp_path, "craft", registry.PLANS) == 1


def test_plan_gate_games_are_played_by_the_slow_tier_with_the_head_planning(slow_store, tmp_path):
    from agent.evolve.plan_gate import PlanGate
    from agent.loop.config import load_config
    from memory.text_embedding import SubgoalEmbedder

    # The games' planner embeds task texts with the real model: the head learns on those.
    consolidate_plans(slow_store, tmp_path, SubgoalEmbedder().embed, CFG, log=lambda _line: None)
    base = load_config(None, ["tasks=[place_table,collect_wood_4]"])
    gate = PlanGate(base, "50000-50001", tmp_path / "gate")
    head = registry.served_folder(tmp_path, "craft", registry.PLANS)
    with_head = gate("craft", head, "v1")
    alone = gate("craft", None, "v0")
    assert with_head["episodes"] == alone["episodes"] == 2  # craft's task only
    assert set(with_head["per_task"]) == {"place_table"}
    assert alone["left_to_planner"] == alone["plan_calls"] >= 2
    assert with_head["left_to_planner"] < with_head["plan_calls"]  # the head planned
