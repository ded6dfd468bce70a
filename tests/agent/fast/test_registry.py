"""Adapter registry: versions, atomic LATEST, rollback, and hot reload in a running fast tier."""

from __future__ import annotations

import shutil

import pytest
import torch

import envs
from agent.fast import registry
from agent.fast.adapters import AdapterLoadWarning
from agent.fast.config import FastConfig
from agent.fast.executor import FastExecutor
from memory.records import Subgoal
from tests.conftest import HashEmbedder, perturbed_adapter


def test_publish_versions_rollback_and_describe(fast_dir, tmp_path):
    root = tmp_path / "fast"
    shutil.copytree(fast_dir, root)
    assert registry.versions(root, "gather") == [1] and registry.latest(root, "gather") == 1
    model, sha = perturbed_adapter(root, 0)
    assert registry.publish(model, "gather", root, sha, {"trainer": "test"}) == 2
    assert registry.latest(root, "gather") == 2
    rows = registry.describe(root, "gather")
    assert [(r["version"], r["served"], r["parent"]) for r in rows] == [
        (1, False, None),
        (2, True, 1),
    ]
    assert registry.rollback(root, "gather") == 1 and registry.latest(root, "gather") == 1
    assert registry.rollback(root, "gather", to=2) == 2
    with pytest.raises(registry.RegistryError, match="no v7; versions: v1, v2"):
        registry.rollback(root, "gather", to=7)
    with pytest.raises(registry.RegistryError, match="no combat adapter"):
        registry.rollback(root, "combat")
    assert not any(p.name.startswith(".") for p in registry.category_dir(root, "gather").iterdir())


def test_running_fast_tier_picks_up_new_versions_and_refuses_bad_ones(fast_dir, tmp_path):
    root = tmp_path / "fast"
    shutil.copytree(fast_dir, root)
    fast = FastExecutor(FastConfig(dir=str(root), device="cpu"), HashEmbedder())
    assert fast.versions["gather"] == 1 and fast.refresh() == []
    env = envs.make("crafter")
    obs, info = env.reset(seed=0)
    fast.begin(Subgoal("collect", "wood"))
    before = fast.model.base_model.model.fuse.lora_A["gather"].weight.clone()
    model, sha = perturbed_adapter(root, 1)
    registry.publish(model, "gather", root, sha, {})
    assert fast.refresh() == ["gather"] and fast.versions["gather"] == 2
    after = fast.model.base_model.model.fuse.lora_A["gather"].weight
    assert not torch.equal(before, after)
    torch.testing.assert_close(after, model.base_model.model.fuse.lora_A["gather"].weight)
    fast.act(obs, info)  # the merged batch-1 path was rebuilt for v2
    # A corrupt v3 is refused once, with a warning; v2 keeps serving.
    registry.publish(model, "gather", root, sha, {})
    weights = registry.served_folder(root, "gather") / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8])
    with pytest.warns(AdapterLoadWarning, match="sha256 mismatch"):
        assert fast.refresh() == []
    assert "gather" in fast.available and fast.versions["gather"] == 2
    torch.testing.assert_close(fast.model.base_model.model.fuse.lora_A["gather"].weight, after)
    assert fast.refresh() == []  # not retried (no second warning)


def test_served_model_refuses_an_adapter_that_fails_its_checks(fast_dir, tmp_path):
    root = tmp_path / "fast"
    shutil.copytree(fast_dir, root)
    model = registry.served_model(root, "gather")
    assert model.active_adapter == "gather" and not model.training
    weights = registry.served_folder(root, "gather") / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8])
    corrupt = r"cannot be evaluated: adapter_model.safetensors is corrupt \(sha256"
    with pytest.raises(registry.RegistryError, match=corrupt) as err:
        registry.served_model(root, "gather")
    assert "peam adapters rollback" in str(err.value)
