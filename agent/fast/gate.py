"""Learned gate over adapters: subgoal text embedding -> category.

Routing uses the subgoal's own category when that category has an adapter;
the gate is for the rest (a subgoal whose category has no adapter, or an LLM
plan with an unfamiliar phrasing): it picks the most likely category among
those that have an adapter, or none (the slow tier) below a confidence.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save
from torch import nn

from memory.atomic import atomic_write, atomic_write_bytes

WEIGHTS = "gate.safetensors"
META = "gate.json"


class AdapterGate(nn.Module):
    def __init__(self, categories: tuple[str, ...], text_dim: int = 384):
        super().__init__()
        self.categories = categories
        self.linear = nn.Linear(text_dim, len(categories))

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        return self.linear(text)

    @torch.no_grad()
    def route(
        self, embedding: np.ndarray, available: set[str], threshold: float = 0.5
    ) -> str | None:
        """The likeliest category that has an adapter, or None if its probability < threshold."""
        probs = torch.softmax(self(torch.from_numpy(embedding).float()[None]), -1)[0]
        ranked = sorted(zip(probs.tolist(), self.categories, strict=True), reverse=True)
        for p, category in ranked:
            if category in available:
                return category if p >= threshold else None
        return None


def train_gate(
    embeddings: np.ndarray, labels: list[str], categories: tuple[str, ...], steps: int = 300
) -> AdapterGate:
    """Logistic regression from subgoal embeddings to their categories."""
    torch.manual_seed(0)
    gate = AdapterGate(categories, embeddings.shape[1])
    x = torch.from_numpy(embeddings).float()
    y = torch.tensor([categories.index(c) for c in labels])
    opt = torch.optim.Adam(gate.parameters(), lr=0.05)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(gate(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return gate.eval()


def save_gate(gate: AdapterGate, folder: Path) -> None:
    atomic_write_bytes(
        folder / WEIGHTS, save({k: v.contiguous() for k, v in gate.state_dict().items()})
    )
    meta = {"categories": list(gate.categories), "text_dim": gate.linear.in_features}
    atomic_write(folder / META, json.dumps(meta, indent=2))


def load_gate(folder: Path) -> AdapterGate | None:
    if not (folder / WEIGHTS).exists() or not (folder / META).exists():
        return None
    meta = json.loads((folder / META).read_text())
    gate = AdapterGate(tuple(meta["categories"]), meta["text_dim"])
    gate.load_state_dict(load_file(str(folder / WEIGHTS)))
    return gate.eval()
