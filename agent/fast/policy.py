"""The fast tier's multimodal policy: image + subgoal text embedding + inventory/status -> actions.

The trunk (encoders and fusion) is trained once by behaviour cloning and then
frozen; skills live in per-category LoRA adapters (see ``agent.fast.adapters``) on
the layers named in :data:`LORA_TARGETS`.
"""

from __future__ import annotations

import torch
from torch import nn

from agent.fast.config import PolicyConfig

LORA_TARGETS = ("fuse", "body", "action_head", "done_head")


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
