"""Time to consolidate one category from 10^4 and 10^5 transitions on this machine, one run.

"Consolidate" = what `peam consolidate` does once the trigger fired: PW scoring
of every labelled state (a forward pass over all transitions), then one round of
the category's adapter on the selected states: label-set BC, the per-step
preference term on the fast tier's states outside the teacher's set (a tenth of
them), and the trust region on a replay half, for ``--updates`` updates (a fixed
budget: the training time should not grow with the data, only the scoring and the
reference pass). Transitions are synthetic (random map crops, 40-step attempts):
time depends on the count, not the content. Last line: ``ratio: X`` = time at 10^5 / time at 10^4
(linear scaling gives ~10; target: 10^5 in <= 5 minutes here).

    .venv/bin/python benchmarks/consolidation_speed.py [--sizes 10000 100000] [--updates 300]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from agent.fast.adapters import with_adapters
from agent.fast.config import PolicyConfig
from agent.fast.policy import FastPolicy
from consolidation.config import PWConfig, TrainerConfig
from consolidation.trainer import train_category
from consolidation.worthiness import score
from memory.transitions import Transitions


def synthetic(n: int, seed: int = 0) -> Transitions:
    rng = np.random.default_rng(seed)
    cfg = PolicyConfig()
    attempts = np.arange(n) // 40
    actions = rng.integers(0, cfg.n_actions, n)
    labels = np.left_shift(1, actions).astype(np.int64)
    wrong = rng.random(n) < 0.1  # a tenth: the fast tier's action outside the teacher's set
    labels[wrong] = np.left_shift(1, (actions[wrong] + 1) % cfg.n_actions)
    return Transitions(
        grids=rng.integers(0, cfg.n_materials, (n, 2, cfg.crop, cfg.crop)).astype(np.uint8),
        vectors=rng.random((n, cfg.vector_dim), dtype=np.float32),
        text_ids=rng.integers(0, 4, n),
        texts=["collect wood x1", "collect stone x1", "collect coal x1", "collect iron x1"],
        actions=actions,
        labels=labels,
        actors=np.full(n, "fast"),
        categories=np.full(n, "gather"),
        episodes=attempts // 5,
        attempts=attempts,
        success=np.ones(n, dtype=bool),
        episode_names=attempts // 5,
        unseen=np.zeros(n, dtype=bool),
    )


def consolidate(n: int, updates: int) -> tuple[float, float, float]:
    """(scoring s, training s, total s) for one category from ``n`` transitions."""
    torch.manual_seed(0)
    data = synthetic(n)
    table = torch.randn(len(data.texts), 384)
    model = with_adapters(FastPolicy(), ("gather",)).eval()
    trunk = model.base_model.model
    start = time.perf_counter()
    skills = {s.rsplit(" x", 1)[0]: (100.0, 1.0, 10) for s in data.texts}
    success = {s: (9, 10) for s in skills}

    def features(g, t, v):
        with model.disable_adapter():
            return trunk.features(g, t, v)

    pw = score(data, table, skills, success, lambda g, t, v: model(g, t, v), features,
               np.random.randn(2, 128), PWConfig(), torch.device("cpu"))  # fmt: skip
    selected = data.subset(pw.selected(PWConfig().select))
    scored = time.perf_counter()
    replay = np.arange(len(selected)) % 2 == 0
    train_category(model, "gather", selected, table, TrainerConfig(updates=updates),
                   replay=replay)  # fmt: skip
    end = time.perf_counter()
    return scored - start, end - scored, end - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[10_000, 100_000])
    parser.add_argument("--updates", type=int, default=TrainerConfig().updates)
    args = parser.parse_args()
    times = []
    print(f"{'transitions':>12s} {'PW scoring s':>13s} {'training s':>11s} {'total s':>9s}")
    for n in args.sizes:
        s, t, total = consolidate(n, args.updates)
        times.append(total)
        print(f"{n:12d} {s:13.1f} {t:11.1f} {total:9.1f}")
    print(f"threads: {torch.get_num_threads()}, updates: {args.updates}")
    print(f"ratio: {times[1] / times[0]:.2f}")


if __name__ == "__main__":
    main()
