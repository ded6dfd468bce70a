"""`peam compare` end to end on a tiny budget: builds, tries, report numbers equal the stores'."""

from __future__ import annotations

import json
import sqlite3

import pytest
from PIL import Image

from agent.cli import main
from agent.compare.config import load_compare
from agent.compare.report import PLOTS
from agent.compare.stats import mcnemar, wilson
from envs.config import ConfigError


def _config(tmp_path, experience, **extra):
    lines = [
        f"experience: {experience}",
        "trunk_epochs: 1",
        "tasks: [place_table, collect_wood_4]",
        "seeds: '1000-1001'",
        "attempts: 2",
        "workers: 2",
        "validate_every: 3",
        "consolidate_set: [trainer.updates=20, trigger.alpha=0.05]",
        "agents:",
        "  peam: {kind: peam}",
        "  retrieval: {kind: retrieval, k: 4}",
        "  slow: {kind: slow}",
        "  shared: {kind: peam, variant: shared, set: [bc.epochs=1]}",
        *extra.get("lines", []),
    ]
    path = tmp_path / "cmp.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_compare_end_to_end_report_matches_the_stores(slow_store, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "--config", str(_config(tmp_path, slow_store.parent)),
                 "--out", str(out)]) == 0  # fmt: skip
    assert f"report: {out / 'report.md'}" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert set(report["agents"]) == {"peam", "retrieval", "slow", "shared"}
    for name, row in report["agents"].items():
        # Recount every trial straight from the try stores with SQL.
        won: dict[tuple[str, int], bool] = {}
        episodes = steps = 0
        for db in sorted((out / "agents" / name).glob("try*/store.sqlite")):
            with sqlite3.connect(db) as con:
                for task, seed, ok, n in con.execute(
                    "SELECT task_id, seed, success, steps FROM episodes WHERE status='done'"
                ):
                    won[(task, seed)] = won.get((task, seed), False) or bool(ok)
                    episodes += 1
                    steps += n
        assert len(won) == 4 and row["episodes"] == episodes and row["steps"] == steps
        assert row["overall"]["successes"] == sum(won.values())
        for task in ("place_table", "collect_wood_4"):
            wins = sum(v for (t, _), v in won.items() if t == task)
            assert row["tasks"][task]["successes"] == wins
            assert row["tasks"][task]["ci95"] == list(wilson(wins, 2))
        if row["kind"] != "peam":  # deterministic agents get one attempt
            assert not (out / "agents" / name / "try2").exists()
        assert (out / "agents" / name / "episode.gif").stat().st_size > 0
    assert report["agents"]["slow"]["overall"]["successes"] == 4
    m = report["agents"]["slow"]["mcnemar_vs_peam"]
    assert m["p"] == mcnemar(m["peam_only"], m["slow_only"])
    first = report["agents"]["slow"]["mcnemar_vs_peam_first_attempt"]
    peam_first = report["agents"]["peam"]["first_trials"]
    slow_first = report["agents"]["slow"]["first_trials"]
    assert first["slow_only"] == sum(slow_first[k] and not peam_first[k] for k in peam_first)
    for name in ("peam", "retrieval", "shared"):
        row = report["agents"][name]
        assert len(row["forgetting_matrix"]) == 3 and row["memory_growth"][-1]["bytes"] > 0
    sizes = [g["bytes"] for g in report["agents"]["peam"]["memory_growth"]]
    assert sizes[0] < sizes[1] == sizes[2]  # gather's adapter, then craft's; no combat data
    sizes = [g["bytes"] for g in report["agents"]["retrieval"]["memory_growth"]]
    assert sizes[0] < sizes[1] == sizes[2]  # the index grows with every stage's steps
    assert (out / "agents" / "retrieval" / "memory" / "plans" / "plans.json").exists()
    for png in PLOTS:
        with Image.open(out / png) as image:
            image.load()
            assert image.format == "PNG" and image.size[0] > 100
    md = (out / "report.md").read_text()
    assert "| peam | peam / isolated |" in md and "McNemar vs peam" in md
    # The report is rebuilt from the stores alone.
    (out / "report.json").unlink()
    assert main(["compare", "--config", str(_config(tmp_path, slow_store.parent)),
                 "--out", str(out), "--report-only"]) == 0  # fmt: skip
    assert json.loads((out / "report.json").read_text()) == report


def test_compare_refuses_seen_seeds_and_bad_agents(slow_store, tmp_path, capsys):
    path = _config(tmp_path, slow_store.parent)
    assert main(["compare", "--config", str(path), "--set", "seeds=0-3"]) == 2
    assert "also appear in the experience" in capsys.readouterr().err
    bad = _config(tmp_path, slow_store.parent, lines=["  odd: {kind: oracle}"])
    with pytest.raises(ConfigError, match="valid: peam, retrieval, slow"):
        load_compare(str(bad), [])


def test_wilson_and_mcnemar_known_values():
    lo, hi = wilson(8, 10)
    assert round(lo, 3) == 0.49 and round(hi, 3) == 0.943
    assert mcnemar(0, 0) == 1.0 and mcnemar(5, 0) == 0.0625 and mcnemar(3, 1) == 0.625


def test_compare_agents_with_consolidated_plans_skip_the_planner(slow_store, tmp_path):
    lines = [
        f"experience: {slow_store.parent}",
        "trunk_epochs: 1",
        "tasks: [make_wood_pickaxe]",
        "seeds: '1000-1001'",
        "workers: 2",
        "validate_every: 3",
        "video: false",
        "consolidate_set: [trainer.updates=20, trigger.alpha=0.05]",
        "agents:",
        "  peam_plans: {kind: peam, plans: true, run_set: [fast.temperature=0]}",
        "  retrieval_plans: {kind: retrieval, k: 4, plans: true}",
    ]
    path = tmp_path / "cmp.yaml"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "cmp"
    assert main(["compare", "--config", str(path), "--out", str(out)]) == 0
    build = json.loads((out / "agents" / "peam_plans" / "build.json").read_text())
    assert "published v1" in build["plan_heads"]["craft"]
    for name, front in (("peam_plans", "plan_head"), ("retrieval_plans", "plan_reuse")):
        with sqlite3.connect(out / "agents" / name / "try1" / "store.sqlite") as con:
            planners = {p for (p,) in con.execute("SELECT planner FROM planner_calls")}
        assert front in planners, (name, planners)
    with pytest.raises(ConfigError, match="no memory to plan from"):
        path.write_text("\n".join([*lines, "  slow: {kind: slow, plans: true}"]) + "\n")
        load_compare(str(path), [])
