"""Time to consolidate one category from 10^4 and 10^5 transitions on this machine, one run.

"Consolidate" = what `peam consolidate` does once the trigger fired: PW scoring
of every attempt (a forward pass over all transitions), then BC + DPO training
of the category's adapter (default epochs) on the selected attempts, with the
preference term on failure-correction pairs. Transitions are synthetic (random
frames, 40-step attempts, one pair per 10 attempts): time depends on the
count, not the content. Last line: ``ratio: X`` = time at 10^5 / time at 10^4
(linear scaling gives ~10; target: 10^5 in <= 5 minutes here).

    .venv/bin/python benchmarks/consolidation_speed.py [--sizes 10000 100000] [--epochs 2]
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
    steps_per_attempt = 40
    attempts = np.arange(n) // steps_per_attempt
    done = np.zeros(n, dtype=np.float32)
    done[steps_per_attempt - 1 :: steps_per_attempt] = 1.0
    return Transitions(
        frames=rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8),
        states=rng.random((n, cfg.state_dim), dtype=np.float32),
        text_ids=rng.integers(0, 4, n),
        texts=["collect wood x1", "collect stone x1", "collect coal x1", "collect iron x1"],
        actions=rng.integers(0, cfg.n_actions, n),
        done=done,
        categories=np.full(n, "gather"),
        episodes=attempts // 5,
        attempts=attempts,
    )


def consolidate(n: int, epochs: float) -> tuple[float, float, float]:
    """(scoring s, training s, total s) for one category from ``n`` transitions."""
    torch.manual_seed(0)
    data = synthetic(n)
    table = torch.randn(len(data.texts), 384)
    model = with_adapters(FastPolicy(), ("gather",)).eval()
    trunk = model.base_model.model
    start = time.perf_counter()
    keys = np.unique(data.attempts)
    skills = {s.rsplit(" x", 1)[0]: (100.0, 1.0, 10) for s in data.texts}
    success = {s: (9, 10) for s in skills}

    def features(r, t, s):
        with model.disable_adapter():
            return trunk.features(r, t, s)

    pw = score(data, table, skills, success, lambda r, t, s: model(r, t, s), features,
               np.random.randn(2, 128), PWConfig(), torch.device("cpu"))  # fmt: skip
    selected = data.subset(np.isin(data.attempts, pw.selected(PWConfig().select)))
    scored = time.perf_counter()
    pairs = [(int(keys[i]), int(keys[i + 1])) for i in range(0, len(keys) - 1, 10)]
    cfg = TrainerConfig()
    cfg.bc.epochs = epochs
    train_category(model, "gather", selected, table, pairs, data, None, cfg)
    end = time.perf_counter()
    return scored - start, end - scored, end - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[10_000, 100_000])
    parser.add_argument("--epochs", type=float, default=TrainerConfig().bc.epochs)
    args = parser.parse_args()
    times = []
    print(f"{'transitions':>12s} {'PW scoring s':>13s} {'training s':>11s} {'total s':>9s}")
    for n in args.sizes:
        s, t, total = consolidate(n, args.epochs)
        times.append(total)
        print(f"{n:12d} {s:13.1f} {t:11.1f} {total:9.1f}")
    print(f"threads: {torch.get_num_threads()}, epochs: {args.epochs}")
    print(f"ratio: {times[1] / times[0]:.2f}")


if __name__ == "__main__":
    main()
