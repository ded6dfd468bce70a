"""Pair mining from the runner's links, the PW score's direction, and the BC + DPO trainer."""

from __future__ import annotations

import numpy as np
import torch

import envs
from agent.fast.adapters import with_adapters
from agent.fast.config import FastConfig, PolicyConfig
from agent.fast.executor import FastExecutor
from agent.fast.policy import FastPolicy
from agent.loop.config import RunnerConfig
from agent.loop.runner import EpisodeRunner
from agent.slow.controller import DeliberateController
from agent.slow.recipe_planner import RecipePlanner
from consolidation.config import BCConfig, PWConfig, TrainerConfig
from consolidation.pairs import mine_pairs
from consolidation.trainer import train_category
from consolidation.worthiness import combine, rank01
from envs.tasks import load_tasks
from memory.store import ExperienceStore
from memory.transitions import Transitions
from tests.conftest import HashEmbedder


def test_failed_fast_attempt_and_its_slow_correction_are_mined_as_a_linked_pair(fast_dir, tmp_path):
    path = tmp_path / "s.sqlite"
    with ExperienceStore(path) as store:
        run = store.start_run("pairs", {})
        fast = FastExecutor(FastConfig(dir=str(fast_dir), device="cpu"), HashEmbedder())
        runner = EpisodeRunner(
            envs.make("crafter", max_episode_steps=500), RecipePlanner(), DeliberateController(),
            store, run, "crafter", RunnerConfig(subgoal_budget=3, guard=False), fast=fast,
        )  # fmt: skip
        runner.run_episode(load_tasks()["collect_wood_4"], 0)
    pairs = mine_pairs(path, "gather")
    linked = [p for p in pairs if p.linked]
    assert any(p.failed.tier == "fast" and p.corrected.tier == "slow" for p in linked)
    for p in linked:
        assert not p.failed.success and p.corrected.success
        assert p.corrected.subgoal == p.failed.subgoal
    assert mine_pairs(path, "combat") == []


def test_pw_prefers_costly_stable_new_and_distinct_experience():
    assert list(rank01(np.array([3.0, 1.0, 2.0]))) == [1.0, 0.0, 0.5]
    assert list(rank01(np.array([5.0, 5.0]))) == [0.5, 0.5]
    base = {k: np.array([1.0, 1.0]) for k in ("cost", "stability", "redundancy", "interference")}
    cfg = PWConfig()
    for name, better in (("cost", 1), ("stability", 1), ("redundancy", 0), ("interference", 0)):
        comp = {**base, name: np.array([0.0, 1.0])}
        pw = combine(comp, cfg)
        assert pw[better] > pw[1 - better], name
    only_cost = PWConfig(stability=0, redundancy=0, interference=0)
    assert list(combine({**base, "cost": np.array([2.0, 1.0])}, only_cost)) == [1.0, 0.0]


def _synthetic(n_attempts: int, steps: int = 8) -> Transitions:
    rng = np.random.default_rng(0)
    n = n_attempts * steps
    attempts = np.arange(n) // steps
    # Winners (even attempts) always take action 1; losers (odd) take action 2.
    actions = np.where(attempts % 2 == 0, 1, 2)
    return Transitions(
        rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8),
        rng.random((n, 34), dtype=np.float32),
        np.zeros(n, dtype=np.int64),
        ["collect wood x1"],
        actions.astype(np.int64),
        np.zeros(n, dtype=np.float32),
        np.full(n, "gather"),
        attempts // 4,
        attempts,
    )


def test_dpo_term_prefers_corrections_and_trains_only_the_category():
    torch.manual_seed(0)
    model = with_adapters(FastPolicy(PolicyConfig(hidden=32)))
    data = _synthetic(8)
    table = torch.zeros(1, 384)
    pairs = [(w, w + 1) for w in range(0, 8, 2)]
    winners = data.subset(data.attempts % 2 == 0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}

    def margin() -> float:
        model.eval()
        with torch.no_grad():
            x = (torch.from_numpy(data.frames), table[torch.from_numpy(data.text_ids)],
                 torch.from_numpy(data.states))  # fmt: skip
            lp = torch.log_softmax(model(*x)[0], -1)
        return float(lp[:, 1].mean() - lp[:, 2].mean())

    start = margin()
    cfg = TrainerConfig(bc=BCConfig(epochs=30.0, batch_size=16, lr=1e-2), dpo_weight=1.0)
    result = train_category(model, "gather", winners, table, pairs, data, None, cfg)
    assert result.pref_losses and result.pref_losses[-1] < result.pref_losses[0]
    assert margin() > start
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(".gather." in n for n in changed)
    bc_only = train_category(
        model, "craft", winners, table, pairs, data, None,
        TrainerConfig(bc=BCConfig(epochs=1.0, batch_size=16), bc_only=True),
    )  # fmt: skip
    assert bc_only.pref_losses == []
