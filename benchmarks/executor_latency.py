"""Decision latency of the fast tier vs the slow tier's controller vs one Crafter step, one run.

Measured on real Crafter observations, best of ``--rounds`` (this VM is noisy):
- fast tier, batch 1: ``FastExecutor.act`` (the merged-adapter path a single env uses),
  its input features (``envs.features``, from the map memory) included;
- fast tier, batch 64: ``FastExecutor.act_batch`` with the three adapters mixed in the
  batch (one peft forward, ``adapter_names=``), per decision;
- the deliberate controller (slow tier) deciding ``collect wood``;
- one raw ``crafter.Env.step``.
Weights are random unless ``--fast DIR`` names a trained folder: latency does not
depend on their values. Last line: ``ratio: X`` = fast batch-1 decision time / one
Crafter step (target <= 0.5; and <= 1 ms per batch-1 decision).

    .venv/bin/python benchmarks/executor_latency.py [--fast runs/fast] [--rounds 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import crafter
import numpy as np
import torch

import envs
from agent.fast.adapters import save_adapter, with_adapters
from agent.fast.config import FastConfig
from agent.fast.executor import FastExecutor
from agent.fast.policy import FastPolicy
from agent.fast.trunk import save_trunk
from agent.slow.controller import DeliberateController
from envs.features import clear_cache
from envs.tasks import CATEGORIES
from memory.records import Subgoal

SUBGOALS = {
    "craft": Subgoal("make", "wood_pickaxe"),
    "gather": Subgoal("collect", "wood"),
    "combat": Subgoal("defeat", "zombie"),
}


def random_fast_tier(folder: Path) -> Path:
    torch.manual_seed(0)
    trunk = FastPolicy()
    sha = save_trunk(trunk, folder / "trunk", {"note": "random weights for latency"})
    model = with_adapters(trunk, CATEGORIES, init=False)
    for category in CATEGORIES:
        save_adapter(model, category, folder / "adapters" / category, sha)
    return folder


def best_per_call(fn: Callable[[int], None], calls: int, rounds: int) -> float:
    """Seconds per call: the fastest of ``rounds`` timed loops of ``calls`` calls."""
    fn(0)  # warm-up
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for i in range(calls):
            fn(i)
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", default=None, help="trained fast-tier folder (default: random)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()

    env = envs.make("crafter")
    obs, info = env.reset(seed=0)
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(256):
        obs, _, _, _, info = env.step(int(rng.integers(0, 5)))
        frames.append((obs, info))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.fast) if args.fast else random_fast_tier(Path(tmp))
        fast = FastExecutor(
            FastConfig(dir=str(folder), device="cpu", threads=1, min_skill_success=0.0)
        )
    fast.begin(SUBGOALS["gather"])

    def fast_b1(i: int) -> None:
        o, inf = frames[i % len(frames)]
        clear_cache()  # time the features' computation, not their reuse by the recorder
        fast.act(o, inf)

    b1 = best_per_call(fast_b1, args.calls, args.rounds)

    mixed = [SUBGOALS[CATEGORIES[i % 3]] for i in range(64)]
    rngs = [np.random.default_rng(i) for i in range(64)]

    def fast_b64(i: int) -> None:
        fast.act_batch([fast.seen(*frames[k], mixed[k]) for k in range(64)], mixed, rngs)

    b64 = best_per_call(fast_b64, 20, args.rounds) / 64

    controller = DeliberateController()
    controller.begin(SUBGOALS["gather"])

    def slow(i: int) -> None:
        o, inf = frames[i % len(frames)]
        controller.act(o, inf)

    slow_t = best_per_call(slow, args.calls // 3, args.rounds)

    raw = crafter.Env(seed=0)
    raw.reset()
    acts = rng.integers(0, 17, size=args.calls)

    def raw_step(i: int) -> None:
        _, _, done, _ = raw.step(int(acts[i]))
        if done:
            raw.reset()

    step_t = best_per_call(raw_step, args.calls, args.rounds)

    rows = [
        ("fast tier, batch 1", b1),
        ("fast tier, batch 64 mixed adapters (per decision)", b64),
        ("deliberate controller (slow tier)", slow_t),
        ("raw crafter.Env.step", step_t),
    ]
    print(f"{'':52s} {'ms':>8s} {'per s':>10s}")
    for name, sec in rows:
        print(f"{name:52s} {sec * 1e3:8.3f} {1 / sec:10.0f}")
    print(f"threads: {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"ratio: {b1 / step_t:.3f}")


if __name__ == "__main__":
    main()
