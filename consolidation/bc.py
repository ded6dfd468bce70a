"""Behaviour cloning for the fast tier: the trunk once, then one category's LoRA adapter.

The loss is the cross-entropy of the teacher's label *set* (the log of the
probability the policy gives to any of its equally good actions), so ties are not
broken arbitrarily. Training the trunk updates every trunk weight; training an
adapter updates only that adapter's LoRA weights (the trunk is frozen and
other adapters are not touched: see ``agent.fast.adapters``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from consolidation import distributed
from consolidation.config import BCConfig
from memory.transitions import Transitions

Forward = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class BCResult:
    losses: list[float]
    """Mean loss per logged chunk of updates."""
    accuracy: float
    """On the training data at the end: how often the argmax is one of the teacher's actions."""
    updates: int


def batch_tensors(
    data: Transitions, idx: np.ndarray, text_table: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor, ...]:
    """(grid, text, vector, label bitmask, action taken) on ``device``."""
    return (
        torch.from_numpy(data.grids[idx]).to(device),
        text_table[torch.from_numpy(data.text_ids[idx]).to(device)],
        torch.from_numpy(data.vectors[idx]).to(device),
        torch.from_numpy(data.labels[idx]).to(device),
        torch.from_numpy(data.actions[idx]).to(device),
    )


def label_mask(labels: torch.Tensor, n_actions: int) -> torch.Tensor:
    """(B,) bitmasks -> (B, n_actions) bool."""
    bits = torch.arange(n_actions, device=labels.device)
    return ((labels[:, None] >> bits[None, :]) & 1).bool()


def set_log_prob(logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """(B,) log of the probability of any action in each row's label set."""
    logits = logits.float()
    chosen = logits.masked_fill(~label, float("-inf")).logsumexp(-1)
    return chosen - logits.logsumexp(-1)


def bc_loss(forward: Forward, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, per-sample "argmax is a teacher action" flags) for one batch."""
    grid, text, vector, labels, _ = batch
    logits = forward(grid, text, vector)
    label = label_mask(labels, logits.shape[-1])
    loss = -set_log_prob(logits, label).mean()
    hit = label.gather(1, logits.argmax(-1, keepdim=True)).squeeze(1)
    return loss, hit


def run_updates(
    forward: Forward,
    params: list[nn.Parameter],
    data: Transitions,
    text_table: torch.Tensor,
    config: BCConfig,
    device: torch.device,
    batch_at: Callable[[int], np.ndarray],
    updates: range,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    *,
    extra: Callable[[int], torch.Tensor] | None = None,
    extra_weight: float = 1.0,
    penalty: Callable[[], torch.Tensor] | None = None,
    autocast: bool = False,
    on_update: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[str, list[float]]:
    """The behaviour-cloning loop every trainer shares (trunk, adapters, consolidation).

    Each update: the batch ``batch_at(update)`` (this rank's share of it), the BC loss,
    plus ``penalty()`` (e.g. EWC's anchor), plus ``extra_weight * extra(update)`` (the
    preference term); backward, gradients averaged across ranks, optimizer and schedule
    step. ``on_update(done, losses)`` sees each update's losses. Returns the loss curves
    (mean per ``config.log_every`` updates): ``bc`` and, with ``extra``, ``extra``.
    """
    curves: dict[str, list[float]] = {"bc": [], "extra": []}
    chunk: dict[str, list[float]] = {"bc": [], "extra": []}
    for update in updates:
        # ---- the batch and its losses ----------------------------------------------------
        idx = distributed.shard(batch_at(update))  # this rank's part of the batch
        batch = batch_tensors(data, idx, text_table, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            loss, _ = bc_loss(forward, batch)
        if penalty is not None:
            loss = loss + penalty()
        losses = {"bc": float(loss.detach())}
        if extra is not None:
            term = extra(update)
            losses["extra"] = float(term.detach())
            loss = loss + extra_weight * term
        # ---- the update ------------------------------------------------------------------
        opt.zero_grad(set_to_none=True)
        loss.backward()
        distributed.sync_grads(params)
        opt.step()
        sched.step()
        for name, value in losses.items():
            chunk[name].append(value)
        if len(chunk["bc"]) == config.log_every or update == updates.stop - 1:
            for name in curves:
                if chunk[name]:
                    curves[name].append(float(np.mean(chunk[name])))
                chunk[name] = []
        if on_update is not None:
            on_update(update + 1, losses)
    return curves


def train_bc(
    forward: Forward,
    params: list[nn.Parameter],
    data: Transitions,
    text_table: torch.Tensor,
    config: BCConfig | None = None,
    device: torch.device | None = None,
    on_update: Callable[[int, int, float], None] | None = None,
    autocast: bool = False,
    penalty: Callable[[], torch.Tensor] | None = None,
) -> BCResult:
    """Minimise the BC loss over ``params`` (the caller decides which weights train).

    ``text_table`` holds one embedding row per ``data.texts`` entry.
    ``on_update(done, total, loss)`` is called after every update (progress bars).
    ``penalty()`` is added to every update's loss (e.g. EWC's quadratic anchor).
    """
    cfg = config or BCConfig()
    device = device or torch.device("cpu")
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    per_epoch = max(1, int(np.ceil(len(data) / cfg.batch_size)))
    total = max(1, round(cfg.epochs * per_epoch))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    order, cursor = rng.permutation(len(data)), 0

    def batch_at(update: int) -> np.ndarray:
        # Full batches from a shuffled order; a fresh order once it cannot fill one.
        nonlocal order, cursor
        if cursor + cfg.batch_size > len(order) and cursor > 0:
            order, cursor = rng.permutation(len(data)), 0
        idx = np.sort(order[cursor : cursor + cfg.batch_size])
        cursor += cfg.batch_size
        return idx

    def progress(done: int, losses: dict[str, float]) -> None:
        if on_update is not None:
            on_update(done, total, losses["bc"])

    curves = run_updates(
        forward, params, data, text_table, cfg, device, batch_at, range(total), opt, sched,
        penalty=penalty, autocast=autocast, on_update=progress,
    )  # fmt: skip
    return BCResult(curves["bc"], evaluate_accuracy(forward, data, text_table, device), total)


@torch.no_grad()
def acts_as_taught(
    forward: Forward, data: Transitions, text_table: torch.Tensor, device: torch.device
) -> np.ndarray:
    """Per state of ``data``: the policy's most probable action is one of the teacher's."""
    out = [np.zeros(0, dtype=bool)]
    for start in range(0, len(data), 1024):
        idx = np.arange(start, min(start + 1024, len(data)))
        batch = batch_tensors(data, idx, text_table, device)
        out.append(bc_loss(forward, batch)[1].cpu().numpy().astype(bool))
    return np.concatenate(out)


def evaluate_accuracy(
    forward: Forward, data: Transitions, text_table: torch.Tensor, device: torch.device
) -> float:
    return int(acts_as_taught(forward, data, text_table, device).sum()) / max(1, len(data))
