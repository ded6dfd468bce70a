"""`peam consolidate` under torchrun (2 CPU processes, gloo): synced training, rank 0 publishes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None,
    reason="torchrun not installed next to python",
)
def test_two_ranks_train_the_same_weights_and_only_rank_0_publishes(slow_store, tmp_path):
    out = tmp_path / "ddp"
    cmd = [
        str(Path(sys.executable).parent / "torchrun"),
        "--standalone",  # a free port: parallel test runs do not collide
        "--nproc-per-node",
        "2",
        "-m",
        "agent.cli",
        "consolidate",
        "--from",
        str(slow_store.parent),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--trunk-epochs",
        "1",
        "--updates",
        "10",
        "--alpha",
        "0.05",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    published = dict(re.findall(r"(\w+): published v1 .*2 ranks; weights (\w+)\)", done.stdout))
    rank1 = dict(re.findall(r"rank 1: trained (\w+) \(weights (\w+)\)", done.stdout))
    assert set(published) == {"craft", "gather"}  # the store has no combat
    assert published == rank1  # gradients were averaged: both ranks hold the same adapter
    for category in published:
        assert [p.name for p in (out / "adapters" / category).iterdir() if p.is_dir()] == ["v1"]
    decisions = (out / "consolidation" / "decisions.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["category"] for line in decisions) == [
        "combat",
        "craft",
        "gather",
    ]
