"""Per-category LoRA adapters: round trip, isolation, mixed-batch routing, refusal of bad files."""

from __future__ import annotations

import hashlib
import warnings

import pytest
import torch

from agent.fast.adapters import (
    AdapterLoadWarning,
    load_adapter,
    routed_forward,
    save_adapter,
    trunk_hash,
    with_adapters,
)
from agent.fast.config import PolicyConfig
from agent.fast.policy import FastPolicy

CFG = PolicyConfig(hidden=32)


def _batch(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    grid = torch.randint(0, CFG.n_materials, (n, 2, CFG.crop, CFG.crop), generator=g)
    return (
        grid.to(torch.uint8),
        torch.randn(n, CFG.text_dim, generator=g),
        torch.randn(n, CFG.vector_dim, generator=g),
    )


def _model(seed: int = 0):
    torch.manual_seed(seed)
    trunk = FastPolicy(CFG)
    sha = trunk_hash(trunk)
    # Non-zero LoRA init so every adapter changes the output.
    return with_adapters(trunk, init=False), sha


def _logits(model, category, batch):
    model.eval()
    with torch.no_grad():
        model.set_adapter(category)
        return model(*batch)


def test_save_then_load_gives_identical_logits(tmp_path):
    model, sha = _model()
    batch = _batch(5)
    before = _logits(model, "craft", batch)
    folder = save_adapter(model, "craft", tmp_path / "craft", sha)
    assert {p.name for p in folder.iterdir()} == {
        "adapter_config.json",
        "adapter_model.safetensors",
        "peam_adapter.json",
    }
    fresh, _ = _model(seed=0)  # same trunk, different (fresh) adapters
    with torch.no_grad():
        for name, p in fresh.named_parameters():
            if "lora_" in name and ".craft." in name:
                p.add_(1.0)
    assert not torch.equal(_logits(fresh, "craft", batch), before)
    assert load_adapter(fresh, "craft", folder, sha)
    assert torch.equal(_logits(fresh, "craft", batch), before)


def _tensors(model, category):
    return {n: p.detach().clone() for n, p in model.named_parameters() if f".{category}." in n}


def test_training_one_adapter_leaves_the_others_bit_identical(tmp_path):
    model, sha = _model()
    for c in ("craft", "gather", "combat"):
        save_adapter(model, c, tmp_path / c, sha)
    files = {
        c: hashlib.sha256((tmp_path / c / "adapter_model.safetensors").read_bytes()).hexdigest()
        for c in ("gather", "combat")
    }
    others = {c: _tensors(model, c) for c in ("gather", "combat")}
    trunk = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" not in n}

    model.train()
    model.set_adapter("craft")
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert trainable and all(
        p.requires_grad == (".craft." in n) for n, p in model.named_parameters()
    )
    opt = torch.optim.Adam(trainable, lr=1e-2)
    batch, target = _batch(8), torch.randint(0, CFG.n_actions, (8,))
    before = _tensors(model, "craft")
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(model(*batch), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    save_adapter(model, "craft", tmp_path / "craft", sha)

    assert any(not torch.equal(before[n], p) for n, p in _tensors(model, "craft").items())
    for c in ("gather", "combat"):
        assert all(torch.equal(others[c][n], p) for n, p in _tensors(model, c).items())
        digest = hashlib.sha256(
            (tmp_path / c / "adapter_model.safetensors").read_bytes()
        ).hexdigest()
        assert digest == files[c]
    assert all(torch.equal(trunk[n], p) for n, p in model.named_parameters() if "lora_" not in n)
    assert trunk_hash(model.get_base_model()) == sha


def test_mixed_batch_equals_per_adapter_sample_by_sample():
    model, _ = _model()
    batch = _batch(6)
    routes = ["craft", "gather", "combat", "craft", "__base__", "gather"]
    mixed_logits = routed_forward(model, *batch, categories=routes)
    for i, category in enumerate(routes):
        one = tuple(t[i : i + 1] for t in batch)
        if category == "__base__":
            with torch.no_grad(), model.disable_adapter():
                logits = model(*one)
        else:
            logits = _logits(model, category, one)
        torch.testing.assert_close(mixed_logits[i : i + 1], logits, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("damage", ["flip_bytes", "truncate", "delete", "wrong_trunk", "missing"])
def test_bad_adapter_is_refused_with_a_warning(tmp_path, damage):
    model, sha = _model()
    folder = save_adapter(model, "gather", tmp_path / "gather", sha)
    weights = folder / "adapter_model.safetensors"
    if damage == "flip_bytes":
        data = bytearray(weights.read_bytes())
        data[-10] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "delete":
        weights.unlink()
    elif damage == "wrong_trunk":
        sha = "0" * 64
    else:
        folder = tmp_path / "nowhere"
    target, _ = _model(seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert load_adapter(target, "gather", folder, sha) is False
    (warning,) = [w for w in caught if issubclass(w.category, AdapterLoadWarning)]
    assert "slow tier takes gather" in str(warning.message)
