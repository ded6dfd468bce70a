"""Parametric plan memory: a small next-subgoal head, plans held in parameters (PEAM), not
retrieved.

Input: the task text's embedding (all-MiniLM-L6-v2, 384), the inventory (counts / 9) and
the map memory's summary: for each kind of :data:`envs.features.KINDS` (stations,
resources, creatures) whether the memory knows one within :data:`NEAR` cells. Output: the
next subgoal, one class per subgoal text seen in verified episodes ("collect wood x3").
The planner rolls it out (``agent.slow.plan_head_planner``) and calls the LLM only when
it is unsure. Saved as safetensors + a JSON vocabulary, atomic writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save
from torch import nn

from envs.features import KINDS
from envs.schema import ITEMS
from memory.atomic import atomic_write, atomic_write_bytes
from memory.records import Subgoal

NEAR = 8
"""A station or resource counts as known nearby within this many cells (Manhattan), as the
recipe planner reuses a station."""
TEXT_DIM = 384
STATE_DIM = 2 * len(ITEMS) + len(KINDS)
WEIGHTS = "plan_head.safetensors"
VOCAB = "plan_head.json"


def state_vector(inventory: dict[str, int], near: set[str]) -> np.ndarray:
    """The head's non-text input: each item's count / 9 and whether it is held at all (none
    vs one is what most plan steps turn on), and the kinds known near."""
    counts = np.array([min(inventory.get(i, 0), 9) for i in ITEMS], dtype=np.float32)
    known = np.array([float(k in near) for k in KINDS], dtype=np.float32)
    return np.concatenate([counts / 9.0, (counts > 0).astype(np.float32), known])


def parse_subgoal(text: str) -> Subgoal:
    skill, target, count = text.split(" ")
    return Subgoal(skill, target, int(count.removeprefix("x")))


class PlanHeadNet(nn.Module):
    def __init__(self, n_classes: int, hidden: int = 128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(TEXT_DIM + STATE_DIM, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, text: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([text, state], dim=-1))


@dataclass
class PlanHead:
    net: PlanHeadNet
    vocab: list[str]
    """Class index -> subgoal text."""
    meta: dict[str, Any]

    def next(self, text: np.ndarray, inventory: dict[str, int], near: set[str]) -> list[float]:
        """Probability of each vocabulary subgoal being next."""
        state = torch.from_numpy(state_vector(inventory, near))[None]
        with torch.no_grad():
            logits = self.net(torch.from_numpy(text.astype(np.float32))[None], state)
        return torch.softmax(logits[0], dim=-1).tolist()

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        weights = save({k: v.contiguous() for k, v in self.net.state_dict().items()})
        atomic_write_bytes(folder / WEIGHTS, weights)
        hidden = int(self.net.body[0].out_features)
        record = {"vocab": self.vocab, "hidden": hidden, "state_dim": STATE_DIM, "meta": self.meta}
        atomic_write(folder / VOCAB, json.dumps(record, indent=2))

    @classmethod
    def load(cls, folder: Path) -> PlanHead:
        if not (folder / VOCAB).exists():
            raise FileNotFoundError(
                f"no plan head in {folder} ({VOCAB} missing); train one with"
                " `peam plans --run RUN --out FOLDER`"
            )
        record = json.loads((folder / VOCAB).read_text())
        if record.get("state_dim") != STATE_DIM:
            raise ValueError(
                f"the plan head in {folder} reads {record.get('state_dim', 'an older')} state"
                f" values, this runtime {STATE_DIM}; train it again with `peam plans`"
            )
        net = PlanHeadNet(len(record["vocab"]), record["hidden"])
        net.load_state_dict(load_file(str(folder / WEIGHTS)))
        net.eval()
        return cls(net, record["vocab"], record.get("meta", {}))
