"""The frozen trunk on disk: ``trunk.safetensors`` + ``trunk.json`` (config, hashes, provenance).

Adapters record the trunk's sha256; loading checks the file hash and the
parameter hash, so an adapter is never applied to a trunk it was not trained on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from agent.fast.adapters import trunk_hash
from agent.fast.config import PolicyConfig
from agent.fast.policy import FastPolicy
from memory.atomic import atomic_write, atomic_write_bytes

WEIGHTS = "trunk.safetensors"
META = "trunk.json"


class TrunkError(RuntimeError):
    """The trunk folder is missing, corrupt, or does not match its metadata."""


def save_trunk(policy: FastPolicy, folder: Path, provenance: dict[str, Any]) -> str:
    """Write the trunk atomically; returns its parameter sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in policy.state_dict().items()}
    blob = save(state)
    atomic_write_bytes(folder / WEIGHTS, blob)
    sha = trunk_hash(policy)
    meta = {
        "config": policy.config.to_dict(),
        "trunk_sha256": sha,
        "file_sha256": hashlib.sha256(blob).hexdigest(),
        **provenance,
    }
    atomic_write(folder / META, json.dumps(meta, indent=2))
    return sha


def load_trunk(folder: Path, device: str | torch.device = "cpu") -> tuple[FastPolicy, dict]:
    """The trunk, frozen and in eval mode, with its metadata; :class:`TrunkError` on any problem."""
    weights, meta_path = folder / WEIGHTS, folder / META
    if not weights.exists() or not meta_path.exists():
        raise TrunkError(
            f"no trunk in {folder} (need {WEIGHTS} and {META}); train one with `peam train-fast`"
        )
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise TrunkError(f"{meta_path} is corrupt ({err}); retrain with `peam train-fast`") from err
    if hashlib.sha256(weights.read_bytes()).hexdigest() != meta.get("file_sha256"):
        raise TrunkError(f"{weights} is corrupt (sha256 mismatch); retrain with `peam train-fast`")
    policy = FastPolicy(PolicyConfig(**meta["config"]))
    policy.load_state_dict(load_file(str(weights)))
    if trunk_hash(policy) != meta.get("trunk_sha256"):
        raise TrunkError(f"{folder}: parameters do not match the recorded trunk sha256")
    for p in policy.parameters():
        p.requires_grad_(False)
    return policy.to(device).eval(), meta
