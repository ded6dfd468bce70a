"""`peam consolidate`: trigger -> train -> publish, isolation across categories, kill -9 resume."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.fast import registry
from agent.fast.config import FastConfig
from agent.fast.executor import FastExecutor
from consolidation.config import BCConfig, ConsolidateConfig, TrainerConfig, TriggerConfig
from consolidation.daemon import Consolidator
from consolidation.worthiness import COMPONENTS
from memory.atomic import atomic_write
from memory.labels import ACTIONS, UNSEEN
from memory.store import ExperienceStore
from memory.transitions import load_transitions
from tests.conftest import HashEmbedder


def _config(**trainer) -> ConsolidateConfig:
    return ConsolidateConfig(
        trigger=TriggerConfig(alpha=0.01),
        trainer=TrainerConfig(bc=BCConfig(batch_size=32), **{"updates": 60, **trainer}),
        trunk=BCConfig(epochs=3.0, batch_size=32),
        device="cpu",
    )


@pytest.fixture
def run(slow_store, tmp_path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(slow_store, folder / "store.sqlite")
    return folder


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_first_pass_trains_the_trunk_and_publishes_categories_with_enough_successes(run):
    lines: list[str] = []
    config = _config()
    config.pw.agreement = 1.0  # measured (two gradient passes), not only a constant
    daemon = Consolidator(run, config, embedder=HashEmbedder(), log=lines.append)
    decisions = {d.category: d for d in daemon.run_once()}
    assert (run / "trunk" / "trunk.safetensors").exists()
    assert decisions["craft"].fire and decisions["gather"].fire
    assert not decisions["combat"].fire and decisions["combat"].reason == "no attempts yet"
    for category in ("craft", "gather"):
        assert registry.latest(run, category) == 1
        meta = registry.describe(run, category)[0]
        assert meta["trainer"] == "bc" and meta["parent"] is None
        assert set(meta["pw"]) == {*COMPONENTS, "pw"}
        assert meta["pw"]["agreement"]["p10"] < meta["pw"]["agreement"]["p90"]
        assert meta["history"]["attempts"] > 0 and meta["last_attempt_id"] > 0
    logged = [
        json.loads(x) for x in (run / "consolidation" / "decisions.jsonl").read_text().splitlines()
    ]
    assert {(d["category"], d["fire"]) for d in logged} == {
        ("craft", True),
        ("gather", True),
        ("combat", False),
    }
    assert all("z" in d and "p_value" in d for d in logged)
    assert any((run / "consolidation" / "tb").iterdir())  # TensorBoard events
    # Nothing new in the store: the next pass waits.
    again = Consolidator(run, _config(), embedder=HashEmbedder(), log=lines.append).run_once()
    assert not any(d.fire for d in again)
    assert registry.versions(run, "craft") == [1]


def test_consolidating_one_category_leaves_the_others_bit_identical(run):
    daemon = Consolidator(run, _config(), embedder=HashEmbedder(), log=lambda _: None)
    daemon.run_once()
    gather_v1 = _files(registry.served_folder(run, "gather"))
    with ExperienceStore(run / "store.sqlite") as store:
        until = max(a.id for a in store.attempts())
    job = run / "consolidation" / "jobs" / "craft"
    job.mkdir(parents=True)
    atomic_write(job / "plan.json", json.dumps({"until": until, "decision": None}))
    daemon.run_once()  # resumes the planted craft job -> craft v2
    assert registry.latest(run, "craft") == 2 and registry.latest(run, "gather") == 1
    assert _files(registry.served_folder(run, "gather")) == gather_v1
    fast = FastExecutor(FastConfig(dir=str(run), device="cpu"), HashEmbedder())
    assert fast.versions == {"craft": 2, "gather": 1}


def test_kill_9_mid_training_keeps_serving_and_the_restart_finishes(run):
    Consolidator(run, _config(), embedder=HashEmbedder(), log=lambda _: None).run_once()
    served = _files(registry.served_folder(run, "gather"))
    with ExperienceStore(run / "store.sqlite") as store:
        until = max(a.id for a in store.attempts())
    job = run / "consolidation" / "jobs" / "gather"
    job.mkdir(parents=True)
    atomic_write(job / "plan.json", json.dumps({"until": until, "decision": None}))
    cmd = [
        sys.executable,
        "-m",
        "agent.cli",
        "consolidate",
        "--run",
        str(run),
        "--updates",
        "1200",
        "--device",
        "cpu",
    ]
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoint = job / "checkpoint" / "job.json"
    deadline = time.time() + 240
    while not checkpoint.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert checkpoint.exists(), "no checkpoint was written"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = json.loads(checkpoint.read_text())["done"]
    assert killed_at < json.loads(checkpoint.read_text())["total"]
    # The previous version is still the served one, whole, and loads.
    assert registry.latest(run, "gather") == 1
    assert _files(registry.served_folder(run, "gather")) == served
    fast = FastExecutor(FastConfig(dir=str(run), device="cpu"), HashEmbedder())
    assert "gather" in fast.available and fast.versions["gather"] == 1
    # The restart resumes the same job from its checkpoint and publishes it.
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "resuming the interrupted job" in done.stdout
    assert registry.latest(run, "gather") == 2
    meta = registry.describe(run, "gather")[1]
    assert meta["losses"]["resumed_from"] >= killed_at > 0
    assert not job.exists()


def test_peam_adapters_list_and_rollback(run, capsys):
    from agent.cli import main

    Consolidator(run, _config(), embedder=HashEmbedder(), log=lambda _: None).run_once()
    model_dir = registry.served_folder(run, "craft")
    shutil.copytree(model_dir, model_dir.with_name("v2"))
    atomic_write(registry.category_dir(run, "craft") / "LATEST", "v2\n")
    assert main(["adapters", "list", "--run", str(run)]) == 0
    out = capsys.readouterr().out
    assert "craft v1   trainer=bc" in out and "craft v2 *" in out and "combat: no versions" in out
    assert main(["adapters", "rollback", "--run", str(run), "--category", "craft"]) == 0
    assert "craft: now serving v1" in capsys.readouterr().out
    assert registry.latest(run, "craft") == 1
    assert main(["adapters", "rollback", "--run", str(run), "--category", "craft"]) == 2
    assert "oldest version" in capsys.readouterr().err


def test_watch_runs_passes_until_told_to_stop(run):
    lines: list[str] = []
    daemon = Consolidator(run, _config(), embedder=HashEmbedder(), log=lines.append)
    daemon.watch(interval=0.01, rounds=2)
    assert sum("craft: consolidate" in x for x in lines) == 1  # fired once, then quiet
    assert sum("craft: wait" in x for x in lines) == 1


def test_consolidate_config_keys_are_checked(run, capsys):
    from agent.cli import main

    assert main(["consolidate", "--run", str(run), "--set", "pw.novelty=1"]) == 2
    assert "unknown config key 'pw.novelty'; valid keys: pw.cost" in capsys.readouterr().err
    assert main(["consolidate", "--run", str(run), "--tiers", "medium"]) == 2
    assert "bad tiers" in capsys.readouterr().err
    assert main(["consolidate", "--run", str(run.parent / "missing")]) == 2
    assert "no experience store" in capsys.readouterr().err


def test_the_same_store_gives_the_same_trunk_and_adapters(run, tmp_path):
    for out in ("a", "b"):
        daemon = Consolidator(
            run, _config(), tmp_path / out, embedder=HashEmbedder(), log=lambda _: None
        )
        daemon.run_once()

    def weights(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*.safetensors")
        }

    a = weights(tmp_path / "a")
    assert len(a) >= 3  # the trunk and at least two adapters
    assert a == weights(tmp_path / "b")


@pytest.mark.parametrize("by_pw", [True, False])
def test_pw_drops_labels_that_depend_on_what_the_memory_has_not_seen(run, by_pw):
    # Flag every label of one gather episode as a privileged teacher's that the fair
    # controller would not give (memory.labels): PW leaves them out, everything keeps them.
    with sqlite3.connect(run / "store.sqlite") as db:
        episode = db.execute(
            "SELECT id FROM episodes WHERE task_id='collect_wood_4' ORDER BY seed LIMIT 1"
        ).fetchone()[0]
        db.execute(
            "UPDATE steps SET label = label | ? WHERE episode_id=? AND label IS NOT NULL",
            (UNSEEN, episode),
        )
    data = load_transitions([run / "store.sqlite"], categories=("gather",))
    train, _ = data.split(ConsolidateConfig().validate_every)
    flagged = int(train.unseen.sum())
    assert flagged > 0 and (train.labels & ~ACTIONS == 0).all()  # the flag is split off
    config = _config()
    config.select_by_pw = by_pw
    Consolidator(run, config, embedder=HashEmbedder(), log=lambda _: None).run_once()
    meta = registry.describe(run, "gather")[0]
    if by_pw:
        assert meta["unseen_dropped"] == flagged
        assert meta["selected_states"] == round(0.7 * (meta["new_states"]))
        assert meta["new_states"] == len(train) - flagged
    else:
        assert meta["unseen_dropped"] == 0
        assert meta["selected_states"] == meta["new_states"] == len(train)
