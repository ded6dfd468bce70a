"""The fast tier's policy: what the slow tier reads (the map memory) + the subgoal -> actions.

Inputs (``envs.features``): an egocentric crop of the map memory (each cell's remembered
material, embedded, and how long ago it was seen), a vector (nearest remembered
resources, stations, creatures and frontier; facing, daylight, recent actions,
inventory, status) and the subgoal's text embedding. The trunk (encoders and fusion)
is trained once and then frozen; skills live in per-category LoRA adapters (see
``agent.fast.adapters``) on the layers named in :data:`LORA_TARGETS`, the map
encoder's projection among them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as fn
from torch import nn

from agent.fast.config import PolicyConfig

LORA_TARGETS = ("map_proj", "fuse", "body", "action_head")


class FastPolicy(nn.Module):
    def __init__(self, config: PolicyConfig | None = None):
        super().__init__()
        self.config = cfg = config or PolicyConfig()
        self.material = nn.Embedding(cfg.n_materials, cfg.material_dim)
        self.map = nn.Sequential(
            nn.Conv2d(cfg.material_dim + 2, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, kernel_size=3, stride=2),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.map(torch.zeros(1, cfg.material_dim + 2, cfg.crop, cfg.crop)).shape[1]
        self.map_proj = nn.Linear(flat, cfg.hidden)
        self.text = nn.Linear(cfg.text_dim, cfg.hidden)
        self.vector = nn.Linear(cfg.vector_dim, cfg.hidden)
        self.fuse = nn.Linear(3 * cfg.hidden, cfg.hidden)
        self.body = nn.Linear(cfg.hidden, cfg.hidden)
        self.action_head = nn.Linear(cfg.hidden, cfg.n_actions)

    def forward(self, grid: torch.Tensor, text: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
        """``grid`` (B,2,crop,crop) uint8, ``text`` (B,text_dim), ``vector`` (B,vector_dim)
        -> action logits (B,n_actions)."""
        return self.action_head(self.features(grid, text, vector))

    def features(
        self, grid: torch.Tensor, text: torch.Tensor, vector: torch.Tensor
    ) -> torch.Tensor:
        """The fused hidden state (B, hidden) the head reads (of ``vector``, the first
        ``vector_dim`` values: the layouts nest, ``envs.goal``)."""
        vector = vector[:, : self.config.vector_dim]
        material = self.material(grid[:, 0].long()).permute(0, 3, 1, 2)
        age = grid[:, 1:2].float()
        cells = torch.cat([material, age / 255.0, (age > 0).float()], dim=1)
        h = torch.cat(
            [
                torch.relu(self.map_proj(self.map(cells))),
                torch.relu(self.text(text)),
                torch.relu(self.vector(vector)),
            ],
            dim=-1,
        )
        h = torch.relu(self.fuse(h))
        return torch.relu(self.body(h)) + h

    def frozen(self) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
        """:meth:`forward` as plain tensor functions over a detached copy of the weights:
        the same outputs, bit for bit, without the per-module call overhead (a quarter of a
        batch-1 decision on the CPU). For a plain policy (an adapter merged in, not peft's)."""
        p = {k: v.detach().clone() for k, v in self.state_dict().items()}
        width = self.config.vector_dim

        def linear(x: torch.Tensor, name: str) -> torch.Tensor:
            return fn.linear(x, p[f"{name}.weight"], p[f"{name}.bias"])

        def forward(grid: torch.Tensor, text: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
            material = fn.embedding(grid[:, 0].long(), p["material.weight"]).permute(0, 3, 1, 2)
            age = grid[:, 1:2].float()
            cells = torch.cat([material, age / 255.0, (age > 0).float()], dim=1)
            m = torch.relu(fn.conv2d(cells, p["map.0.weight"], p["map.0.bias"], padding=1))
            m = torch.relu(fn.conv2d(m, p["map.2.weight"], p["map.2.bias"], stride=2))
            h = torch.cat(
                [
                    torch.relu(linear(m.flatten(1), "map_proj")),
                    torch.relu(linear(text, "text")),
                    torch.relu(linear(vector[:, :width], "vector")),
                ],
                dim=-1,
            )
            h = torch.relu(linear(h, "fuse"))
            return linear(torch.relu(linear(h, "body")) + h, "action_head")

        return forward
