"""Consolidation training of one category's adapter: one round, anchored to the served version.

Each update minimises

    L = L_bc + dpo_weight * L_pref + kl_weight * L_kl

- ``L_bc``: cross-entropy of the teacher's label set (``consolidation.bc``) on a batch of
  the round's data (new labelled steps mixed with the replay reservoir).
- ``L_pref``: a per-step DPO term on failure-correction pairs aligned on one state: where
  the fast tier acted and its action ``l`` is not among the teacher's actions ``W``,
  ``-log sigmoid(beta * ((log pi(W|s) - log ref(W|s)) - (log pi(l|s) - log ref(l|s))))``,
  with ``ref`` the adapter version being replaced, frozen.
- ``L_kl``: a trust region, KL(ref || pi) on replay states, so what earlier rounds
  learned is kept.

The learning rate warms up linearly, then decays (cosine) over a fixed update budget.
Only the category's LoRA weights get gradients. The loop is stateless in its
randomness (batches derive from (seed, update)), and the reference is computed before
training from the served version, so a checkpoint (adapter weights, optimizer, update
index) resumes a round exactly.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save

from agent.fast.adapters import lora_parameters
from consolidation import distributed
from consolidation.bc import batch_tensors, label_mask, run_updates, set_log_prob
from consolidation.config import TrainerConfig
from memory.atomic import atomic_write, atomic_write_bytes
from memory.transitions import Transitions


@dataclass
class TrainResult:
    updates: int
    resumed_from: int
    bc_losses: list[float]
    extra_losses: list[float]
    """Preference + trust-region terms (weighted), per logged chunk."""
    pairs: int
    """State-aligned failure-correction pairs in the data."""
    replay: int
    """Replay states the trust region anchors."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def step_pairs(data: Transitions) -> np.ndarray:
    """Indices of state-aligned failure-correction pairs: fast-tier steps whose action is not
    one the teacher rates best there (the teacher's set is the correction)."""
    return np.flatnonzero((data.actors == "fast") & ~data.agrees())


@torch.no_grad()
def reference_log_probs(forward, data: Transitions, table, device) -> torch.Tensor:
    """(N, n_actions) log-softmax of the model as it is now (the served version) on ``data``."""
    out = []
    for start in range(0, len(data), 1024):
        idx = np.arange(start, min(start + 1024, len(data)))
        grid, text, vector, _, _ = batch_tensors(data, idx, table, device)
        out.append(torch.log_softmax(forward(grid, text, vector).float(), -1))
    return torch.cat(out) if out else torch.zeros(0, 1, device=device)


