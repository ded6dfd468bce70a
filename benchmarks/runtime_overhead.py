"""Runner + store logging vs raw Crafter stepping, on the same action sequence, in one run.

Both sides replay the same seeded random actions on the same world: the raw
side calls ``crafter.Env.step`` directly; the runner side goes through the
Gymnasium backend, the episode loop, env-side verification, and the SQLite
store (compressed frame, inventory, status per step). Rounds alternate so both
see the same machine load. Last line: ``ratio: X`` = runner steps/s / raw steps/s,
each from the fastest time of every episode over the rounds (1.0 = logging is free; target >= 0.90).

    .venv/bin/python benchmarks/runtime_overhead.py [--episodes 8] [--steps 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import crafter
import numpy as np

import envs
from agent.loop.config import RunnerConfig
from agent.loop.runner import EpisodeRunner
from envs.crafter_env import make_deterministic
from envs.tasks import Task
from envs.verifiers import Verifier
from memory.records import CallStats, Decision, Subgoal
from memory.store import ExperienceStore


class Replay:
    """An executor that plays a fixed action list."""

    name = "replay"

    def __init__(self, actions: list[int]):
        self.actions = actions
        self.i = 0

    def begin(self, subgoal: Subgoal) -> None:
        pass

    def guard(self, obs, info) -> Decision | None:
        return None

    def act(self, obs, info) -> Decision:
        action = self.actions[self.i % len(self.actions)]
        self.i += 1
        return Decision(action)


class OneSubgoal:
    """A planner whose single subgoal never completes, so the replay runs to the time limit."""

    name = "fixed"

    def __init__(self) -> None:
        self.last_call = CallStats()

    def begin_episode(self, task) -> None:
        pass

    def plan(self, task, view):
        return [Subgoal("collect", "diamond", 9)]

    def attempt_done(self, subgoal, failure) -> None:
        pass

    def correct(self, subgoal, failure):
        return [subgoal]


def safe_actions(n: int, seed: int) -> list[int]:
    # Moves, noop and 'do' only: no placing or sleeping, so the trajectory stays comparable.
    rng = np.random.default_rng(seed)
    return [int(a) for a in rng.choice([0, 1, 2, 3, 4, 5], size=n)]


def raw_episode(env: crafter.Env, seed: int, actions: list[int]) -> tuple[float, int]:
    start = time.perf_counter()
    env._seed, env._episode = seed, 0
    env.reset()
    steps = 0
    for a in actions:
        _, _, done, _ = env.step(a)
        steps += 1
        if done:
            break
    return time.perf_counter() - start, steps


def runner_episode(runner: EpisodeRunner, task: Task, seed: int) -> tuple[float, int]:
    start = time.perf_counter()
    steps = runner.run_episode(task, seed).steps
    # Count the background writer too: the episode is timed until it is committed.
    runner.store.flush()
    return time.perf_counter() - start, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=8, help="episodes (seeds 0..N-1) per round")
    parser.add_argument("--steps", type=int, default=300, help="step limit per episode")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    actions = safe_actions(args.steps, seed=0)
    raw_env = make_deterministic(crafter.Env(length=None))
    raw_episode(raw_env, 0, actions[:50])  # warm up (numba world generation, textures)
    task = Task("bench", "gather", Verifier("inventory", "diamond", 9), len(actions))
    raw_rates, runner_rates = [], []
    # Fastest time per episode over rounds (as timeit does): noise only ever adds time.
    raw_best: dict[int, float] = {}
    run_best: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = ExperienceStore(Path(tmp) / "store.sqlite")
        run_id = store.start_run("bench", {})
        env = envs.make("crafter", max_episode_steps=len(actions))
        for r in range(args.rounds):
            raw_t = run_t = 0.0
            raw_n = run_n = 0
            # Alternate episode by episode so both sides see the same machine load.
            for seed in range(args.episodes):
                t, n = raw_episode(raw_env, seed, actions)
                raw_t, raw_n = raw_t + t, raw_n + n
                raw_best[seed] = min(raw_best.get(seed, t), t)
                runner = EpisodeRunner(
                    env,
                    OneSubgoal(),
                    Replay(actions),
                    store,
                    run_id,
                    "crafter",
                    RunnerConfig(subgoal_budget=len(actions), max_attempts=1),
                )
                t, n = runner_episode(runner, task, seed)
                run_t, run_n = run_t + t, run_n + n
                run_best[seed] = min(run_best.get(seed, t), t)
            if raw_n != run_n:
                raise SystemExit(f"trajectories diverged: raw {raw_n} steps, runner {run_n}")
            raw_rates.append(raw_n / raw_t)
            runner_rates.append(run_n / run_t)
            print(
                f"round {r}: {raw_n} steps; raw {raw_rates[-1]:.0f} steps/s,"
                f" runner+store {runner_rates[-1]:.0f} steps/s"
            )
        store.close()
    raw, run = statistics.median(raw_rates), statistics.median(runner_rates)
    print(f"median of {args.rounds} rounds: raw {raw:.0f} steps/s, runner+store {run:.0f} steps/s")
    raw_fast, run_fast = raw_n / sum(raw_best.values()), run_n / sum(run_best.values())
    print(
        f"best of {args.rounds} per episode: raw {raw_fast:.0f} steps/s,"
        f" runner+store {run_fast:.0f} steps/s"
    )
    print(f"ratio: {run_fast / raw_fast:.3f}")


if __name__ == "__main__":
    main()
