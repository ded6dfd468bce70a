"""Consolidation training of one category's adapter: behaviour cloning on selected verified
steps plus a DPO-style preference term on failure-correction pairs.

The preference term compares whole attempts: for a pair (verified correction
w, failed attempt l) with per-step mean log-likelihoods under the adapter
(log pi) and under the frozen trunk with the adapter disabled (log ref),

    L_pref = -log sigmoid(beta * ((log pi(w) - log ref(w)) - (log pi(l) - log ref(l))))

and the loss is L_bc + weight * L_pref (``bc_only`` drops the second term).
Only the category's LoRA weights get gradients. The loop is stateless in its
randomness (batch order and pair samples derive from (seed, update)), so a
checkpoint (adapter weights, optimizer, update index) resumes it exactly.
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
from consolidation.bc import batch_tensors, run_updates
from consolidation.config import TrainerConfig
from memory.atomic import atomic_write, atomic_write_bytes
from memory.transitions import Transitions


@dataclass
class TrainResult:
    updates: int
    resumed_from: int
    bc_losses: list[float]
    pref_losses: list[float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def train_category(
    model: Any,
    category: str,
    data: Transitions,
    table: torch.Tensor,
    pairs: list[tuple[int, int]],
    pair_data: Transitions | None,
    pair_table: torch.Tensor | None = None,
    config: TrainerConfig | None = None,
    device: torch.device | None = None,
    checkpoint: Path | None = None,
    on_update: Callable[[int, int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train ``category``'s adapter in ``model`` (a peft model over the frozen trunk).

    ``pairs``: (corrected attempt key, failed attempt key), both with steps in
    ``pair_data``, whose texts are embedded in ``pair_table`` (default ``table``).
    ``checkpoint``: a folder to save to every few updates and to resume from
    when it holds a job for the same data and config.
    """
    cfg = config or TrainerConfig()
    device = device or torch.device("cpu")
    model.set_adapter(category)
    params = lora_parameters(model, category)
    for name, p in model.named_parameters():
        p.requires_grad_(name in params)
    opt = torch.optim.AdamW(params.values(), lr=cfg.bc.lr, weight_decay=cfg.bc.weight_decay)
    per_epoch = max(1, -(-len(data) // cfg.bc.batch_size))
    total = max(1, round(cfg.bc.epochs * per_epoch))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda u: 0.5 * (1.0 + math.cos(math.pi * min(u, total) / total))
    )
    use_pairs = bool(pairs) and pair_data is not None and not cfg.bc_only
    steps_of: dict[int, np.ndarray] = {}
    if use_pairs:
        assert pair_data is not None
        for key in {k for pair in pairs for k in pair}:
            steps_of[key] = np.flatnonzero(pair_data.attempts == key)
        pairs = [(w, lo) for w, lo in pairs if len(steps_of[w]) and len(steps_of[lo])]
        use_pairs = bool(pairs)
    job = {
        "category": category,
        "data_sha256": data.digest(),
        "pairs": len(pairs),
        "config": asdict(cfg),
        "total": total,
    }
    start = _resume(checkpoint, job, model, params, opt) if checkpoint else 0
    for _ in range(start):
        sched.step()
    ptable = pair_table if pair_table is not None else table

    def batch_at(update: int) -> np.ndarray:
        # Stateless: the order of an epoch derives from (seed, epoch), so a resume is exact.
        epoch, pos = divmod(update, per_epoch)
        order = np.random.default_rng([cfg.bc.seed, epoch]).permutation(len(data))
        return np.sort(order[pos * cfg.bc.batch_size : (pos + 1) * cfg.bc.batch_size])

    def preference(update: int) -> torch.Tensor:
        assert pair_data is not None
        return _preference(model, pairs, steps_of, pair_data, ptable, cfg, device, update)

    def after(done: int, losses: dict[str, float]) -> None:
        if on_update is not None:
            named = {"bc": losses["bc"], **({"pref": losses["extra"]} if "extra" in losses else {})}
            on_update(done, total, named)
        at = done % cfg.checkpoint_every == 0 or done == total
        if checkpoint is not None and at and distributed.is_main():
            _save(checkpoint, job, done, params, opt)

    model.train()
    curves = run_updates(
        lambda r, t, s: model(r, t, s), list(params.values()), data, table, cfg.bc, device,
        batch_at, range(start, total), opt, sched,
        extra=preference if use_pairs else None, extra_weight=cfg.dpo_weight, on_update=after,
    )  # fmt: skip
    model.eval()
    for p in params.values():
        p.requires_grad_(False)
    return TrainResult(total, start, curves["bc"], curves["extra"])


def _preference(model, pairs, steps_of, data, table, cfg, device, update) -> torch.Tensor:
    """The DPO term over a sample of pairs, in one batched forward with and one without
    the adapter (the reference)."""
    rng = np.random.default_rng([cfg.bc.seed, 1, update])
    chosen = rng.choice(len(pairs), size=min(cfg.pairs_per_update, len(pairs)), replace=False)
    idx, segment = [], []
    for k, i in enumerate(chosen):
        for side, key in enumerate(pairs[i]):
            steps = steps_of[key]
            pick = rng.choice(steps, size=min(cfg.steps_per_side, len(steps)), replace=False)
            idx.append(np.sort(pick))
            segment.append(np.full(len(pick), 2 * k + side))
    flat, seg = np.concatenate(idx), torch.from_numpy(np.concatenate(segment)).to(device)
    rgb, text, state, action, _ = batch_tensors(data, flat, table, device)

    def mean_logp(logits: torch.Tensor) -> torch.Tensor:
        lp = torch.log_softmax(logits.float(), -1).gather(1, action[:, None])[:, 0]
        sums = torch.zeros(2 * len(chosen), device=device).index_add(0, seg, lp)
        counts = torch.zeros(2 * len(chosen), device=device).index_add(0, seg, torch.ones_like(lp))
        return sums / counts

    policy = mean_logp(model(rgb, text, state)[0])
    with torch.no_grad(), model.disable_adapter():
        ref = mean_logp(model(rgb, text, state)[0])
    margin = (policy - ref).view(-1, 2)  # columns: corrected (winner), failed (loser)
    return -F.logsigmoid(cfg.dpo_beta * (margin[:, 0] - margin[:, 1])).mean()


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
