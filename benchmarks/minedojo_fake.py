"""The MineDojo slow tier in the fake that obeys Minecraft's rules: success per task.

The recipe planner and the MineDojo controller play the tasks through the adapter over
``tests/envs/minedojo_fake`` (world seed = episode seed + 1, the adapter's voxel cube and
lidar fan), each episode limited to its task's budget in ``configs/tasks/minedojo.yaml``
(env ticks). Prints
successes, env steps (ticks) and attacks per task, and ``ratio:`` successes over episodes.
This measures the controller against the fake's rules, not Minecraft.

    .venv/bin/python benchmarks/minedojo_fake.py --seeds 0-9
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import envs
from agent.loop.config import RunnerConfig
from agent.loop.runner import EpisodeRunner
from agent.slow.minedojo_controller import MineDojoController
from agent.slow.recipe_planner import RecipePlanner
from envs.config import parse_seeds
from envs.minedojo_actions import VOCABULARY
from envs.tasks import load_tasks
from memory.store import ExperienceStore
from tests.envs.minedojo_fake import factory

TASKS = ("place_table", "make_wood_pickaxe", "make_stone_pickaxe", "collect_wood_4")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--task", action="append", help="a task id (repeatable); default: 4")
    args = parser.parse_args()
    tasks = load_tasks("configs/tasks/minedojo.yaml")
    seeds = parse_seeds(args.seeds)
    total = won = 0
    with tempfile.TemporaryDirectory() as tmp, ExperienceStore(Path(tmp) / "s.sqlite") as store:
        run = store.start_run("minedojo-fake", {})
        for task_id in args.task or TASKS:
            task = tasks[task_id]
            env = envs.make("minedojo", max_episode_steps=task.budget, size=16)
            env.unwrapped.factory = factory()
            start, wins, steps, attacks = time.perf_counter(), 0, [], 0
            for seed in seeds:
                runner = EpisodeRunner(env, RecipePlanner(), MineDojoController(), store, run,
                                       "minedojo", RunnerConfig())  # fmt: skip
                result = runner.run_episode(task, seed)
                wins += result.success
                steps.append(result.steps)
                episode = store.episodes(run)[-1]
                attacks += sum(
                    VOCABULARY[s.action] == "attack" for s in store.steps(episode.id, frames=False)
                )
            total, won = total + len(seeds), won + wins
            print(f"{task_id:20s} {wins}/{len(seeds)}  mean ticks {sum(steps) / len(steps):7.0f}"
                  f"  attacks/episode {attacks / len(seeds):6.0f}"
                  f"  {time.perf_counter() - start:5.0f} s")  # fmt: skip
    print(f"ratio: {won / total:.3f} ({won}/{total} episodes won)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
