"""Where the agent dies: every lost episode's hits and the situation at its death.

    .venv/bin/python benchmarks/deaths.py --task collect_iron --task make_iron_pickaxe \\
        --seeds 0-99 [--set controller.food_low=6 ...] [--each]

Plays the tasks with the slow tier alone (the recipe planner and the fair controller of
``configs/run/default.yaml``, with any ``--set``; with ``--set fast.dir=models/loop10 --set
runner.handoff=false --set fast.min_skill_success=0`` the fast tier alone, under the same
controller's reflexes), one process, and follows the player in
the simulator: a diagnostic read of Crafter's objects that no tier ever sees. Each health
loss is put down to an arrow (one flying into the player's cell), a zombie (one next to
it), hunger, thirst or fatigue (a need at 0), or lava. Each death gets its situation from
daylight and the controller's night shelter (``agent.slow.shelter``):

- ``day``: daylight at or above the shelter's MORNING (0.6);
- ``burrow``: in the dark, inside a closed burrow (or pocket);
- ``to burrow``: in the dark, sheltering, on the way to a burrow or digging it;
- ``to pocket``: in the dark, building a pocket of placed stones (``controller.pillbox``);
- ``no site``: in the dark, no burrow site remembered within reach (MAX_WALK);
- ``needs first``: in the dark with drink or food at 1 or less, so the errand comes first.

Prints per task the games, deaths, the hits that killed (the last one) and all hits, and
the situations; ``--each`` also prints one line per death. Last line: ``ratio:`` = deaths /
lost games.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from crafter import objects

import envs
from agent.loop.build import make_fast, make_runner
from agent.loop.config import load_config
from agent.slow.recipe_planner import RecipePlanner
from agent.slow.shelter import MORNING
from envs.config import parse_seeds
from envs.tasks import load_tasks
from memory.store import ExperienceStore

NEEDS = ("food", "drink", "energy")


def _crafter(env: Any) -> Any:
    """The raw crafter.Env under the wrappers."""
    return env.unwrapped._env


def arrows(world: Any) -> list[tuple[Any, tuple[int, int]]]:
    """Every arrow in the world and the cell it flies into next."""
    return [
        (o, (int(o.pos[0] + o.facing[0]), int(o.pos[1] + o.facing[1])))
        for o in world.objects
        if isinstance(o, objects.Arrow)
    ]


def cause(world: Any, player: Any, before: dict[str, int], flying: list, zombies: list) -> str:
    """What took health from ``player`` on the step just played (``before``: its needs
    before the step; ``flying``: :func:`arrows` before the step; ``zombies``: the zombies
    then within two cells, since one the player kills still strikes as it is removed)."""
    here = (int(player.pos[0]), int(player.pos[1]))
    if world[player.pos][0] == "lava":
        return "lava"
    alive = set(map(id, world.objects))
    if any(id(a) not in alive and cell == here for a, cell in flying):
        return "arrow"  # an arrow that flew into the player's cell and is gone
    near = [o for o in world.objects if o is not player and o.distance(player) <= 1]
    if any(isinstance(o, objects.Zombie) for o in near) or any(id(z) not in alive for z in zombies):
        return "zombie"
    skeletons = [o for o in world.objects if isinstance(o, objects.Skeleton)]
    if any(o.distance(player) <= 2 and 0 in (o.pos - player.pos) for o in skeletons):
        return "arrow"  # shot from two cells away in the same step
    empty = [n for n in NEEDS if min(before[n], player.inventory[n]) == 0]
    return "/".join(empty) if empty else "other"


class Watch:
    """Wraps the env: records every health loss and the state at the last step."""

    def __init__(self, env: Any) -> None:
        self.env, self.hits, self.last = env, [], {}

    def reset(self, **kwargs: Any) -> Any:
        self.hits, self.last = [], {}
        return self.env.reset(**kwargs)

    def step(self, action: int) -> Any:
        raw = _crafter(self.env)
        player = raw._player
        health, before = player.health, {n: player.inventory[n] for n in NEEDS}
        flying = arrows(raw._world)
        zombies = [o for o in raw._world.objects if isinstance(o, objects.Zombie)]
        zombies = [z for z in zombies if z.distance(player) <= 2]
        out = self.env.step(action)
        if player.health < health:
            self.hits.append(cause(raw._world, player, before, flying, zombies))
        info = out[4]
        self.last = {
            "daylight": float(info.get("daylight", 1.0)),
            "needs": {n: player.inventory[n] for n in NEEDS},
            "ground": raw._world[player.pos][0],
            "pos": (int(player.pos[0]), int(player.pos[1])),
        }
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.env, name)


def situation(last: dict[str, Any], controller: Any) -> str:
    """The death's situation (see the module docstring)."""
    if last["daylight"] >= MORNING:
        return "day"
    if min(last["needs"]["drink"], last["needs"]["food"]) <= 1:
        return "needs first"
    shelter, memory = controller._shelter, controller._memory
    if shelter.active and memory is not None and shelter._inside(memory.grid, last["pos"]):
        return "burrow"
    if not shelter.active:
        return "no site"
    return "to pocket" if shelter.pocket is not None else "to burrow"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", action="append", required=True, help="task id (repeatable)")
    parser.add_argument("--seeds", default="0-99")
    parser.add_argument("--set", action="append", default=[], help="run config KEY=VALUE")
    parser.add_argument("--each", action="store_true", help="one line per death")
    args = parser.parse_args()
    cfg = load_config("configs/run/default.yaml", ["runner.label=false", *args.set])
    tasks, seeds = load_tasks(cfg.tasks_file), parse_seeds(args.seeds)
    unknown = [t for t in args.task if t not in tasks]
    if unknown:
        raise SystemExit(f"unknown task {', '.join(unknown)}; `peam tasks` lists them")
    lost = deaths = 0
    with tempfile.TemporaryDirectory() as tmp, ExperienceStore(Path(tmp) / "s.sqlite") as store:
        run = store.start_run("deaths", {})
        for task_id in args.task:
            task_lost, task_deaths = _task(tasks[task_id], seeds, cfg, store, run, args.each)
            lost, deaths = lost + task_lost, deaths + task_deaths
    print(f"ratio: {deaths / max(1, lost):.3f}")


