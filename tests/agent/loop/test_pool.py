"""Worker pools: a worker killed mid-episode is replaced, its episode retried and stored once."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from agent.cli import main
from agent.loop.config import load_config
from agent.loop.pool import EpisodeSpec, Worker, dispatch, memory_files, store_once
from agent.loop.summary import read_episodes
from memory.store import ExperienceStore

ROOT = Path(__file__).resolve().parents[2]
SPECS = [EpisodeSpec(t, s) for t in ("place_table", "collect_wood_4") for s in (0, 1, 2)]
CRASH_ENV = "tests.agent.loop.crash_env:make"


def _crash_once(monkeypatch, tmp_path, seed: int = 1) -> Path:
    marker = tmp_path / "crashed"
    monkeypatch.setenv("PEAM_CRASH_MARKER", str(marker))
    monkeypatch.setenv("PEAM_CRASH_SEED", str(seed))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # workers import tests.agent.loop.crash_env
    return marker


def _collect(tmp_path, records) -> Path:
    path = tmp_path / "store.sqlite"
    with ExperienceStore(path) as store:
        run = store.start_run("pool", {})
        stored: set[str] = set()
        for record in records:
            store_once(store, run, stored, record)
            store_once(store, run, stored, record)  # a duplicate delivery is dropped
    return path


def _episodes(path: Path) -> dict[str, tuple[int, int, int]]:
    """(task/seed) -> (success, steps, step rows), checking each spec is stored once."""
    with sqlite3.connect(path) as con:
        rows = con.execute(
            "SELECT e.task_id, e.seed, e.success, e.steps, e.status,"
            " (SELECT COUNT(*) FROM steps s WHERE s.episode_id = e.id) FROM episodes e"
        ).fetchall()
    keys = [f"{task}/{seed}" for task, seed, *_ in rows]
    assert len(keys) == len(set(keys)), keys  # no episode twice
    assert all(status == "done" for *_, status, _ in rows)
    return {f"{t}/{s}": (ok, steps, n) for t, s, ok, steps, _, n in rows}


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    """The same specs played in this process, one after another (the reference)."""
    from dataclasses import asdict

    worker = Worker(asdict(load_config("configs/run/default.yaml")), None)
    records = [worker.play(spec) for spec in SPECS]
    return _episodes(_collect(tmp_path_factory.mktemp("seq"), records))


def test_local_pool_replaces_a_dead_worker_and_stores_each_episode_once(
    monkeypatch, tmp_path, sequential
):
    marker = _crash_once(monkeypatch, tmp_path)
    cfg = load_config("configs/run/default.yaml")
    records = dispatch(SPECS, cfg, workers=2, env_factory=CRASH_ENV)
    got = _episodes(_collect(tmp_path, records))
    assert marker.exists()  # a worker did die mid-episode
    assert got == sequential  # every episode once, every step once, same outcomes
    assert all(steps == rows for _, steps, rows in got.values())


def test_ray_actors_restart_and_the_failed_episode_is_retried(monkeypatch, tmp_path, sequential):
    ray = pytest.importorskip("ray")
    marker = _crash_once(monkeypatch, tmp_path)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        cfg = load_config("configs/run/default.yaml")
        records = dispatch(
            SPECS,
            cfg,
            workers=2,
            ray_address="local",
            env_factory=CRASH_ENV,
        )
        got = _episodes(_collect(tmp_path, records))
    finally:
        ray.shutdown()
    assert marker.exists()
    assert got == sequential


def test_peam_run_with_workers_matches_the_sequential_run(tmp_path):
    args = ["run", "--task", "place_table", "--task", "collect_wood_4", "--seeds", "0-2", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    assert main([*args, "--out", str(tmp_path / "two"), "--workers", "2"]) == 0
    one, two = read_episodes(tmp_path / "one"), read_episodes(tmp_path / "two")
    key = sorted((e["task"], e["seed"], e["success"], e["steps"]) for e in one)
    assert len(key) == 6 and key == sorted(
        (e["task"], e["seed"], e["success"], e["steps"]) for e in two
    )
    summaries = [json.loads((tmp_path / n / "summary.json").read_text()) for n in ("one", "two")]
    assert summaries[0]["tasks"] == summaries[1]["tasks"]
    assert main([*args, "--out", str(tmp_path / "v"), "--workers", "2", "--video"]) == 2


def test_workers_get_only_the_files_the_fast_tier_reads(tmp_path: Path) -> None:
    """A `peam loop` folder as fast.dir: its store and round runs are never shipped."""
    loop = tmp_path / "loop"
    for rel in (
        "trunk/trunk.safetensors",
        "trunk/trunk.json",
        "adapters/craft/LATEST",
        "adapters/craft/v1/adapter_model.safetensors",
        "gate/gate.safetensors",
        "gate/gate.json",
        "train.json",
        "store.sqlite",
        "rounds/r0/eval-fast/store.sqlite",
        "gate/craft-v1/store.sqlite",
        "consolidation/decisions.jsonl",
    ):
        (loop / rel).parent.mkdir(parents=True, exist_ok=True)
        (loop / rel).write_bytes(rel.encode())
    cfg = load_config(None, [f"fast.dir={loop}"])
    files = memory_files(cfg)
    assert files is not None
    assert sorted(files) == [
        "adapters/craft/LATEST",
        "adapters/craft/v1/adapter_model.safetensors",
        "gate/gate.json",
        "gate/gate.safetensors",
        "train.json",
        "trunk/trunk.json",
        "trunk/trunk.safetensors",
    ]
    assert files["train.json"] == b"train.json"
    retrieval = load_config(None, [f"retrieval.dir={loop / 'rounds'}"])
    assert sorted(memory_files(retrieval) or {}) == ["r0/eval-fast/store.sqlite"]  # all of it
    assert memory_files(load_config(None, [])) is None
