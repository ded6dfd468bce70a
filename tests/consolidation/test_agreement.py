"""Agreement: a state whose label the category's other episodes contradict scores low."""

from __future__ import annotations

import numpy as np
import torch

from agent.fast.adapters import with_adapters
from agent.fast.config import PolicyConfig
from agent.fast.policy import FastPolicy
from consolidation.agreement import agreement
from consolidation.config import PWConfig
from consolidation.worthiness import combine
from memory.transitions import Transitions


def _states(n: int, episodes: int, labels: np.ndarray) -> Transitions:
    rng = np.random.default_rng(0)
    cfg = PolicyConfig(hidden=32)
    episode = np.arange(n) % episodes
    return Transitions(
        rng.integers(0, cfg.n_materials, (n, 2, cfg.crop, cfg.crop)).astype(np.uint8),
        rng.random((n, cfg.vector_dim), dtype=np.float32),
        np.zeros(n, dtype=np.int64),
        ["collect wood x1"],
        np.full(n, 2, dtype=np.int64),
        labels,
        np.full(n, "fast"),
        np.full(n, "gather"),
        episode,
        episode,
        np.ones(n, dtype=bool),
        episode,
        np.zeros(n, dtype=bool),
    )


def test_states_the_other_episodes_contradict_score_below_the_rest():
    n, episodes = 96, 8
    labels = np.full(n, (1 << 1) | (1 << 4), dtype=np.int64)  # the teacher: {1, 4}
    odd = np.arange(n) % episodes == 5
    labels[odd] = 1 << 7  # one episode says 7 where every other says {1, 4}
    data = _states(n, episodes, labels)
    torch.manual_seed(0)
    model = with_adapters(FastPolicy(PolicyConfig(hidden=32)))
    model.set_adapter("gather")
    model.train()
    table = torch.randn(1, PolicyConfig().text_dim)
    agrees = agreement(model, "gather", data, table, torch.device("cpu"))
    assert agrees.shape == (n,) and np.isfinite(agrees).all()
    assert agrees[odd].max() < 0 < agrees[~odd].min()
    # With agreement's weight alone, PW keeps the consistent states first.
    only = PWConfig(cost=0, stability=0, redundancy=0, interference=0, agreement=1)
    zeros = np.zeros(n)
    components = {"cost": zeros, "stability": zeros, "redundancy": zeros,
                  "interference": zeros, "agreement": agrees}  # fmt: skip
    pw = combine(components, only)
    assert pw[odd].max() < pw[~odd].min()
    assert model.training  # scored in eval mode, the caller's mode restored