def _task(task: Any, seeds: list[int], cfg: Any, store: Any, run: int, each: bool) -> tuple:
    """Play ``task`` on every seed, print its table; returns (lost games, deaths)."""
    env = Watch(envs.make("crafter", max_episode_steps=task.budget))
    won, killed, hits, where = 0, Counter(), Counter(), Counter()
    fast = make_fast(cfg)
    for seed in seeds:
        runner = make_runner(cfg, env, RecipePlanner(), store, run, fast)
        result = runner.run_episode(task, seed)
        won += bool(result.success)
        if result.success or _crafter(env.env)._player.health > 0:
            continue  # won, or lost on a budget
        place = situation(env.last, runner.executor)
        killed[env.hits[-1] if env.hits else "?"] += 1
        hits.update(env.hits)
        where[place] += 1
        if each:
            print(
                f"  {task.id} seed {seed}: died at step {result.steps}, daylight"
                f" {env.last['daylight']:.2f} on {env.last['ground']}, {place},"
                f" {_crafter(env.env)._player.inventory['stone']} stones;"
                f" needs {env.last['needs']}; hits {' '.join(env.hits)}",
                flush=True,
            )
    env.close()
    died = sum(where.values())
    lost = len(seeds) - won
    print(f"{task.id}: won {won}/{len(seeds)}, died {died}, lost otherwise {lost - died}")
    print(f"  killed by  {_fmt(killed)}")
    print(f"  all hits   {_fmt(hits)}")
    print(f"  situation  {_fmt(where)}", flush=True)
    return lost, died


def _fmt(counts: Counter) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.most_common()) or "-"


if __name__ == "__main__":
    main()
