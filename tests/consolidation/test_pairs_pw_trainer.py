"""The PW score's direction, state-aligned pairs, and a round's trainer (BC + per-step DPO +
trust region)."""

from __future__ import annotations

import numpy as np
import torch

from agent.fast.adapters import with_adapters
from agent.fast.config import PolicyConfig
from agent.fast.policy import FastPolicy
from consolidation.config import BCConfig, PWConfig, TrainerConfig
from consolidation.trainer import step_pairs, train_category
from consolidation.worthiness import COMPONENTS, combine, rank01
from memory.transitions import Transitions


def test_pw_prefers_costly_stable_new_and_distinct_experience():
    assert list(rank01(np.array([3.0, 1.0, 2.0]))) == [1.0, 0.0, 0.5]
    assert list(rank01(np.array([5.0, 5.0]))) == [0.5, 0.5]
    base = {k: np.array([1.0, 1.0]) for k in COMPONENTS}
    cfg = PWConfig(stability=1, interference=1, agreement=1)
    for name, better in (("cost", 1), ("stability", 1), ("redundancy", 0), ("interference", 0),
                         ("agreement", 1)):  # fmt: skip
        comp = {**base, name: np.array([0.0, 1.0])}
        pw = combine(comp, cfg)
        assert pw[better] > pw[1 - better], name
    only_cost = PWConfig(stability=0, redundancy=0, interference=0)
    assert list(combine({**base, "cost": np.array([2.0, 1.0])}, only_cost)) == [1.0, 0.0]
    # By default only the cost saved and what the served adapter lacks count.
    for name in ("stability", "interference", "agreement"):
        comp = {**base, name: np.array([0.0, 1.0])}
        assert combine(comp, PWConfig())[0] == combine(comp, PWConfig())[1], name


def _synthetic(n: int, seed: int = 0, actor: str = "fast", taken: int = 2) -> Transitions:
    """``n`` random states where the teacher's actions are {1, 4} and ``actor`` took ``taken``."""
    rng = np.random.default_rng(seed)
    cfg = PolicyConfig()
    return Transitions(
        rng.integers(0, cfg.n_materials, (n, 2, cfg.crop, cfg.crop)).astype(np.uint8),
        rng.random((n, cfg.vector_dim), dtype=np.float32),
        np.zeros(n, dtype=np.int64),
        ["collect wood x1"],
        np.full(n, taken, dtype=np.int64),
        np.full(n, (1 << 1) | (1 << 4), dtype=np.int64),
        np.full(n, actor),
        np.full(n, "gather"),
        np.arange(n, dtype=np.int64) // 8,
        np.arange(n, dtype=np.int64) // 4,
        np.ones(n, dtype=bool),
        np.arange(n, dtype=np.int64) // 8,
        np.zeros(n, dtype=bool),
    )


def _log_probs(model, data: Transitions, table) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        x = (torch.from_numpy(data.grids), table[torch.from_numpy(data.text_ids)],
             torch.from_numpy(data.vectors))  # fmt: skip
        return torch.log_softmax(model(*x), -1)


def test_step_pairs_are_fast_actions_outside_the_teachers_set():
    data = (
        _synthetic(8)
        .concat(_synthetic(4, actor="fast", taken=4))
        .concat(_synthetic(4, actor="slow", taken=1))
    )
    assert list(step_pairs(data)) == list(range(8))


def test_per_step_dpo_moves_mass_from_the_fast_action_to_the_teachers_and_only_in_gather():
    torch.manual_seed(0)
    model = with_adapters(FastPolicy(PolicyConfig(hidden=32)))
    data, table = _synthetic(64), torch.zeros(1, 384)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    start = _log_probs(model, data, table)
    cfg = TrainerConfig(bc=BCConfig(batch_size=16, lr=1e-2), updates=60, warmup=5, dpo_weight=1.0)
    result = train_category(model, "gather", data, table, cfg)
    assert result.pairs == 64 and result.replay == 0
    assert result.extra_losses[-1] < result.extra_losses[0]
    end = _log_probs(model, data, table)
    gain = (end[:, 1].exp() + end[:, 4].exp()) - (start[:, 1].exp() + start[:, 4].exp())
    assert float(gain.mean()) > 0.3 and float((end[:, 2] - start[:, 2]).mean()) < 0
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(".gather." in n for n in changed)
    bc_only = train_category(
        model, "craft", data, table, TrainerConfig(bc=BCConfig(batch_size=16), updates=5,
                                                   bc_only=True))  # fmt: skip
    assert bc_only.pairs == 0 and bc_only.extra_losses == []


def test_trust_region_keeps_replay_states_near_the_served_version():
    """New data teaches action 1 everywhere; replay states hold the served version's
    behaviour. With the KL term the replay states move far less than without it."""
    table = torch.zeros(1, 384)
    new = _synthetic(64, seed=1, actor="slow", taken=1)
    new.labels[:] = 1 << 1
    old = _synthetic(64, seed=2, actor="slow", taken=1)
    old.labels[:] = 1 << 1
    data = new.concat(old)
    replay = np.arange(len(data)) >= len(new)
    drift = {}
    for kl in (0.0, 20.0):
        torch.manual_seed(0)
        model = with_adapters(FastPolicy(PolicyConfig(hidden=32)))
        ref = _log_probs(model, old, table)
        cfg = TrainerConfig(bc=BCConfig(batch_size=32, lr=1e-2), updates=60, warmup=5,
                            kl_weight=kl, kl_batch=64)  # fmt: skip
        result = train_category(model, "gather", data, table, cfg, replay=replay)
        assert result.replay == 64
        now = _log_probs(model, old, table)
        drift[kl] = float((ref.exp() * (ref - now)).sum(-1).mean())
    assert drift[20.0] < 0.5 * drift[0.0]
