"""Parameterization-worthiness (PW): which verified experience is worth turning into weights.

Four components per verified attempt, each logged:

- **cost saved**: what the slow tier spends on the attempt's skill (LLM tokens and
  wall time per attempt) times how often the skill recurs;
- **stability**: how consistently the skill succeeds (Laplace-smoothed rate);
- **redundancy**: how well the served adapter (or the trunk) already predicts the
  attempt's actions (mean log-likelihood: high = little to gain);
- **interference**: how much the attempt resembles other categories' data (cosine
  similarity of its mean trunk feature to their centroids).

They combine scale-free: each is rank-normalised to [0, 1] within the pool, and
PW = weighted mean of cost, stability, 1 - redundancy and 1 - interference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from consolidation.config import PWConfig
from memory.transitions import Transitions

COMPONENTS = ("cost", "stability", "redundancy", "interference")


@dataclass
class PWScores:
    attempts: np.ndarray
    """Attempt keys (as in ``Transitions.attempts``), one per scored attempt."""
    components: dict[str, np.ndarray]
    """Raw value of each component per attempt."""
    pw: np.ndarray
    skills: list[str]
    """The attempt's skill key, e.g. 'collect wood'."""

    def selected(self, fraction: float) -> np.ndarray:
        """Keys of the top ``fraction`` attempts by PW (at least one)."""
        k = max(1, round(fraction * len(self.pw)))
        return self.attempts[np.argsort(-self.pw, kind="stable")[:k]]

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
    }
    weights = {name: getattr(cfg, name) for name in COMPONENTS}
    total = sum(weights.values()) or 1.0
    return sum(weights[n] * parts[n] for n in COMPONENTS) / total


Scorer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
Featurer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


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
) -> PWScores:
    """PW of every attempt in ``data`` (the category's verified steps).

    ``skill_cost``: skill -> (mean tokens, mean seconds, attempts) of the slow tier;
    ``skill_success``: skill -> (verified, attempted); ``policy``: the served
    adapter's forward; ``trunk_features``: the trunk's hidden state;
    ``other_centroids``: (k, hidden) mean trunk features of the other categories.
    """
    logp = np.zeros(len(data), dtype=np.float64)
    feats = np.zeros((len(data), 0), dtype=np.float32)
    chunks = []
    for start in range(0, len(data), 1024):
        idx = np.arange(start, min(start + 1024, len(data)))
        rgb = torch.from_numpy(data.frames[idx]).to(device)
        text = table[torch.from_numpy(data.text_ids[idx]).to(device)]
        state = torch.from_numpy(data.states[idx]).to(device)
        logits, _ = policy(rgb, text, state)
        lp = torch.log_softmax(logits.float(), -1)
        act = torch.from_numpy(data.actions[idx]).to(device)
        logp[idx] = lp.gather(1, act[:, None])[:, 0].cpu().numpy()
        chunks.append(trunk_features(rgb, text, state).float().cpu().numpy())
    if chunks:
        feats = np.concatenate(chunks)
    keys, inverse = np.unique(data.attempts, return_inverse=True)
    n = len(keys)
    redundancy = np.bincount(inverse, weights=logp, minlength=n) / np.bincount(inverse, minlength=n)
    mean_feat = np.zeros((n, feats.shape[1]))
    np.add.at(mean_feat, inverse, feats)
    mean_feat /= np.bincount(inverse, minlength=n)[:, None]
    if len(other_centroids):
        a = mean_feat / (np.linalg.norm(mean_feat, axis=1, keepdims=True) + 1e-8)
        b = other_centroids / (np.linalg.norm(other_centroids, axis=1, keepdims=True) + 1e-8)
        interference = (a @ b.T).max(axis=1)
    else:
        interference = np.zeros(n)
    first = np.zeros(n, dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]
    skills = [_skill(data.texts[data.text_ids[i]]) for i in first]
    tokens = np.array([skill_cost.get(s, (0.0, 0.0, 0))[0] for s in skills])
    seconds = np.array([skill_cost.get(s, (0.0, 0.0, 0))[1] for s in skills])
    recur = np.array([skill_cost.get(s, (0.0, 0.0, 0))[2] for s in skills], dtype=np.float64)
    cost = (rank01(tokens * recur) + rank01(seconds * recur)) / 2
    ok = np.array([skill_success.get(s, (0, 0))[0] for s in skills], dtype=np.float64)
    tried = np.array([skill_success.get(s, (0, 0))[1] for s in skills], dtype=np.float64)
    stability = (ok + 1) / (tried + 2)
    components = {
        "cost": cost,
        "stability": stability,
        "redundancy": redundancy,
        "interference": interference,
    }
    return PWScores(keys, components, combine(components, cfg), skills)


def _skill(text: str) -> str:
    """'collect wood x4' -> 'collect wood' (the skill recurs whatever the count)."""
    return text.rsplit(" x", 1)[0]
