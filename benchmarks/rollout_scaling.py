"""Rollout throughput: episodes/s with 1 and 2 workers, in one run.

The same slow-tier episode specs (``--tasks`` x ``--seeds``) are played by a
worker pool (``agent.loop.pool``: local processes, or Ray with ``--ray``) while
this process alone writes every episode to a fresh store, exactly as
``peam run --workers N`` does. Reported per pool size: total wall time
(including starting the workers) and steady throughput, measured from the
moment every worker has delivered its first episode to the last episode.
Last line: ``ratio: X`` = steady episodes/s with 2 workers / with 1 worker.

    .venv/bin/python benchmarks/rollout_scaling.py [--seeds 0-47] [--ray]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from agent.loop.config import load_config
from agent.loop.pool import EpisodeSpec, dispatch, store_once
from envs.config import parse_seeds
from memory.store import ExperienceStore


def measure(specs: list[EpisodeSpec], workers: int, ray: bool) -> tuple[float, float, int]:
    cfg = load_config("configs/run/default.yaml")
    with tempfile.TemporaryDirectory() as tmp, ExperienceStore(Path(tmp) / "s.sqlite") as store:
        run = store.start_run("bench", {})
        stored: set[str] = set()
        start = time.perf_counter()
        arrivals = []
        for record in dispatch(specs, cfg, workers, ray_address="local" if ray else None):
            store_once(store, run, stored, record)
            arrivals.append(time.perf_counter())
        store.flush()
        end = time.perf_counter()
        steady_from = arrivals[workers - 1]
        steady = (len(arrivals) - workers) / (end - steady_from)
        return end - start, steady, len(stored)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="place_table,collect_wood_4,make_wood_pickaxe")
    parser.add_argument("--seeds", default="0-47")
    parser.add_argument("--ray", action="store_true", help="Ray actors instead of processes")
    args = parser.parse_args()
    specs = [EpisodeSpec(t, s) for t in args.tasks.split(",") for s in parse_seeds(args.seeds)]
    rows = {}
    for workers in (1, 2):
        total, steady, n = measure(specs, workers, args.ray)
        rows[workers] = steady
        print(
            f"{workers} worker(s): {n} episodes in {total:.1f} s ({n / total:.2f} episodes/s"
            f" overall), steady {steady:.2f} episodes/s",
            flush=True,
        )
    print(f"pool: {'ray' if args.ray else 'local processes'}")
    print(f"ratio: {rows[2] / rows[1]:.2f}")


if __name__ == "__main__":
    main()
