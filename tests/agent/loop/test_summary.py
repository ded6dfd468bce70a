"""summary.json and episodes.jsonl kept up to date one episode at a time equal what a
fresh read of the store gives (as after a resume)."""

from __future__ import annotations

import json

import envs
from agent.loop.build import make_runner
from agent.loop.config import load_config
from agent.loop.summary import RunSummary, read_episodes
from agent.slow.recipe_planner import RecipePlanner
from envs.tasks import load_tasks, select
from memory.store import ExperienceStore


def test_incremental_summary_equals_a_fresh_read_of_the_store(tmp_path):
    cfg = load_config("configs/run/default.yaml", ["tasks=place_table,collect_wood_4"])
    tasks = select(load_tasks(cfg.tasks_file), cfg.tasks)
    with ExperienceStore(tmp_path / "store.sqlite") as store:
        run = store.start_run("t", {})
        summary = RunSummary(tmp_path, store, run, tasks)
        env = envs.make("crafter", max_episode_steps=300)
        for task in tasks:
            for seed in (0, 1):
                runner = make_runner(cfg, env, RecipePlanner(), store, run, None)
                summary.add(runner.run_episode(task, seed).episode_id)
        incremental = json.loads((tmp_path / "summary.json").read_text())
        rows = read_episodes(tmp_path)
        fresh = tmp_path / "fresh"
        fresh.mkdir()
        RunSummary(fresh, store, run, tasks)
    assert incremental == json.loads((fresh / "summary.json").read_text())
    assert rows == read_episodes(fresh)
    assert [(r["task"], r["seed"]) for r in rows] == [(t.id, s) for t in tasks for s in (0, 1)]
    assert incremental["tasks"]["place_table"]["episodes"] == 2
    assert incremental["tasks"]["place_table"]["slow_attempts"] >= 2
