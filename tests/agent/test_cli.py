"""`peam` end to end: run folders, bad input, kill -9 and --resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from agent.cli import main
from agent.loop.summary import read_episodes
from memory.store import ExperienceStore

PEAM = [sys.executable, "-m", "agent.cli"]


def test_run_writes_the_run_folder(tmp_path: Path):
    out = tmp_path / "smoke"
    code = main(
        ["run", "--task", "place_table", "--seeds", "0-1", "--out", str(out), "--quiet", "--video"]
    )
    assert code == 0
    assert {p.name for p in out.iterdir()} >= {
        "config.yaml",
        "store.sqlite",
        "summary.json",
        "episodes.jsonl",
        "videos",
    }
    summary = json.loads((out / "summary.json").read_text())
    row = summary["tasks"]["place_table"]
    assert (row["category"], row["episodes"], row["successes"], row["success_rate"]) == (
        "craft",
        2,
        2,
        1.0,
    )
    assert row["prompt_tokens"] == row["completion_tokens"] == 0  # the recipe planner is free
    assert [(e["task"], e["seed"], e["success"]) for e in read_episodes(out)] == [
        ("place_table", 0, True),
        ("place_table", 1, True),
    ]
    assert yaml.safe_load((out / "config.yaml").read_text())["tasks"] == ["place_table"]
    assert sorted(p.name for p in (out / "videos").iterdir()) == [
        "place_table_seed0.gif",
        "place_table_seed1.gif",
    ]
    store = ExperienceStore(out / "store.sqlite")
    assert sum(e.steps for e in store.episodes()) == sum(
        store.step_count(e.id) for e in store.episodes()
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--task", "make_diamond_hoe"],
            "unknown task 'make_diamond_hoe'; valid choices: place_table",
        ),
        (["--set", "backend=minecraft"], "unknown backend 'minecraft'; valid choices: crafter"),
        (
            ["--set", "runner.budget=3"],
            "unknown config key 'runner.budget'; valid keys: runner.subgoal_budget",
        ),
        (["--set", "colour=red"], "unknown config key 'colour'; valid keys: backend"),
        (["--set", "planner=gpt"], "unknown planner 'gpt'; valid choices: recipe"),
        (["--config", "configs/run/nope.yaml"], "config file configs/run/nope.yaml not found"),
        (["--seeds", "a-b"], "bad seeds 'a-b'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    code = main(["run", "--out", str(tmp_path / "x"), "--quiet", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_existing_folder_is_refused_without_resume_or_overwrite(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", "--task", "place_table", "--seeds", "0", "--out", str(out), "--quiet"]) == 0
    assert main(["run", "--task", "place_table", "--seeds", "0", "--out", str(out), "--quiet"]) == 2
    assert "pass --resume to continue it or --overwrite" in capsys.readouterr().err
    assert (
        main(
            [
                "run",
                "--task",
                "place_table",
                "--seeds",
                "1",
                "--out",
                str(out),
                "--quiet",
                "--overwrite",
            ]
        )
        == 0
    )
    assert [e.seed for e in ExperienceStore(out / "store.sqlite").episodes()] == [1]


def test_peam_tasks_lists_the_suite(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "make_iron_pickaxe" in out and "defeat_skeleton" in out


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_kill_9_mid_episode_then_resume(tmp_path: Path):
    out = tmp_path / "crash"
    args = [
        "run",
        "--task",
        "make_iron_pickaxe",
        "--seeds",
        "0-2",
        "--out",
        str(out),
        "--quiet",
        "--set",
        "runner.subgoal_budget=400",
    ]
    proc = subprocess.Popen([*PEAM, *args], env={**os.environ, "PYTHONUNBUFFERED": "1"})
    db_path = out / "store.sqlite"

    def one_done_and_one_running() -> bool:
        if not db_path.exists():
            return False
        try:
            db = sqlite3.connect(db_path, timeout=1)
            rows = db.execute(
                "SELECT status, (SELECT COUNT(*) FROM steps WHERE episode_id=e.id) FROM episodes e"
            ).fetchall()
            db.close()
        except sqlite3.OperationalError:
            return False
        done = [r for r in rows if r[0] == "done"]
        running = [r for r in rows if r[0] == "running" and r[1] > 0]
        return bool(done) and bool(running)

    caught = _wait_for(one_done_and_one_running, timeout=120)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert caught, "the run finished before it could be killed mid-episode"

    # The store is readable and every committed episode is whole.
    store = ExperienceStore(db_path)
    done = store.episodes()
    assert done and all(store.step_count(e.id) == e.steps for e in done)
    assert any(e.status == "running" for e in store.episodes(done_only=False))
    store.close()

    assert main([*args, "--resume"]) == 0
    store = ExperienceStore(db_path)
    episodes = store.episodes(done_only=False)
    assert sorted(e.seed for e in episodes) == [0, 1, 2]
    assert all(e.status == "done" and store.step_count(e.id) == e.steps for e in episodes)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tasks"]["make_iron_pickaxe"]["episodes"] == 3


def test_train_fast_then_run_with_the_fast_tier(slow_store, tmp_path, capsys):
    fast = tmp_path / "fast"
    argv = ["train-fast", "--from", str(slow_store), "--out", str(fast), "--quiet"]
    assert (
        main([*argv, "--trunk-epochs", "3", "--epochs", "1", "--set", "trunk.batch_size=64"]) == 0
    )
    assert "adapter combat: skipped (no verified steps)" in capsys.readouterr().out
    trained = json.loads((fast / "trunk" / "trunk.json").read_text())["bc"]
    assert trained["epochs"] == 3 and trained["batch_size"] == 64 and trained["lr"] == 0.001
    # An existing folder is refused without --overwrite; a missing store is named.
    assert main(argv) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert main(["train-fast", "--from", str(tmp_path / "nope"), "--out", str(tmp_path / "y")]) == 2
    assert "no experience store" in capsys.readouterr().err
    out = tmp_path / "run"
    code = main(
        [
            "run",
            "--task",
            "place_table",
            "--seeds",
            "0",
            "--out",
            str(out),
            "--quiet",
            "--set",
            f"fast.dir={fast}",
        ]
    )
    assert code == 0
    row = json.loads((out / "summary.json").read_text())["tasks"]["place_table"]
    assert row["fast_attempts"] >= 1 and row["episodes"] == 1
    with ExperienceStore(out / "store.sqlite") as store:
        assert "fast" in {a.tier for a in store.attempts()}
        slow = sum(a.tier == "slow" for a in store.attempts())
    # The fast tier played: the run says what it left to the slow tier (one game).
    printed = capsys.readouterr().out
    assert f"slow-tier attempts per game (hand-offs + routed): {slow:.2f} (" in printed
    assert "actions by the slow tier / the guard: " in printed
