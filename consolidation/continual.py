"""Consolidation in stages (one category after another) and the forgetting matrix.

The comparison feeds experience to every parametric agent in the same order,
one category per stage (gather -> craft -> combat), and after each stage
measures held-out action accuracy on every category: the forgetting matrix.

- ``isolated``: PEAM's daemon (one adapter per category), one category per
  stage; the BC-only, no-PW and fixed-threshold variants differ only in the
  daemon's config.
- ``shared``: one LoRA adapter trained on each category in turn.
- ``ewc``: the shared adapter with an elastic-weight-consolidation anchor
  (diagonal Fisher of earlier stages).
- ``full``: the whole trunk fine-tuned in turn, no adapter.

Every variant publishes into the same layout (``trunk/`` + ``adapters/``), so
the fast executor serves it unchanged: the shared adapter's weights are
published under each category; full fine-tuning publishes its trunk and
zero-initialised (identity) adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agent.fast import registry
from agent.fast.adapters import load_adapter, lora_parameters, with_adapters
from agent.fast.trunk import load_trunk, save_trunk
from consolidation.bc import batch_tensors, bc_loss, evaluate_accuracy, train_bc
from consolidation.config import ConsolidateConfig, SingleConfig
from consolidation.daemon import Consolidator, _copy
from envs.tasks import CATEGORIES
from memory.transitions import Transitions

ORDER = ("gather", "craft", "combat")
SINGLE = ("shared", "ewc", "full")
CPU = torch.device("cpu")
Matrix = list[dict[str, float | None]]


def split_by_category(data: Transitions, every: int) -> dict[str, tuple[Transitions, Transitions]]:
    """Per category (train, held-out): every ``every``-th episode of the category held out,
    exactly as the daemon splits it."""
    return {c: data.subset(data.categories == c).split(every) for c in ORDER}


def registry_accuracy(root: Path, held: dict[str, Transitions], table: torch.Tensor) -> dict:
    """Held-out action accuracy per category of what ``root`` serves (trunk alone where a
    category has no adapter)."""
    trunk, meta = load_trunk(root / "trunk")
    model = with_adapters(trunk, CATEGORIES).eval()
    out: dict[str, float | None] = {}
    for c in ORDER:
        part = held[c]
        if len(part) == 0:
            out[c] = None
            continue
        served = registry.latest(root, c) is not None and load_adapter(
            model, c, registry.served_folder(root, c), meta["trunk_sha256"]
        )
        if served:
            model.set_adapter(c)
            out[c] = evaluate_accuracy(lambda r, t, s: model(r, t, s), part, table, CPU)
        else:
            with model.disable_adapter():
                out[c] = evaluate_accuracy(lambda r, t, s: model(r, t, s), part, table, CPU)
    return out


def consolidate_isolated(
    run: Path,
    root: Path,
    config: ConsolidateConfig,
    held: dict[str, Transitions],
    table: torch.Tensor,
    embedder: Any,
    log: Callable[[str], None],
    after_stage: Callable[[str], None] | None = None,
) -> Matrix:
    """PEAM's daemon, one category per stage; ``root`` must hold the trunk already.
    ``after_stage(category)`` is called once each stage has published."""
    matrix = []
    for c in ORDER:
        stage = replace(config, categories=(c,))
        Consolidator(run, stage, root, embedder, log, tensorboard=False).run_once()
        matrix.append(registry_accuracy(root, held, table))
        if after_stage is not None:
            after_stage(c)
    return matrix


def consolidate_single(
    kind: str,
    root: Path,
    parts: dict[str, tuple[Transitions, Transitions]],
    table: torch.Tensor,
    config: SingleConfig,
    log: Callable[[str], None],
) -> Matrix:
    """Train the ``kind`` variant stage by stage from ``root/trunk``, publish it into ``root``."""
    if kind not in SINGLE:
        raise ValueError(f"unknown variant {kind!r}; valid choices: {', '.join(SINGLE)}")
    base, trunk_meta = load_trunk(root / "trunk")
    torch.manual_seed(config.bc.seed)  # fresh LoRA weights: the same on every run
    if kind == "full":
        policy = _copy(base)
        for p in policy.parameters():
            p.requires_grad_(True)
        model: Any = policy
        params = list(policy.parameters())
        bc = replace(config.bc, lr=config.full_lr)
    else:
        model = with_adapters(_copy(base), ("shared",))
        params = list(lora_parameters(model).values())
        bc = config.bc

    def forward(r: torch.Tensor, t: torch.Tensor, s: torch.Tensor) -> Any:
        return model(r, t, s)

    fisher: list[torch.Tensor] = [torch.zeros_like(p) for p in params]
    anchor: list[torch.Tensor] = []
    matrix: Matrix = []
    for c in ORDER:
        train = parts[c][0]
        penalty = _ewc(fisher, params, anchor, config.ewc_lambda) if anchor else None
        if len(train):
            log(f"{kind}: stage {c}, {len(train)} labelled steps")
            model.train()
            train_bc(forward, params, train, table, bc, CPU, penalty=penalty)
            model.eval()
            if kind == "ewc":
                stage_fisher = _fisher(forward, params, train, table, config)
                for f, g in zip(fisher, stage_fisher, strict=True):
                    f += g
                anchor = [p.detach().clone() for p in params]
        matrix.append(
            {d: evaluate_accuracy(forward, parts[d][1], table, CPU) if len(parts[d][1]) else None
             for d in ORDER}
        )  # fmt: skip
    meta = {"trainer": f"continual-{kind}", "stages": list(ORDER), "forgetting_matrix": matrix}
    if kind == "full":
        for p in params:
            p.requires_grad_(False)
        sha = save_trunk(model, root / "trunk", {"variant": "full fine-tuning"})
        for c in CATEGORIES:  # identity adapters: the fine-tuned trunk acts alone
            registry.publish(with_adapters(_copy(model), CATEGORIES), c, root, sha, meta)
        return matrix
    shared = {k: v for k, v in model.state_dict().items() if ".shared." in k}
    for c in CATEGORIES:
        target = with_adapters(_copy(base), CATEGORIES)
        renamed = {k.replace(".shared.", f".{c}."): v for k, v in shared.items()}
        missing = target.load_state_dict(renamed, strict=False)
        if missing.unexpected_keys:
            raise RuntimeError(f"shared adapter keys do not fit: {missing.unexpected_keys[:3]}")
        registry.publish(target, c, root, trunk_meta["trunk_sha256"], meta)
    return matrix


def _ewc(fisher: list, params: list, anchor: list, lam: float) -> Callable[[], torch.Tensor]:
    """EWC's quadratic anchor: lambda/2 * sum F (theta - theta*)^2."""
    frozen = list(zip(fisher, params, anchor, strict=True))

    def penalty() -> torch.Tensor:
        return 0.5 * lam * sum((f * (p - a) ** 2).sum() for f, p, a in frozen)

    return penalty


def _fisher(forward, params, data: Transitions, table, config: SingleConfig) -> list[torch.Tensor]:
    """Diagonal empirical Fisher of the BC loss over a sample of ``data`` (batches of 32)."""
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(data), min(config.fisher_samples, len(data)), replace=False))
    out = [torch.zeros_like(p) for p in params]
    chunks = np.array_split(idx, max(1, len(idx) // 32))
    for chunk in chunks:
        loss, _ = bc_loss(forward, batch_tensors(data, chunk, table, CPU))
        for o, g in zip(out, torch.autograd.grad(loss, params), strict=True):
            o += g.detach() ** 2 / len(chunks)
    return out
