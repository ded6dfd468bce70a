"""Behaviour cloning for the fast tier: the trunk once, then one category's LoRA adapter.

The loss is cross-entropy on the verified action plus a binary term on the
subgoal-done head. Training the trunk updates every trunk weight; training an
adapter updates only that adapter's LoRA weights (the trunk is frozen and
other adapters are not touched: see ``agent.fast.adapters``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from consolidation import distributed
from consolidation.config import BCConfig
from memory.transitions import Transitions

Forward = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class BCResult:
    losses: list[float]
    """Mean loss per logged chunk of updates."""
    accuracy: float
    """Action accuracy on the training data at the end (argmax vs the verified action)."""
    updates: int


def batch_tensors(
    data: Transitions, idx: np.ndarray, text_table: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor, ...]:
    return (
        torch.from_numpy(data.frames[idx]).to(device),
        text_table[torch.from_numpy(data.text_ids[idx]).to(device)],
        torch.from_numpy(data.states[idx]).to(device),
        torch.from_numpy(data.actions[idx]).to(device),
        torch.from_numpy(data.done[idx]).to(device),
    )


def bc_loss(
    forward: Forward, batch: tuple[torch.Tensor, ...], done_weight: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, per-sample correct-argmax flags) for one batch."""
    rgb, text, state, action, done = batch
    logits, done_logit = forward(rgb, text, state)
    loss = F.cross_entropy(logits.float(), action)
    loss = loss + done_weight * F.binary_cross_entropy_with_logits(done_logit.float(), done)
    return loss, logits.argmax(-1) == action


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
            loss, _ = bc_loss(forward, batch, config.done_weight)
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
def evaluate_accuracy(
    forward: Forward, data: Transitions, text_table: torch.Tensor, device: torch.device
) -> float:
    correct = 0
    for start in range(0, len(data), 1024):
        idx = np.arange(start, min(start + 1024, len(data)))
        batch = batch_tensors(data, idx, text_table, device)
        correct += int(bc_loss(forward, batch, 0.0)[1].sum())
    return correct / max(1, len(data))
