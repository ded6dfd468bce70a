from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from memory.records import CallStats, Failure, Subgoal
from memory.store import ExperienceStore, SchemaVersionError


def _obs(i: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(i)
    return {
        "rgb": rng.integers(0, 255, (64, 64, 3), dtype=np.uint8),
        "inventory": np.arange(12, dtype=np.int32) + i,
        "status": np.full(4, 9.0 - i % 3, dtype=np.float32),
        "position": np.array([i, 2 * i, 0], dtype=np.float32),
    }


def test_round_trip(tmp_path: Path):
    store = ExperienceStore(tmp_path / "s.sqlite", flush_every=7)
    run = store.start_run("r", {"a": 1})
    ep = store.begin_episode(run, "place_table", "craft", 3, "crafter", (64, 64, 3))
    sg = Subgoal("collect", "wood", 2)
    first = store.begin_attempt(ep, sg, "slow", 0)
    for t in range(20):
        blob = bytes([t]) * 50 if t % 2 else None
        store.log_step(ep, t, first, _obs(t), t % 17, 0.1 * t, "fast", blob, 1 << t if t else None)
    store.end_attempt(first, 20, False, Failure("budget", "ran out"))
    retry = store.begin_attempt(ep, sg, "slow", 20, corrects=first)
    store.end_attempt(retry, 20, True, None)
    store.log_planner_call(ep, first, "correct", "recipe", CallStats(12, 34), 0.5)
    store.end_episode(ep, True, 20, "success")
    store.close()

    store = ExperienceStore(tmp_path / "s.sqlite")
    (episode,) = store.episodes(run)
    assert (episode.task_id, episode.seed, episode.success, episode.steps) == (
        "place_table",
        3,
        True,
        20,
    )
    steps = list(store.steps(ep))
    assert [s.t for s in steps] == list(range(20))
    assert all(s.features is None for s in steps)  # not asked for
    with_features = list(store.steps(ep, frames=False, features=True))
    for t, s in enumerate(with_features):
        assert s.features == (bytes([t]) * 50 if t % 2 else None)
        assert s.label == (1 << t if t else None) and s.actor == "fast" and s.frame is None
    for t, s in enumerate(steps):
        expected = _obs(t)
        np.testing.assert_array_equal(s.frame, expected["rgb"])
        np.testing.assert_array_equal(s.inventory, expected["inventory"])
        np.testing.assert_array_equal(s.status, expected["status"])
        assert s.action == t % 17 and s.reward == pytest.approx(0.1 * t)
    a1, a2 = store.attempts(ep)
    assert (a1.subgoal, a1.success, a1.failure_code) == (sg, False, "budget")
    assert (a2.success, a2.corrects) == (True, a1.id)
    (call,) = store.planner_calls(ep)
    assert (call["prompt_tokens"], call["completion_tokens"], call["kind"]) == (12, 34, "correct")


def test_wal_mode_and_schema_version(tmp_path: Path):
    ExperienceStore(tmp_path / "s.sqlite").close()
    db = sqlite3.connect(tmp_path / "s.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    db.commit()
    db.close()
    # A store written before steps recorded their actor is refused with what to do.
    wanted = r"schema version 1, this runtime reads 4 \(since version 3 every step stores"
    with pytest.raises(SchemaVersionError, match=wanted):
        ExperienceStore(tmp_path / "s.sqlite")


def test_a_version_3_store_is_upgraded_in_place(tmp_path: Path):
    path = tmp_path / "s.sqlite"
    store = ExperienceStore(path)
    run = store.start_run("r", {})
    ep = store.begin_episode(run, "t", "craft", 0, "crafter", (64, 64, 3))
    store.log_planner_call(ep, None, "plan", "llm", CallStats(5, 6), 0.1)
    store.close()
    db = sqlite3.connect(path)  # make it what version 3 wrote: no per-call subgoal counts
    for column in ("requests", "model_subgoals", "offline_subgoals", "head_subgoals"):
        db.execute(f"ALTER TABLE planner_calls DROP COLUMN {column}")
    db.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    db.commit()
    db.close()
    store = ExperienceStore(path)
    store.log_planner_call(
        ep, None, "correct", "llm", CallStats(1, 2, requests=2, model_subgoals=3), 0.1
    )
    assert store.planning_by_episode(ep)[ep] == {
        "planner_calls": 2,
        "model_requests": 2,
        "model_subgoals": 3,
        "offline_subgoals": 0,
        "head_subgoals": 0,
    }
    assert store.tokens_by_episode(ep)[ep] == (6, 8)
    store.close()
    db = sqlite3.connect(path)
    version = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    assert version == "4"


def test_another_process_reads_while_writing(tmp_path: Path):
    store = ExperienceStore(tmp_path / "s.sqlite", flush_every=5)
    run = store.start_run("r", {})
    ep = store.begin_episode(run, "t", "craft", 0, "crafter", (64, 64, 3))
    for t in range(10):
        store.log_step(ep, t, None, _obs(t), 0, 0.0)
    reader = textwrap.dedent(f"""
        from memory.store import ExperienceStore
        s = ExperienceStore({str(tmp_path / "s.sqlite")!r})
        print(s.step_count({ep}), len(s.episodes(done_only=False)))
    """)
    out = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["10", "1"]
    store.close()


def test_crash_mid_episode_keeps_committed_episodes(tmp_path: Path):
    path = tmp_path / "s.sqlite"
    writer = textwrap.dedent(f"""
        import os, numpy as np
        from memory.store import ExperienceStore
        s = ExperienceStore({str(path)!r}, flush_every=4)
        run = s.start_run("r", {{}})
        obs = {{"rgb": np.zeros((64, 64, 3), np.uint8), "inventory": np.zeros(12, np.int32),
                "status": np.zeros(4, np.float32), "position": np.zeros(3, np.float32)}}
        for e in range(2):
            ep = s.begin_episode(run, "t", "craft", e, "crafter", (64, 64, 3))
            for t in range(9):
                s.log_step(ep, t, None, obs, 0, 0.0)
            s.end_episode(ep, True, 9, "success")
        s.flush()  # both episodes committed
        ep = s.begin_episode(run, "t", "craft", 2, "crafter", (64, 64, 3))
        for t in range(9):
            s.log_step(ep, t, None, obs, 0, 0.0)
        s.flush()  # some steps of the third episode are committed too
        os.kill(os.getpid(), 9)
    """)
    proc = subprocess.run([sys.executable, "-c", writer])
    assert proc.returncode == -9
    store = ExperienceStore(path)
    done = store.episodes()
    assert [e.seed for e in done] == [0, 1]
    assert all(store.step_count(e.id) == 9 for e in done)
    assert store.discard_incomplete() == 1
    assert len(store.episodes(done_only=False)) == 2
    assert store._db.execute("SELECT COUNT(*) FROM steps").fetchone()[0] == 18
