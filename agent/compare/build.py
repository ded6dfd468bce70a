"""Build every compared agent's memory from one run's experience, stage by stage.

Experience is fed in category stages (gather -> craft -> combat) to every
memory. After each stage the build records held-out action accuracy on every
category (the forgetting matrix) and the bytes the memory takes (memory as
experience grows). Each agent's folder gets ``build.json``; a finished build
is not redone (``peam compare`` can be re-run to resume).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agent.fast import registry
from agent.fast.trunk import save_trunk
from consolidation.config import BCConfig, ConsolidateConfig, SingleConfig
from consolidation.continual import ORDER, SINGLE, consolidate_isolated, consolidate_single
from consolidation.plan_rounds import PlanRoundConfig, consolidate_plans
from consolidation.trunk import train_trunk as trunk_bc
from envs.config import ConfigError, load_dataclass
from memory.atomic import atomic_write
from memory.config import RetrievalConfig
from memory.plans import PlanMemory
from memory.retrieval import RetrievalMemory, key_dim, teacher_targets
from memory.transitions import Transitions

Log = Callable[[str], None]
BUILD = "build.json"


def train_trunk(train: Transitions, table: torch.Tensor, epochs: float, folder: Path) -> None:
    """The shared trunk every parametric agent starts from: BC on the training steps."""
    policy, _ = trunk_bc(train, table, BCConfig(epochs=epochs))
    save_trunk(policy, folder, {"data_sha256": train.digest(), "transitions": len(train)})


def memory_bytes(root: Path) -> int:
    """Bytes of what a parametric agent serves: trunk weights + served adapter weights."""
    total = (root / "trunk" / "trunk.safetensors").stat().st_size
    for c in ORDER:
        if registry.latest(root, c) is not None:
            folder = registry.served_folder(root, c)
            total += sum(p.stat().st_size for p in folder.glob("*.safetensors"))
    return total


def build_parametric(
    name: str,
    spec: Any,
    experience: Path,
    trunk: Path,
    root: Path,
    parts: dict[str, tuple[Transitions, Transitions]],
    table: torch.Tensor,
    compare: Any,
    embedder: Any,
    log: Log,
) -> dict[str, Any]:
    if root.exists():
        shutil.rmtree(root)  # an unfinished build: start it over
    shutil.copytree(trunk, root / "trunk")
    held = {c: parts[c][1] for c in ORDER}
    started = time.perf_counter()
    if spec.variant == "isolated":
        cfg = load_dataclass(
            ConsolidateConfig,
            compare.consolidate,
            [*compare.consolidate_set, *spec.set],
            "configs/consolidate/",
        )
        cfg.validate_every = compare.validate_every
        sizes: list[int] = []
        matrix = consolidate_isolated(
            experience,
            root,
            cfg,
            held,
            table,
            embedder,
            log,
            after_stage=lambda _c: sizes.append(memory_bytes(root)),
        )
    elif spec.variant in SINGLE:
        cfg_single = load_dataclass(SingleConfig, None, spec.set, "configs/compare/")
        matrix = consolidate_single(spec.variant, root, parts, table, cfg_single, log)
        # One model of a fixed size trained in place at every stage, published at the end.
        sizes = [memory_bytes(root)] * len(ORDER)
    else:
        raise ConfigError(
            f"agents.{name}.variant {spec.variant!r} unknown; valid: isolated, {', '.join(SINGLE)}"
        )
    steps = np.cumsum([len(parts[c][0]) for c in ORDER]).tolist()
    plans = _plan_heads(experience, root, compare, spec, embedder, log) if spec.plans else None
    return {
        "kind": "peam",
        "variant": spec.variant,
        "plan_heads": plans,
        "matrix": matrix,
        "growth": [{"steps": int(s), "bytes": b} for s, b in zip(steps, sizes, strict=True)],
        "seconds": time.perf_counter() - started,
    }


def _plan_heads(
    experience: Path, root: Path, compare: Any, spec: Any, embedder: Any, log: Log
) -> dict[str, Any]:
    """One plan head per category from the experience's verified plans, through the same
    trigger level as the adapters (``consolidation.plan_rounds``)."""
    cfg = load_dataclass(
        ConsolidateConfig, compare.consolidate, [*compare.consolidate_set, *spec.set],
        "configs/consolidate/",
    )  # fmt: skip
    plans = PlanRoundConfig(alpha=cfg.trigger.alpha, validate_every=compare.validate_every)
    rows = consolidate_plans(
        experience / "store.sqlite", root, embedder.embed, plans, compare.tasks_file, log
    )
    return {c: r.get("decision", r["trigger"]["reason"]) for c, r in rows.items()}


def build_retrieval(
    spec: Any,
    experience: Path,
    root: Path,
    parts: dict[str, tuple[Transitions, Transitions]],
    table: np.ndarray,
    embedder: Any,
    tasks_file: str,
) -> dict[str, Any]:
    if root.exists():
        shutil.rmtree(root)
    started = time.perf_counter()
    config = RetrievalConfig(kind=spec.index, k=spec.k)
    memory = RetrievalMemory(key_dim(table.shape[1], config), config)
    matrix, growth, seen = [], [], 0
    for c in ORDER:
        train = parts[c][0]
        if len(train):
            targets = teacher_targets(train.actions, train.labels)
            memory.add(train.grids, train.vectors, table[train.text_ids], targets)
        seen += len(train)
        growth.append({"steps": seen, "bytes": memory.nbytes() if len(memory) else 0})
        row: dict[str, float | None] = {}
        for d in ORDER:
            held = parts[d][1]
            if not len(held) or not len(memory):
                row[d] = None
                continue
            got = memory.act(held.grids, held.vectors, table[held.text_ids], 17)
            row[d] = float(((held.labels >> got) & 1).mean())  # one of the teacher's actions
        matrix.append(row)
    memory.save(root)
    plans = PlanMemory(embedder)
    plans.grow(experience / "store.sqlite", tasks_file)
    plans.save(root / "plans")
    return {
        "kind": "retrieval",
        "index": spec.index,
        "matrix": matrix,
        "growth": growth,
        "plans": len(plans),
        "seconds": time.perf_counter() - started,
    }


def write_build(folder: Path, build: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / BUILD, json.dumps(build, indent=2))
