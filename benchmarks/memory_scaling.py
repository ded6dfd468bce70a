"""Decision latency and memory bytes: fast tier vs flat and HNSW faiss agents, by stored steps.

At 10^4, 10^5 and 10^6 stored steps (``--sizes``), one run:
- fast tier: ``FastExecutor.act`` at batch 1 (trunk + merged adapter; its size does not
  grow with experience: what it learned lives in fixed-size weights);
- retrieval agent, flat (exact) and HNSW (M=32) indexes: ``RetrievalMemory.act`` at
  batch 1 (key from the observation + subgoal embedding, k=8 search, vote).
Keys are random unit vectors of the real key width (the map-memory features' key,
``memory.retrieval.key_dim``, + 384 text): a flat search costs the same on any data; HNSW's graph is
built on them. Memory = bytes of the serialised index + actions vs trunk + adapter
files. Latency: median of ``--queries`` calls on real Crafter observations.
faiss uses its default threads (all cores); the fast tier one thread.
Last line: ``ratio: X`` = flat-faiss latency at the largest size / fast-tier latency.

    .venv/bin/python benchmarks/memory_scaling.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
import torch
from executor_latency import SUBGOALS, random_fast_tier

import envs
from agent.fast.config import FastConfig
from agent.fast.executor import FastExecutor
from envs.features import features
from envs.goal import with_goal
from memory.config import RetrievalConfig
from memory.retrieval import RetrievalMemory, key_dim
from memory.text_embedding import SubgoalEmbedder


def median_ms(fn: Callable[[int], object], calls: int) -> float:
    fn(0)
    times = []
    for i in range(calls):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.safetensors"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--fast", default=None, help="trained fast-tier folder (default: random)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    env = envs.make("crafter")
    obs, info = env.reset(seed=0)
    frames = []
    rng = np.random.default_rng(0)
    for _ in range(64):
        obs, _, _, _, info = env.step(int(rng.integers(0, 5)))
        frames.append((obs, info))
    text = SubgoalEmbedder().embed([SUBGOALS["gather"].text])

    tmp = tempfile.TemporaryDirectory()
    folder = Path(args.fast) if args.fast else random_fast_tier(Path(tmp.name))
    fast = FastExecutor(FastConfig(dir=str(folder), device="cpu", threads=1))
    fast.begin(SUBGOALS["gather"])
    fast_bytes = folder_bytes(folder)

    def fast_act(i: int) -> None:
        o, inf = frames[i % len(frames)]
        fast.act(o, inf)

    cfg = RetrievalConfig()
    dim = key_dim(text.shape[1], cfg)
    print(f"key width {dim}; faiss threads {faiss.omp_get_max_threads()}, torch threads 1")
    print(f"{'stored steps':>12s} {'agent':>10s} {'ms/decision':>12s} {'memory MB':>10s} "
          f"{'build s':>8s}")  # fmt: skip
    flat_ms = fast_ms = 0.0
    for n in sizes:
        keys = rng.standard_normal((n, dim), dtype=np.float32)
        keys /= np.linalg.norm(keys, axis=1, keepdims=True)
        actions = rng.integers(0, 17, n)
        fast_ms = median_ms(fast_act, args.queries)
        print(f"{n:12d} {'fast tier':>10s} {fast_ms:12.3f} {fast_bytes / 1e6:10.2f} {'-':>8s}")
        for kind in ("flat", "hnsw"):
            memory = RetrievalMemory(dim, RetrievalConfig(kind=kind))
            start = time.perf_counter()
            for lo in range(0, n, 100_000):
                memory.add_keys(keys[lo : lo + 100_000], actions[lo : lo + 100_000])
            built = time.perf_counter() - start

            def act(i: int, memory: RetrievalMemory = memory) -> None:
                o, inf = frames[i % len(frames)]
                f, g = features(o, inf), SUBGOALS["gather"]
                memory.act(f.grid[None], with_goal(f.vector[None], [(g.skill, g.target)]), text, 17)

            ms = median_ms(act, args.queries)
            size = memory.nbytes()
            print(f"{n:12d} {kind:>10s} {ms:12.3f} {size / 1e6:10.2f} {built:8.1f}", flush=True)
            if kind == "flat":
                flat_ms = ms
            del memory
        del keys
    print(f"torch {torch.__version__}, faiss {faiss.__version__}")
    print(f"ratio: {flat_ms / fast_ms:.1f}")


if __name__ == "__main__":
    main()
