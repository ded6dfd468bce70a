"""Parameterization-worthiness (PW): which labelled states are worth turning into weights.

Four components per state (a labelled step), each logged:

- **cost saved**: the teacher steps the state stands for (steps left in its attempt)
  times how often its skill recurs, and the slow tier's tokens per attempt of the skill
  times that recurrence;
- **stability**: how consistently the skill succeeds (Laplace-smoothed rate);
- **redundancy**: the probability the served adapter (or the trunk) already gives one of
  the teacher's actions there (high = little to gain);
- **interference**: how much the state resembles other categories' data (cosine
  similarity of its trunk feature to their centroids);
- **agreement**: whether a step on the state helps the category's other new episodes
  (its gradient projected on theirs, ``consolidation.agreement``): low for labels the rest
  of the data contradicts.

They combine scale-free: each is rank-normalised to [0, 1] within the pool, and
PW = weighted mean of cost, stability, 1 - redundancy, 1 - interference and agreement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from consolidation.bc import batch_tensors, label_mask, set_log_prob
from consolidation.config import PWConfig
from memory.transitions import Transitions

COMPONENTS = ("cost", "stability", "redundancy", "interference", "agreement")


@dataclass
class PWScores:
    components: dict[str, np.ndarray]
    """Raw value of each component per state (row of the scored data)."""
    pw: np.ndarray
    skills: list[str]
    """Each state's skill key, e.g. 'collect wood'."""

    def selected(self, fraction: float) -> np.ndarray:
        """Row indices of the top ``fraction`` states by PW (at least one), in order."""
        k = max(1, round(fraction * len(self.pw)))
        return np.sort(np.argsort(-self.pw, kind="stable")[:k])

    def per_skill(self) -> dict[str, float]:
        out: dict[str, list[float]] = {}
        for skill, value in zip(self.skills, self.pw, strict=True):
            out.setdefault(skill, []).append(float(value))
        return {s: float(np.mean(v)) for s, v in sorted(out.items())}

    def stats(self) -> dict[str, dict[str, float]]:
        rows = {**self.components, "pw": self.pw}
        return {
            name: {
                "mean": float(np.mean(v)),
                "p10": float(np.quantile(v, 0.1)),
                "p50": float(np.quantile(v, 0.5)),
                "p90": float(np.quantile(v, 0.9)),
            }
            for name, v in rows.items()
        }


def rank01(values: np.ndarray) -> np.ndarray:
    """Ranks scaled to [0, 1] (ties share their mean rank); a constant gives 0.5."""
    n = len(values)
    if n < 2 or np.all(values == values[0]):
        return np.full(n, 0.5)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(n)
    for v in np.unique(values):  # average ranks over ties
        tie = values == v
        ranks[tie] = ranks[tie].mean()
    return ranks / (n - 1)


def combine(components: dict[str, np.ndarray], cfg: PWConfig) -> np.ndarray:
    parts = {
        "cost": rank01(components["cost"]),
        "stability": rank01(components["stability"]),
        "redundancy": 1.0 - rank01(components["redundancy"]),
        "interference": 1.0 - rank01(components["interference"]),
        "agreement": rank01(components["agreement"]),
    }
    weights = {name: getattr(cfg, name) for name in COMPONENTS}
    total = sum(weights.values()) or 1.0
    return sum(weights[n] * parts[n] for n in COMPONENTS) / total


Scorer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
Featurer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def steps_left(attempts: np.ndarray) -> np.ndarray:
    """Per row, how many rows of the same attempt follow it, itself included (rows of an
    attempt are in step order)."""
    out = np.zeros(len(attempts), dtype=np.int64)
    _, inverse, counts = np.unique(attempts, return_inverse=True, return_counts=True)
    seen = np.zeros(len(counts), dtype=np.int64)
    for i, k in enumerate(inverse):
        out[i] = counts[k] - seen[k]
        seen[k] += 1
    return out


@torch.no_grad()
def score(
    data: Transitions,
    table: torch.Tensor,
    skill_cost: dict[str, tuple[float, float, int]],
    skill_success: dict[str, tuple[int, int]],
    policy: Scorer,
    trunk_features: Featurer,
    other_centroids: np.ndarray,
    cfg: PWConfig,
    device: torch.device,
    agreement: np.ndarray | None = None,
) -> PWScores:
    """PW of every state in ``data`` (the category's labelled steps).

    ``skill_cost``: skill -> (mean tokens, mean seconds, attempts) of the slow tier;
    ``skill_success``: skill -> (verified, attempted); ``policy``: the served
    adapter's forward; ``trunk_features``: the trunk's hidden state;
    ``other_centroids``: (k, hidden) mean trunk features of the other categories;
    ``agreement``: per state (``consolidation.agreement``; None: not measured, a constant).
    """
    covered = np.zeros(len(data), dtype=np.float64)
    chunks = []
    for start in range(0, len(data), 1024):
        idx = np.arange(start, min(start + 1024, len(data)))
        grid, text, vector, labels, _ = batch_tensors(data, idx, table, device)
        logits = policy(grid, text, vector)
        mask = label_mask(labels, logits.shape[-1])
        covered[idx] = set_log_prob(logits, mask).exp().cpu().numpy()
        chunks.append(trunk_features(grid, text, vector).float().cpu().numpy())
    feats = np.concatenate(chunks) if chunks else np.zeros((0, 1), dtype=np.float32)
    if len(other_centroids) and len(feats):
        a = feats / (np.linalg.norm(feats, axis=1, keepdims=True) + 1e-8)
        b = other_centroids / (np.linalg.norm(other_centroids, axis=1, keepdims=True) + 1e-8)
        interference = (a @ b.T).max(axis=1)
    else:
        interference = np.zeros(len(data))
    skills = [_skill(data.texts[i]) for i in data.text_ids]
    per_skill = {s: skill_cost.get(s, (0.0, 0.0, 0)) for s in set(skills)}
    tokens = np.array([per_skill[s][0] for s in skills])
    recur = np.array([per_skill[s][2] for s in skills], dtype=np.float64)
    left = steps_left(data.attempts).astype(np.float64)
    cost = (rank01(left * recur) + rank01(tokens * recur)) / 2
    ok = np.array([skill_success.get(s, (0, 0))[0] for s in skills], dtype=np.float64)
    tried = np.array([skill_success.get(s, (0, 0))[1] for s in skills], dtype=np.float64)
    stability = (ok + 1) / (tried + 2)
    components = {
        "cost": cost,
        "stability": stability,
        "redundancy": covered,
        "interference": interference,
        "agreement": np.zeros(len(data)) if agreement is None else agreement,
    }
    return PWScores(components, combine(components, cfg), skills)


def _skill(text: str) -> str:
    """'collect wood x4' -> 'collect wood' (the skill recurs whatever the count)."""
    return text.rsplit(" x", 1)[0]
