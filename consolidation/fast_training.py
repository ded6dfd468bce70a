"""`peam train-fast`: the fast tier from recorded experience, in one folder.

1. Trunk: behaviour cloning on every verified step in the stores, then frozen
   and saved (``trunk/``: safetensors + config + hash).
2. Adapters: one LoRA adapter per category, each trained by behaviour cloning
   only on its category's verified steps (``adapters/<category>/``, peft format).
3. Gate: subgoal embedding -> category (``gate/``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from agent.fast import registry
from agent.fast.adapters import is_lora, with_adapters
from agent.fast.device import resolve_device
from agent.fast.gate import save_gate, train_gate
from agent.fast.trunk import save_trunk
from consolidation.bc import Forward, evaluate_accuracy, train_bc
from consolidation.config import BCConfig, FastTrainConfig
from consolidation.trunk import train_trunk
from memory.atomic import atomic_write
from memory.text_embedding import SubgoalEmbedder
from memory.transitions import Transitions, load_transitions

Progress = Callable[[str, int, int], None]


def text_table(data: Transitions, embedder: SubgoalEmbedder, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(embedder.embed(data.texts)).to(device)


def train_adapter(
    model: torch.nn.Module,
    category: str,
    data: Transitions,
    table: torch.Tensor,
    config: BCConfig,
    device: torch.device,
    on_update: Callable[[int, int, float], None] | None = None,
) -> dict:
    """BC for one category's adapter: only that adapter's LoRA weights get gradients."""
    model.set_adapter(category)
    params = []
    for name, p in model.named_parameters():
        mine = is_lora(name, category)
        p.requires_grad_(mine)
        if mine:
            params.append(p)
    model.train()
    result = train_bc(
        lambda r, t, s: model(r, t, s),
        params,
        data,
        table,
        config,
        device,
        on_update,
        autocast=device.type == "cuda",
    )
    for p in params:
        p.requires_grad_(False)
    model.eval()
    return {"losses": result.losses, "accuracy": result.accuracy, "updates": result.updates}


def train_fast(
    stores: list[Path],
    out: Path,
    config: FastTrainConfig | None = None,
    progress: Progress | None = None,
    embedder: SubgoalEmbedder | None = None,
) -> dict:
    """Train trunk, adapters and gate from ``stores`` into ``out``; returns the metrics written."""
    cfg = config or FastTrainConfig()
    device = resolve_device(cfg.device)
    start = time.perf_counter()
    everything = load_transitions(stores, cfg.categories, max_transitions=cfg.max_transitions)
    unseen = int(everything.unseen.sum()) if cfg.drop_unseen else 0
    if unseen:  # labels no memory-reading policy can learn (as PW drops them in later rounds)
        everything = everything.subset(~everything.unseen)
    data, val = everything.split(cfg.validate_every)
    embedder = embedder or SubgoalEmbedder()
    table = text_table(everything, embedder, device)
    report: dict = {
        "stores": [str(p) for p in stores],
        "transitions": len(data),
        "validation_transitions": len(val),
        "unseen_dropped": unseen,
    }

    def val_accuracy(forward: Forward, category: str | None = None) -> float | None:
        part = val if category is None else val.subset(val.categories == category)
        return evaluate_accuracy(forward, part, table, device) if len(part) else None

    def hook(stage: str) -> Callable[[int, int, float], None] | None:
        return None if progress is None else (lambda i, n, _loss: progress(stage, i, n))

    policy, trunk = train_trunk(data, table, cfg.trunk, device, cfg.policy, hook("trunk"))
    policy.to(device)
    trunk_val = val_accuracy(lambda r, t, s: policy(r, t, s))
    trunk_val_by_category = {
        c: val_accuracy(lambda r, t, s: policy(r, t, s), c) for c in cfg.categories
    }
    policy = policy.cpu()
    sha = save_trunk(
        policy,
        out / "trunk",
        {"data_sha256": data.digest(), "transitions": len(data), "bc": asdict(cfg.trunk)},
    )
    report["trunk"] = {
        "sha256": sha,
        "accuracy": trunk.accuracy,
        "val_accuracy": trunk_val,
        "losses": trunk.losses,
    }

    model = with_adapters(policy, cfg.categories, r=cfg.lora_rank).to(device)
    report["adapters"] = {}
    for category in cfg.categories:
        mine = data.subset(data.categories == category)
        if len(mine) == 0:
            report["adapters"][category] = {"skipped": "no verified steps"}
            continue
        metrics = train_adapter(
            model, category, mine, table, cfg.adapter, device, hook(f"adapter {category}")
        )
        model.cpu()
        version = registry.publish(
            model,
            category,
            out,
            sha,
            {
                "data_sha256": mine.digest(),
                "transitions": len(mine),
                "trainer": "bc",
                "losses": metrics["losses"],
            },
        )
        model.to(device)
        model.set_adapter(category)
        metrics["val_accuracy"] = val_accuracy(lambda r, t, s: model(r, t, s), category)
        metrics["trunk_val_accuracy"] = trunk_val_by_category[category]
        report["adapters"][category] = {"transitions": len(mine), "version": version, **metrics}

    every = everything
    labels = [str(every.categories[every.text_ids == i][0]) for i in range(len(every.texts))]
    gate = train_gate(embedder.embed(every.texts), labels, cfg.categories)
    save_gate(gate, out / "gate")
    report["seconds"] = time.perf_counter() - start
    atomic_write(out / "train.json", json.dumps(report, indent=2, default=_plain))
    return report


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value)}")
