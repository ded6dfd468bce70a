"""The fair slow tier (acts on what it has seen) next to the all-seeing oracle, in one run:
success, mean episode length, and the share of the fair tier's decisions spent exploring
for something it has not seen yet (the oracle never explores: it reads the whole map).

    .venv/bin/python benchmarks/exploration.py [--seeds 0-9] [--tasks-file FILE]

Last line: ``ratio:`` = fair steps per episode / oracle steps per episode, over every
task and seed (the price of not seeing the whole world).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import envs
from agent.loop.build import make_runner
from agent.loop.config import load_config
from agent.slow.recipe_planner import RecipePlanner
from envs.config import parse_seeds
from envs.tasks import load_tasks
from memory.store import ExperienceStore


def play(sees: str, tasks: list, seeds: list[int], store: ExperienceStore) -> dict[str, list]:
    """Per task: (success, steps, exploring decisions) of every seed."""
    cfg = load_config("configs/run/default.yaml", [f"controller.sees={sees}"])
    run = store.start_run(sees, {})
    out: dict[str, list] = {}
    for task in tasks:
        env = envs.make("crafter", sees=sees, max_episode_steps=task.budget)
        for seed in seeds:
            runner = make_runner(cfg, env, RecipePlanner(), store, run, None)
            result = runner.run_episode(task, seed)
            explored = getattr(runner.executor, "exploring", 0)
            out.setdefault(task.id, []).append((result.success, result.steps, explored))
        env.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--tasks-file", default="configs/tasks/crafter.yaml")
    args = parser.parse_args()
    tasks, seeds = list(load_tasks(args.tasks_file).values()), parse_seeds(args.seeds)
    with tempfile.TemporaryDirectory() as tmp, ExperienceStore(Path(tmp) / "s.sqlite") as store:
        fair = play("memory", tasks, seeds, store)
        oracle = play("world", tasks, seeds, store)
    head = f"{'task':20s} {'fair won':>8s} {'steps':>6s} {'exploring':>9s}"
    print(f"{head} {'oracle won':>10s} {'steps':>6s}")
    totals = {"fair": 0, "oracle": 0, "explore": 0}
    for task in tasks:
        f, o = fair[task.id], oracle[task.id]
        f_steps, o_steps = sum(s for _, s, _ in f), sum(s for _, s, _ in o)
        explored = sum(e for _, _, e in f)
        totals["fair"] += f_steps
        totals["oracle"] += o_steps
        totals["explore"] += explored
        print(
            f"{task.id:20s} {sum(w for w, _, _ in f):>5d}/{len(f):<2d} {f_steps / len(f):>6.0f}"
            f" {explored / max(1, f_steps):>9.1%} {sum(w for w, _, _ in o):>7d}/{len(o):<2d}"
            f" {o_steps / len(o):>6.0f}"
        )
    print(f"fair tier: {totals['explore'] / max(1, totals['fair']):.1%} of decisions explore")
    print(f"ratio: {totals['fair'] / max(1, totals['oracle']):.3f}")


if __name__ == "__main__":
    main()
