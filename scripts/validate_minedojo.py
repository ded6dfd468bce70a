"""Check the MineDojo backend on a workstation: Java, minedojo, one live episode.

    python scripts/validate_minedojo.py [--steps 200] [--task collect_wood_4] [--seed 0]

1. Java 8 on PATH and ``import minedojo`` (otherwise: the install steps, exit 2).
2. ``peam/MineDojo-v0`` launches Minecraft, resets, and every observation it returns
   lies in the common observation space while a few vocabulary actions are stepped.
3. One slow-tier episode (recipe planner + MineDojo controller) of ``--task`` with
   ``--steps`` env steps, recorded into a temporary store; prints its outcome.
The first launch builds Malmo with Gradle and downloads Minecraft (internet needed).
"""

from __future__ import annotations

import argparse
import subprocess
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
from envs.minedojo_actions import VOCABULARY
from envs.minedojo_env import MineDojoUnavailable, check_available
from envs.tasks import load_tasks
from memory.store import ExperienceStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--task", default="collect_wood_4")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        check_available()
    except MineDojoUnavailable as err:
        print(err, file=sys.stderr)
        return 2
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    print(f"java: {java.splitlines()[0] if java else '?'}")
    if '"1.8' not in java:
        print("warning: MineDojo needs JDK 8 (java -version should say 1.8)", file=sys.stderr)
    task = load_tasks("configs/tasks/minedojo.yaml")[args.task]
    env = envs.make("minedojo", max_episode_steps=args.steps)
    start = time.perf_counter()
    obs, info = env.reset(seed=args.seed, options={"task": task.env})
    print(f"launched and reset in {time.perf_counter() - start:.0f} s")
    for name in ("forward", "camera_left", "attack", "jump", "noop"):
        obs, _, _, _, info = env.step(VOCABULARY.index(name))
        if not env.observation_space.contains(obs) or info.get("aborted"):
            print(f"step {name}: bad observation or abort: {info.get('aborted')}", file=sys.stderr)
            return 1
    print(f"observations ok: rgb {obs['rgb'].shape}, inventory {dict(info['inventory'])}")
    with tempfile.TemporaryDirectory() as tmp, ExperienceStore(Path(tmp) / "s.sqlite") as store:
        run = store.start_run("validate", {})
        runner = EpisodeRunner(
            env,
            RecipePlanner(),
            MineDojoController(),
            store,
            run,
            "minedojo",
            RunnerConfig(subgoal_budget=args.steps),
        )
        result = runner.run_episode(task, args.seed)
    print(f"episode {task.id} seed {args.seed}: {result.outcome} after {result.steps} steps")
    env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