def train_category(
    model: Any,
    category: str,
    data: Transitions,
    table: torch.Tensor,
    config: TrainerConfig | None = None,
    device: torch.device | None = None,
    checkpoint: Path | None = None,
    on_update: Callable[[int, int, dict[str, float]], None] | None = None,
    replay: np.ndarray | None = None,
) -> TrainResult:
    """Train ``category``'s adapter in ``model`` (a peft model over the frozen trunk, with
    the served version of the adapter loaded: the reference) for one round.

    ``replay``: (N,) bool, the rows of ``data`` from the replay reservoir (the trust
    region's states). ``checkpoint``: a folder to save to every few updates and to
    resume from when it holds a job for the same data and config.
    """
    cfg = config or TrainerConfig()
    device = device or torch.device("cpu")
    model.set_adapter(category)
    model.eval()
    forward = lambda g, t, v: model(g, t, v)  # noqa: E731
    ref = reference_log_probs(forward, data, table, device)
    params = lora_parameters(model, category)
    for name, p in model.named_parameters():
        p.requires_grad_(name in params)
    opt = torch.optim.AdamW(params.values(), lr=cfg.bc.lr, weight_decay=cfg.bc.weight_decay)
    total, warm = max(1, cfg.updates), max(0, cfg.warmup)

    def lr_at(u: int) -> float:
        if u < warm:
            return (u + 1) / warm
        return 0.5 * (1.0 + math.cos(math.pi * min(u - warm, total - warm) / max(1, total - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    pairs = step_pairs(data) if not cfg.bc_only else np.zeros(0, dtype=np.int64)
    anchors = np.flatnonzero(replay) if replay is not None else np.zeros(0, dtype=np.int64)
    job = {
        "category": category,
        "data_sha256": data.digest(),
        "pairs": len(pairs),
        "replay": len(anchors),
        "config": asdict(cfg),
        "total": total,
    }
    start = _resume(checkpoint, job, model, params, opt) if checkpoint else 0
    for _ in range(start):
        sched.step()
    per_epoch = max(1, -(-len(data) // cfg.bc.batch_size))

    def batch_at(update: int) -> np.ndarray:
        # Stateless: the order of an epoch derives from (seed, epoch), so a resume is exact.
        epoch, pos = divmod(update, per_epoch)
        order = np.random.default_rng([cfg.bc.seed, epoch]).permutation(len(data))
        return np.sort(order[pos * cfg.bc.batch_size : (pos + 1) * cfg.bc.batch_size])

    def anchored(update: int) -> torch.Tensor:
        rng = np.random.default_rng([cfg.bc.seed, 1, update])
        term = torch.zeros((), device=device)
        if len(pairs) and cfg.dpo_weight > 0:
            idx = np.sort(rng.choice(pairs, min(cfg.pairs_per_update, len(pairs)), False))
            term = term + cfg.dpo_weight * _preference(forward, data, table, ref, idx, cfg, device)
        if len(anchors) and cfg.kl_weight > 0:
            idx = np.sort(rng.choice(anchors, min(cfg.kl_batch, len(anchors)), False))
            term = term + cfg.kl_weight * _trust_region(forward, data, table, ref, idx, device)
        return term

    def after(done: int, losses: dict[str, float]) -> None:
        if on_update is not None:
            on_update(done, total, {"bc": losses["bc"], "anchor": losses.get("extra", 0.0)})
        at = done % cfg.checkpoint_every == 0 or done == total
        if checkpoint is not None and at and distributed.is_main():
            _save(checkpoint, job, done, params, opt)

    model.train()
    extra = anchored if len(pairs) or len(anchors) else None
    curves = run_updates(
        forward, list(params.values()), data, table, cfg.bc, device,
        batch_at, range(start, total), opt, sched, extra=extra, on_update=after,
    )  # fmt: skip
    model.eval()
    for p in params.values():
        p.requires_grad_(False)
    return TrainResult(total, start, curves["bc"], curves["extra"], len(pairs), len(anchors))


def _preference(forward, data, table, ref, idx, cfg, device) -> torch.Tensor:
    """Per-step DPO: the teacher's set W over the fast tier's action l, against the reference."""
    grid, text, vector, labels, action = batch_tensors(data, idx, table, device)
    logits = forward(grid, text, vector).float()
    mask = label_mask(labels, logits.shape[-1])
    logp = torch.log_softmax(logits, -1)
    ref_rows = ref[torch.from_numpy(idx).to(device)]
    win = set_log_prob(logits, mask) - ref_rows.masked_fill(~mask, float("-inf")).logsumexp(-1)
    lose = (logp - ref_rows).gather(1, action[:, None])[:, 0]
    return -F.logsigmoid(cfg.dpo_beta * (win - lose)).mean()


def _trust_region(forward, data, table, ref, idx, device) -> torch.Tensor:
    """KL(ref || pi) averaged over replay states."""
    grid, text, vector, _, _ = batch_tensors(data, idx, table, device)
    logp = torch.log_softmax(forward(grid, text, vector).float(), -1)
    ref_rows = ref[torch.from_numpy(idx).to(device)]
    return (ref_rows.exp() * (ref_rows - logp)).sum(-1).mean()


def _save(folder: Path, job: dict, done: int, params: dict, opt: torch.optim.Optimizer) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    weights = {n: p.detach().cpu().contiguous() for n, p in params.items()}
    atomic_write_bytes(folder / "adapter.safetensors", save(weights))
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    atomic_write_bytes(folder / "optimizer.pt", buf.getvalue())
    atomic_write(folder / "job.json", json.dumps({**job, "done": done}, indent=2))


def _resume(folder: Path, job: dict, model, params: dict, opt: torch.optim.Optimizer) -> int:
    """Restore a checkpoint of the same job; 0 (start over) when there is none."""
    try:
        saved = json.loads((folder / "job.json").read_text())
    except (OSError, json.JSONDecodeError):
        return 0
    if {k: saved.get(k) for k in job} != json.loads(json.dumps(job)):
        return 0  # another job (other data or config): start fresh
    weights = load_file(str(folder / "adapter.safetensors"))
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(weights[name].to(p.device))
    opt.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
    return int(saved["done"])
