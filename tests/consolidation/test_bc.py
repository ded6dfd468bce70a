"""Behaviour cloning from the store: the dataset, the trunk, and per-category adapter training."""

from __future__ import annotations

import json
import sqlite3

import pytest
import torch

from agent.fast.adapters import save_adapter, trunk_hash, with_adapters
from agent.fast.config import PolicyConfig
from agent.fast.policy import FastPolicy
from agent.fast.trunk import load_trunk
from consolidation.config import BCConfig
from consolidation.fast_training import train_adapter
from memory.store import ExperienceStore
from memory.transitions import NoTrainingDataError, load_transitions
from tests.conftest import HashEmbedder


def test_dataset_holds_the_labelled_steps_of_the_chosen_attempts(slow_store):
    with ExperienceStore(slow_store) as store:
        ended = [a for a in store.attempts() if a.success is not None]
        verified = [a for a in ended if a.success]
    data = load_transitions([slow_store], verified_only=True)
    assert len(data) == sum(a.step_end - a.step_start for a in verified) > 0
    everything = load_transitions([slow_store])
    assert len(everything) == sum(a.step_end - a.step_start for a in ended) >= len(data)
    assert set(data.categories) == {"craft", "gather"}
    assert set(data.texts) == {a.subgoal.text for a in verified}
    assert data.grids.dtype.name == "uint8" and data.grids.shape[1:] == (2, 17, 17)
    # The slow controller labels its own steps: the action it took is always in the set,
    # and ties are kept (some states have several equally good moves).
    assert data.agrees().all() and set(data.actors) == {"slow"}
    assert (data.label_sets(17).sum(axis=1) > 1).any()
    assert len(load_transitions([slow_store], categories=("craft",))) < len(everything)


def test_training_data_does_not_depend_on_the_order_episodes_were_stored(slow_store, tmp_path):
    # A worker pool stores episodes as they finish: the same play gets other store ids.
    shuffled = tmp_path / "shuffled.sqlite"
    with sqlite3.connect(slow_store) as src, sqlite3.connect(shuffled) as dst:
        src.backup(dst)
        for table, column in (
            ("episodes", "id"),
            ("attempts", "episode_id"),
            ("steps", "episode_id"),
        ):
            dst.execute(f"UPDATE {table} SET {column} = 1000 - {column}")
    with ExperienceStore(slow_store) as a, ExperienceStore(shuffled) as b:
        order_a = [(e.task_id, e.seed) for e in a.episodes()]
        order_b = [(e.task_id, e.seed) for e in b.episodes()]
    assert order_b == order_a[::-1]
    first, second = load_transitions([slow_store]), load_transitions([shuffled])
    assert first.digest() == second.digest()
    (train_a, val_a), (train_b, val_b) = first.split(3), second.split(3)
    assert train_a.digest() == train_b.digest() and val_a.digest() == val_b.digest()
    assert 0 < len(val_a) < len(first)  # some of the 9 episodes are held out, not all
    sample_a = load_transitions([slow_store], max_transitions=100)
    assert sample_a.digest() == load_transitions([shuffled], max_transitions=100).digest()


def test_no_verified_steps_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.sqlite"
    ExperienceStore(path).close()
    with pytest.raises(NoTrainingDataError, match="peam run"):
        load_transitions([path])
    with pytest.raises(FileNotFoundError, match="peam run"):
        load_transitions([tmp_path / "nowhere.sqlite"])


def test_training_one_adapter_leaves_the_others_and_the_trunk_bit_identical(slow_store, tmp_path):
    data = load_transitions([slow_store])
    table = torch.from_numpy(HashEmbedder().embed(data.texts))
    torch.manual_seed(0)
    trunk = FastPolicy(PolicyConfig(hidden=32))
    sha = trunk_hash(trunk)
    model = with_adapters(trunk, init=False)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for c in ("craft", "combat"):
        save_adapter(model, c, tmp_path / "before" / c, sha)
    metrics = train_adapter(
        model,
        "gather",
        data.subset(data.categories == "gather"),
        table,
        BCConfig(epochs=1.0, batch_size=64),
        torch.device("cpu"),
    )
    assert metrics["updates"] > 0
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all("lora_" in n and ".gather." in n for n in changed)
    assert trunk_hash(model) == sha
    for c in ("craft", "combat"):
        after = save_adapter(model, c, tmp_path / "after" / c, sha)
        for f in ("adapter_model.safetensors", "adapter_config.json"):
            assert (after / f).read_bytes() == (tmp_path / "before" / c / f).read_bytes()


def test_train_fast_writes_a_frozen_trunk_adapters_and_gate(fast_dir):
    report = json.loads((fast_dir / "train.json").read_text())
    trunk, meta = load_trunk(fast_dir / "trunk")
    assert meta["trunk_sha256"] == trunk_hash(trunk) == report["trunk"]["sha256"]
    assert meta["transitions"] == report["transitions"] > 0 and len(meta["data_sha256"]) == 64
    assert not any(p.requires_grad for p in trunk.parameters())
    for category in ("craft", "gather"):
        folder = fast_dir / "adapters" / category
        assert (folder / "LATEST").read_text().strip() == "v1"
        adapter = json.loads((folder / "v1" / "peam_adapter.json").read_text())
        assert adapter["trunk_sha256"] == meta["trunk_sha256"]
        assert adapter["version"] == 1 and adapter["parent"] is None
        assert adapter["trainer"] == "bc" and len(adapter["data_sha256"]) == 64
    assert report["adapters"]["combat"] == {"skipped": "no verified steps"}
    assert not (fast_dir / "adapters" / "combat").exists()
    assert (fast_dir / "gate" / "gate.safetensors").exists()
    assert report["trunk"]["losses"][-1] < report["trunk"]["losses"][0]


def test_the_first_training_leaves_out_labels_the_memory_could_not_have_given(slow_store, tmp_path):
    """States a privileged teacher labelled from what the memory had not seen are dropped,
    as PW drops them in later rounds; with ``drop_unseen`` off they train."""
    from consolidation.config import FastTrainConfig
    from consolidation.fast_training import train_fast
    from memory.labels import UNSEEN

    store = tmp_path / "store.sqlite"
    store.write_bytes(slow_store.read_bytes())
    with sqlite3.connect(store) as db:
        db.execute(
            "UPDATE steps SET label = label | ? WHERE label IS NOT NULL AND t % 3 = 0", (UNSEEN,)
        )
    flagged = int(load_transitions([store]).unseen.sum())
    assert 0 < flagged < len(load_transitions([store]))
    reports = {}
    for drop in (True, False):
        cfg = FastTrainConfig(
            trunk=BCConfig(epochs=0.05, batch_size=32),
            adapter=BCConfig(epochs=0.05, batch_size=32),
            policy=PolicyConfig(hidden=16),
            device="cpu",
            drop_unseen=drop,
            categories=("gather",),
        )
        train_fast([store], tmp_path / f"fast-{drop}", cfg, embedder=HashEmbedder())
        reports[drop] = json.loads((tmp_path / f"fast-{drop}" / "train.json").read_text())
    assert reports[True]["unseen_dropped"] > 0 and reports[False]["unseen_dropped"] == 0
    kept = reports[True]["transitions"] + reports[True]["validation_transitions"]
    every = reports[False]["transitions"] + reports[False]["validation_transitions"]
    assert kept == every - reports[True]["unseen_dropped"]
