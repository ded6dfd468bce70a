"""The fast tier's multimodal policy: image + subgoal text embedding + inventory/status -> actions.

The trunk (encoders and fusion) is trained once by behaviour cloning and then
frozen; skills live in per-category LoRA adapters (see ``agent.adapters``) on
the layers named in :data:`LORA_TARGETS`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from envs.schema import ITEMS, STATUS

LORA_TARGETS = ("fuse", "body", "action_head", "done_head")


@dataclass
class PolicyConfig:
    image_size: int = 64
    """Height and width of the rgb input."""
    text_dim: int = 384
    """Size of the subgoal text embedding (all-MiniLM-L6-v2: 384)."""
    state_dim: int = len(ITEMS) + len(STATUS) + 17 + 1
    """Inventory counts, status values, then the last action one-hot (none = the last slot)."""
    hidden: int = 128
    """Width of the fused trunk."""
    n_actions: int = 17
    """Size of the backend's discrete action space."""

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


class FastPolicy(nn.Module):
    def __init__(self, config: PolicyConfig | None = None):
        super().__init__()
        self.config = cfg = config or PolicyConfig()
        self.image = nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=8, stride=4),
            nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=4, stride=2),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.image(torch.zeros(1, 3, cfg.image_size, cfg.image_size)).shape[1]
        self.image_proj = nn.Linear(flat, cfg.hidden)
        self.text = nn.Linear(cfg.text_dim, cfg.hidden)
        self.state = nn.Linear(cfg.state_dim, cfg.hidden)
        self.fuse = nn.Linear(3 * cfg.hidden, cfg.hidden)
        self.body = nn.Linear(cfg.hidden, cfg.hidden)
        self.action_head = nn.Linear(cfg.hidden, cfg.n_actions)
        self.done_head = nn.Linear(cfg.hidden, 1)

    def forward(
        self, rgb: torch.Tensor, text: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``rgb`` (B,H,W,3) uint8, ``text`` (B,text_dim), ``state`` (B,state_dim) ->
        action logits (B,n_actions) and subgoal-done logit (B,)."""
        h = self.features(rgb, text, state)
        return self.action_head(h), self.done_head(h).squeeze(-1)

    def features(self, rgb: torch.Tensor, text: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """The fused hidden state (B, hidden) the heads read."""
        x = rgb.permute(0, 3, 1, 2).float() / 255.0
        h = torch.cat(
            [
                torch.relu(self.image_proj(self.image(x))),
                torch.relu(self.text(text)),
                torch.relu(self.state(state)),
            ],
            dim=-1,
        )
        h = torch.relu(self.fuse(h))
        return torch.relu(self.body(h)) + h


def state_vector(
    obs: dict[str, np.ndarray], last_action: int = -1, n_actions: int = 17
) -> np.ndarray:
    """The policy's state input: inventory and status (scaled), and the action the env last
    took as a one-hot (``-1`` = none yet), which lets a memoryless policy keep a heading."""
    last = np.zeros(n_actions + 1, dtype=np.float32)
    last[last_action if 0 <= last_action < n_actions else n_actions] = 1.0
    counts = np.concatenate([obs["inventory"].astype(np.float32), obs["status"]]) / 9.0
    return np.concatenate([counts, last])
