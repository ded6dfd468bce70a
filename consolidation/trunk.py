"""The shared trunk: behaviour cloning of the whole policy on labelled steps, once, then
frozen. The one trunk trainer (`peam train-fast`, `peam consolidate`, `peam compare`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch

from agent.fast.config import PolicyConfig
from agent.fast.policy import FastPolicy
from consolidation import distributed
from consolidation.bc import BCResult, train_bc
from consolidation.config import BCConfig
from memory.transitions import Transitions


def train_trunk(
    data: Transitions,
    table: torch.Tensor,
    config: BCConfig,
    device: torch.device | None = None,
    policy: PolicyConfig | None = None,
    on_update: Callable[[int, int, float], None] | None = None,
) -> tuple[FastPolicy, BCResult]:
    """A trunk trained on ``data`` (``table``: its subgoal embeddings), on the CPU, in eval
    mode. Seeded by ``config.seed``: the same experience gives the same trunk; under
    torchrun every rank starts from rank 0's weights and averages gradients."""
    device = device or torch.device("cpu")
    torch.manual_seed(config.seed)
    # The trunk reads the configured prefix of the vector, at most what the data has (stores
    # recorded before the path features train one that reads the base vector, and the
    # executor serves it that).
    policy = policy or PolicyConfig()
    policy = replace(policy, vector_dim=min(policy.vector_dim, int(data.vectors.shape[1])))
    model = FastPolicy(policy).to(device)
    distributed.broadcast(model.parameters())
    result = train_bc(
        lambda r, t, s: model(r, t, s),
        list(model.parameters()),
        data,
        table,
        config,
        device,
        on_update,
        autocast=device.type == "cuda",
    )
    return model.cpu().eval(), result
