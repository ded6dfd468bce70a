"""Agreement: whether learning a state helps the rest of its category's new data.

For each labelled state ``i`` of episode ``e``: ``g_i``, the gradient of its set
log-likelihood (the BC term) with respect to the category's LoRA weights at the served
version, and ``G_-e``, the summed gradient of every state of the *other* episodes.
``agreement_i = g_i . G_-e / |G_-e|``: to first order, a step on state ``i`` raises the
other episodes' likelihood (> 0) or lowers it (< 0: a label the rest of the data
contradicts, such as one that depends on something the map memory has not seen). States
the adapter already answers have ``g_i`` near 0 and score near 0. Leaving the state's own
episode out keeps an episode from agreeing with itself. (Comparing only within a skill
instead, "collect wood" with "collect wood", did worse off-line: craft 84.9% vs 85.2% for
every state, `benchmarks/pw_budget.py`, four seeds at 25 updates.)

Per-state gradients come from ``torch.func`` (``vmap`` of ``grad``) in chunks, twice: once
to sum them per episode, once to project each on its episode's ``G_-e``; nothing of size
(states x weights) is held, only (episodes x weights): 24,712 LoRA weights per category
here, so 1,000 new episodes take about 100 MB.
"""

from __future__ import annotations

import numpy as np
import torch
from peft import PeftModel
from torch.func import functional_call, grad, vmap

from agent.fast.adapters import lora_parameters
from consolidation.bc import batch_tensors, label_mask, set_log_prob
from memory.transitions import Transitions


def agreement(
    model: PeftModel,
    category: str,
    data: Transitions,
    table: torch.Tensor,
    device: torch.device,
    chunk: int = 256,
) -> np.ndarray:
    """(N,) agreement of each state of ``data`` with the other episodes (see the module)."""
    if len(data) == 0:
        return np.zeros(0)
    episodes, index = np.unique(data.episodes, return_inverse=True)
    was_training = model.training
    model.eval()
    try:
        return _agreement(model, category, data, table, device, chunk, index, len(episodes))
    finally:
        model.train(was_training)


def _agreement(
    model: PeftModel,
    category: str,
    data: Transitions,
    table: torch.Tensor,
    device: torch.device,
    chunk: int,
    index: np.ndarray,
    n_episodes: int,
) -> np.ndarray:
    weights = {n: p.detach() for n, p in lora_parameters(model, category).items()}
    names = list(weights)

    def log_likelihood(w, grid, text, vector, label):
        logits = functional_call(model, w, (grid[None], text[None], vector[None]))
        return set_log_prob(logits, label[None])[0]

    per_state = vmap(grad(log_likelihood), in_dims=(None, 0, 0, 0, 0))

    def gradients(idx: np.ndarray) -> torch.Tensor:
        grid, text, vector, labels, _ = batch_tensors(data, idx, table, device)
        mask = label_mask(labels, model.base_model.model.config.n_actions)
        g = per_state(weights, grid, text, vector, mask)
        return torch.cat([g[n].reshape(len(idx), -1) for n in names], dim=1).float()

    chunks = [np.arange(s, min(s + chunk, len(data))) for s in range(0, len(data), chunk)]
    size = sum(w.numel() for w in weights.values())
    per_episode = torch.zeros(n_episodes, size, device=device)
    for idx in chunks:
        per_episode.index_add_(0, torch.from_numpy(index[idx]).to(device), gradients(idx))
    others = per_episode.sum(0, keepdim=True) - per_episode  # G_-e per episode
    others = others / others.norm(dim=1, keepdim=True).clamp_min(1e-12)
    out = np.zeros(len(data))
    for idx in chunks:
        g = gradients(idx)
        rows = others[torch.from_numpy(index[idx]).to(device)]
        out[idx] = (g * rows).sum(1).cpu().numpy()
    return out
