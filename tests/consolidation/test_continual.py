"""Staged consolidation variants for the comparison: shared, EWC, full fine-tuning, isolated."""

from __future__ import annotations

import shutil

import pytest
import torch

from agent.fast.config import FastConfig
from agent.fast.executor import FastExecutor
from consolidation.config import (
    BCConfig,
    ConsolidateConfig,
    SingleConfig,
    TrainerConfig,
    TriggerConfig,
)
from consolidation.continual import (
    ORDER,
    consolidate_isolated,
    consolidate_single,
    split_by_category,
)
from memory.transitions import load_transitions
from tests.conftest import HashEmbedder


@pytest.fixture(scope="module")
def parts(slow_store):
    data = load_transitions([slow_store])
    table = torch.from_numpy(HashEmbedder().embed(data.texts))
    return split_by_category(data, 3), table


def _root(fast_dir, tmp_path):
    root = tmp_path / "variant"
    shutil.copytree(fast_dir / "trunk", root / "trunk")
    return root


@pytest.mark.parametrize("kind", ["shared", "ewc", "full"])
def test_single_model_variants_publish_a_servable_fast_tier(kind, parts, fast_dir, tmp_path):
    split, table = parts
    root = _root(fast_dir, tmp_path)
    cfg = SingleConfig(bc=BCConfig(epochs=1.0, batch_size=32), fisher_samples=64)
    matrix = consolidate_single(kind, root, split, table, cfg, log=lambda _: None)
    assert len(matrix) == len(ORDER)
    assert all(0.0 <= row["craft"] <= 1.0 and row["combat"] is None for row in matrix)
    fast = FastExecutor(FastConfig(dir=str(root), device="cpu"), HashEmbedder())
    assert fast.available == {"craft", "gather", "combat"}
    weights = {n: p for n, p in fast.model.named_parameters() if "lora_B" in n}
    craft = [p for n, p in weights.items() if ".craft." in n]
    gather = [p for n, p in weights.items() if ".gather." in n]
    assert all(torch.equal(a, b) for a, b in zip(craft, gather, strict=True))  # one model
    if kind == "full":  # identity adapters over a fine-tuned trunk
        assert all(float(p.detach().abs().max()) == 0.0 for p in craft)
        assert fast.trunk_sha != _sha(fast_dir)
    else:
        assert any(float(p.detach().abs().max()) > 0.0 for p in craft)
        assert fast.trunk_sha == _sha(fast_dir)


def _sha(folder):
    import json

    return json.loads((folder / "trunk" / "trunk.json").read_text())["trunk_sha256"]


def test_isolated_stages_leave_earlier_categories_untouched(parts, slow_store, fast_dir, tmp_path):
    split, table = parts
    root = _root(fast_dir, tmp_path)
    cfg = ConsolidateConfig(
        trigger=TriggerConfig(alpha=0.05),
        trainer=TrainerConfig(bc=BCConfig(batch_size=32), updates=20),
        validate_every=3,
        device="cpu",
    )
    held = {c: split[c][1] for c in ORDER}
    matrix = consolidate_isolated(
        slow_store.parent, root, cfg, held, table, HashEmbedder(), log=lambda _: None
    )
    assert len(matrix) == 3
    # gather's accuracy is unchanged by the craft and combat stages (isolation)
    assert matrix[0]["gather"] == matrix[1]["gather"] == matrix[2]["gather"]
    assert (root / "adapters" / "gather" / "LATEST").exists()
    assert (root / "adapters" / "craft" / "LATEST").exists()
