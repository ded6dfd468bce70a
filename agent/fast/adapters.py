"""Per-category LoRA skill adapters on a frozen trunk, made and saved with ``peft``.

One adapter per category (craft, gather, combat), each in its own folder in
peft's own format plus ``peam_adapter.json`` (trunk hash, file hashes). The
adapters share no parameters: training one cannot change another. A missing,
corrupt or mismatched adapter is refused with a warning; the caller falls
back to the slow tier.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from torch import nn

from agent.fast.policy import LORA_TARGETS, FastPolicy
from envs.tasks import CATEGORIES


def is_lora(name: str, category: str | None = None) -> bool:
    """Is parameter ``name`` a LoRA weight (of ``category``'s adapter, when given)?"""
    return "lora_" in name and (category is None or f".{category}." in name)


def lora_parameters(model: nn.Module, category: str | None = None) -> dict[str, nn.Parameter]:
    """The LoRA parameters of ``model`` by name: every adapter's, or ``category``'s only."""
    return {n: p for n, p in model.named_parameters() if is_lora(n, category)}


META = "peam_adapter.json"
WEIGHTS = "adapter_model.safetensors"


class AdapterLoadWarning(UserWarning):
    """An adapter could not be used; the slow tier takes its subgoals."""


def trunk_hash(trunk: torch.nn.Module) -> str:
    """sha256 over the trunk's parameters (names, shapes, bytes) in name order.

    LoRA weights are skipped and peft's renaming undone, so the trunk hashes
    the same before and after adapters are attached (plain or wrapped).
    """
    digest = hashlib.sha256()
    params = {
        name.replace(".base_layer", "").removeprefix("base_model.model."): tensor
        for name, tensor in trunk.state_dict().items()
        if not is_lora(name)
    }
    for name, tensor in sorted(params.items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def lora_config(r: int = 8, alpha: int = 16, init: bool = True) -> LoraConfig:
    return LoraConfig(
        r=r, lora_alpha=alpha, target_modules=list(LORA_TARGETS), init_lora_weights=init
    )


def with_adapters(
    trunk: FastPolicy, categories: tuple[str, ...] = CATEGORIES, r: int = 8, init: bool = True
) -> PeftModel:
    """The frozen trunk wrapped with one fresh LoRA adapter per category."""
    for p in trunk.parameters():
        p.requires_grad_(False)
    model = get_peft_model(trunk, lora_config(r, init=init), adapter_name=categories[0])
    for category in categories[1:]:
        model.add_adapter(category, lora_config(r, init=init))
    return model


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_adapter(
    model: PeftModel,
    category: str,
    folder: Path,
    trunk_sha: str,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``category``'s adapter to ``folder`` atomically (temp dir, fsync, os.replace).

    ``extra`` goes into ``peam_adapter.json`` beside the hashes (provenance, metrics).
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        model.save_pretrained(tmp, selected_adapters=[category])
        src = tmp / category if (tmp / category).is_dir() else tmp
        files = {p.name: _sha256(p) for p in sorted(src.iterdir()) if p.is_file()}
        meta = {"category": category, "trunk_sha256": trunk_sha, "files": files, **(extra or {})}
        (src / META).write_text(json.dumps(meta, indent=2))
        for p in src.iterdir():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(src, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def load_adapter(model: PeftModel, category: str, folder: Path, trunk_sha: str) -> bool:
    """Load ``category``'s adapter from ``folder``; on any problem warn and return False."""
    problem = try_load_adapter(model, category, folder, trunk_sha)
    if problem is None:
        return True
    warnings.warn(
        f"adapter {category!r} at {folder} not used: {problem}; the slow tier takes {category}"
        " subgoals",
        AdapterLoadWarning,
        stacklevel=2,
    )
    return False


def try_load_adapter(model: PeftModel, category: str, folder: Path, trunk_sha: str) -> str | None:
    """Load ``category``'s adapter from ``folder``; None, or what is wrong with it."""
    problem = _check(folder, trunk_sha)
    if problem is not None:
        return problem
    try:
        active = model.active_adapter
        if category in model.peft_config:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "active adapter deleted": restored below
                model.delete_adapter(category)
        model.load_adapter(str(folder), adapter_name=category)
        if active in model.peft_config:
            model.set_adapter(active)
        return None
    except (OSError, ValueError, RuntimeError, KeyError) as err:
        return f"peft could not load it ({err})"


def _check(folder: Path, trunk_sha: str) -> str | None:
    meta_path = folder / META
    if not meta_path.exists():
        return "missing (no peam_adapter.json)"
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError:
        return "peam_adapter.json is corrupt"
    if meta.get("trunk_sha256") != trunk_sha:
        return "it was trained on a different trunk (trunk sha256 mismatch)"
    for name, digest in meta.get("files", {}).items():
        path = folder / name
        if not path.exists():
            return f"{name} is missing"
        if _sha256(path) != digest:
            return f"{name} is corrupt (sha256 mismatch)"
    if WEIGHTS not in meta.get("files", {}):
        return f"{WEIGHTS} is missing"
    return None


@torch.no_grad()
def routed_forward(
    model: PeftModel,
    grid: torch.Tensor,
    text: torch.Tensor,
    vector: torch.Tensor,
    categories: list[str],
) -> torch.Tensor:
    """One forward where sample i uses adapter ``categories[i]`` (``__base__`` = trunk only)."""
    model.eval()
    return model(grid, text, vector, adapter_names=categories)


@torch.no_grad()
def merged_policy(model: PeftModel, category: str) -> FastPolicy:
    """A plain policy whose weights are trunk + ``category``'s LoRA delta (W + s * B @ A).

    Gives the same outputs as the adapter through peft at a fraction of the
    per-call overhead: the batch-1 path of the fast tier.
    """
    from peft.tuners.lora import LoraLayer

    inner = model.base_model.model
    state = {}
    for name, tensor in inner.state_dict().items():
        if not is_lora(name):
            state[name.replace(".base_layer", "")] = tensor.clone()
    for name, module in inner.named_modules():
        if isinstance(module, LoraLayer) and category in module.lora_A:
            a = module.lora_A[category].weight
            b = module.lora_B[category].weight
            state[f"{name}.weight"] += (b @ a) * module.scaling[category]
    policy = FastPolicy(inner.config)
    policy.load_state_dict(state)
    return policy.to(next(inner.parameters()).device).eval()
