"""A run folder: config.yaml, store.sqlite, summary.json, videos/ — created, resumed or refused."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import envs
from agent.loop.build import make_env, make_fast, make_planner, make_runner
from agent.loop.config import RunConfig
from agent.loop.runner import EpisodeResult, EpisodeRunner
from agent.loop.summary import RunSummary
from agent.slow.config import api_key
from envs.config import ConfigError, build, parse_seeds, to_dict
from envs.tasks import Task, load_tasks, select
from memory.atomic import atomic_write, atomic_write_bytes
from memory.store import ExperienceStore

PLANNERS = ("recipe", "llm")


class RunFolderError(RuntimeError):
    """The run folder exists and neither --resume nor --overwrite was given (or similar)."""


@dataclass
class RunPlan:
    """What a run will do: its folder, config, store, and the episodes still to play."""

    out: Path
    config: RunConfig
    tasks: list[Task]
    seeds: list[int]
    store: ExperienceStore
    run_id: int
    todo: list[tuple[Task, int]]


def prepare(config: RunConfig, out: Path, resume: bool = False, overwrite: bool = False) -> RunPlan:
    """Validate the config, then create (or reopen with ``resume``) the run folder."""
    if resume and overwrite:
        raise RunFolderError("--resume and --overwrite contradict each other; pass one")
    if out.exists() and not (resume or overwrite):
        raise RunFolderError(
            f"run folder {out} exists; pass --resume to continue it or --overwrite to start over"
        )
    if resume and not (out / "config.yaml").exists():
        raise RunFolderError(f"nothing to resume in {out} (no config.yaml); drop --resume")
    if resume:
        saved = yaml.safe_load((out / "config.yaml").read_text())
        given, config = config, build(RunConfig, saved)
        # How to play is chosen per invocation; what to play comes from the saved config.
        config.workers, config.ray_address = given.workers, given.ray_address
    _validate(config)
    tasks = select(load_tasks(config.tasks_file), config.tasks)
    _check_plannable(config, tasks)
    seeds = parse_seeds(config.seeds)
    if overwrite and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        atomic_write(out / "config.yaml", yaml.safe_dump(to_dict(config), sort_keys=False))
    store = ExperienceStore(out / "store.sqlite")
    run_id = store.start_run(out.name, to_dict(config))
    store.discard_incomplete(run_id)
    done = {(e.task_id, e.seed) for e in store.episodes(run_id)}
    todo = [(t, s) for t in tasks for s in seeds if (t.id, s) not in done]
    return RunPlan(out, config, tasks, seeds, store, run_id, todo)


def _check_plannable(config: RunConfig, tasks: list[Task]) -> None:
    """Refuse, before anything is written, a task the offline planner cannot plan (it is the
    LLM planner's fallback too, so no planner could)."""
    if envs.backend_name(config.backend) != "crafter":
        return  # MineDojo's suite is planned by the same recipes, checked by its own tests
    from agent.slow.recipe_planner import plannable

    for task in tasks:
        why = plannable(task)
        if why is not None:
            raise ConfigError(f"task {task.id!r} cannot be planned: {why}")


RUNNER_LEAST = {
    "envs": 1,
    "subgoal_budget": 1,
    "max_attempts": 1,
    "max_corrections": 0,
    "stall_steps": 0,
    "alone_stall_steps": 0,
    "idle_steps": 0,
}
"""Smallest valid value of each count in ``runner`` (a negative step limit would give up
every attempt at once)."""


STAT = (0, 9)
"""A Crafter stat (health, food, drink, energy) or a held count lies in 0-9."""
DAYLIGHT = (0.0, 1.0)
CONTROLLER_RANGE: dict[str, tuple[float, float | None]] = {
    "drink_low": STAT,
    "food_low": STAT,
    "energy_low": STAT,
    "dusk_drink": STAT,
    "dusk_food": STAT,
    "dusk_stone": STAT,
    "urgent": STAT,
    "rest_health": STAT,
    "open_sleep_daylight": DAYLIGHT,
    "morning": DAYLIGHT,
    "finish_reach": (0, None),
    "search_cost": (1, None),
    "explore_gain": (0, None),
}
"""Valid range (least, most; None: no most) of each number in ``controller``: outside it a
threshold never or always fires, which no run means."""


def _validate_controller(config: RunConfig) -> None:
    from agent.slow.explore import LIKELY

    cfg = config.controller
    for key, (least, most) in CONTROLLER_RANGE.items():
        value = getattr(cfg, key)
        if value < least or (most is not None and value > most):
            valid = f">= {least}" if most is None else f"in [{least}, {most}]"
            off = " (0 = off)" if key in ("explore_gain", "finish_reach", "dusk_stone") else ""
            raise ConfigError(f"controller.{key} must be {valid}{off}, got {value}")
    unknown = [t for t in cfg.explore_gain_targets.split(",") if t not in LIKELY]
    if unknown:
        raise ConfigError(
            f"controller.explore_gain_targets: no likely surroundings known for {unknown};"
            f" valid targets: {', '.join(LIKELY)}"
        )


def _validate(config: RunConfig) -> None:
    if envs.backend_name(config.backend) is None:
        raise envs.UnknownBackendError(
            f"unknown backend {config.backend!r}; valid choices: {', '.join(envs.BACKENDS)}"
        )
    if config.planner not in PLANNERS:
        raise ConfigError(
            f"unknown planner {config.planner!r}; valid choices: {', '.join(PLANNERS)}"
        )
    if config.workers < 1:
        raise ConfigError(f"workers must be >= 1, got {config.workers}")
    if (config.workers > 1 or config.ray_address) and config.video:
        raise ConfigError("--video records in the run process; drop it or use workers=1")
    if (config.workers > 1 or config.ray_address) and config.runner.envs > 1:
        raise ConfigError("workers each play one env; set runner.envs=1 with workers > 1")
    if config.controller.sees not in envs.SEES:
        raise ConfigError(
            f"unknown controller.sees {config.controller.sees!r}; valid choices:"
            f" {', '.join(envs.SEES)} (world is an all-seeing oracle, for comparison only)"
        )
    if config.runner.teacher_sees not in envs.SEES:
        raise ConfigError(
            f"unknown runner.teacher_sees {config.runner.teacher_sees!r}; valid choices:"
            f" {', '.join(envs.SEES)}"
        )
    if config.runner.teacher_sees == "world" and (
        config.controller.sees == "world"
        or config.runner.envs > 1
        or envs.backend_name(config.backend) != "crafter"
    ):
        raise ConfigError(
            "runner.teacher_sees=world labels beside a fair memory: it needs the crafter"
            " backend, controller.sees=memory and runner.envs=1 (use workers for speed)"
        )
    for key, least in RUNNER_LEAST.items():
        value = getattr(config.runner, key)
        if value < least:
            off = " (0 = off)" if least == 0 and key.endswith("_steps") else ""
            raise ConfigError(f"runner.{key} must be >= {least}{off}, got {value}")
    _validate_controller(config)
    if config.runner.vector not in ("sync", "async"):
        raise ConfigError(
            f"unknown runner.vector {config.runner.vector!r}; valid choices: sync, async"
        )
    if config.retrieval.dir and config.fast.dir:
        raise ConfigError("set fast.dir or retrieval, not both: one memory takes the subgoals")
    if config.retrieval.dir and config.runner.envs > 1:
        raise ConfigError("the retrieval agent plays one env at a time; set runner.envs=1")
    if envs.backend_name(config.backend) == "minedojo":
        if config.runner.envs > 1:
            raise ConfigError("MineDojo runs one Minecraft per env; set runner.envs=1")
        from envs.minedojo_env import check_available

        check_available()  # refuse before anything is written, with the install steps
    if config.planner == "llm":
        api_key(config.llm)  # refuse before anything is written


def execute(
    plan: RunPlan,
    on_episode: Callable[[EpisodeResult], None] | None = None,
    on_step: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Play every episode still to do, updating summary.json and episodes.jsonl after each."""
    cfg = plan.config
    summary = RunSummary(plan.out, plan.store, plan.run_id, plan.tasks)
    if cfg.workers > 1 or cfg.ray_address:  # the workers build their own planner and memory
        return _execute_pool(plan, summary, on_episode)
    planner = make_planner(cfg, plan.out)
    fast = make_fast(cfg)

    def runner(env: Any) -> EpisodeRunner:
        return make_runner(cfg, env, planner, plan.store, plan.run_id, fast)

    def finished(result: EpisodeResult) -> None:
        if cfg.video:
            video = plan.out / "videos" / f"{result.task_id}_seed{result.seed}.gif"
            write_video(video, result.frames)
        summary.add(result.episode_id)
        if on_episode is not None:
            on_episode(result)

    # Episodes grouped by step budget: each budget is its env's time limit.
    budgets = sorted({task.budget for task, _ in plan.todo})
    for budget in budgets:
        jobs = [(task, seed) for task, seed in plan.todo if task.budget == budget]
        if cfg.runner.envs > 1:
            from agent.loop.vector_runner import VectorRunner, make_vector_env

            venv = make_vector_env(
                cfg.backend,
                min(cfg.runner.envs, len(jobs)),
                budget,
                cfg.runner.vector,
                size=cfg.frame_size,
                sees=cfg.controller.sees,
            )
            try:
                VectorRunner(venv, lambda: runner(None), fast).run(
                    jobs, on_episode=finished, record_video=cfg.video
                )
            finally:
                venv.close()
            continue
        env = make_env(cfg, budget)
        for task, seed in jobs:
            result = runner(env).run_episode(task, seed, record_video=cfg.video, on_step=on_step)
            finished(result)
        env.close()
    planner.close()
    return summary.as_dict()


def _execute_pool(
    plan: RunPlan,
    summary: RunSummary,
    on_episode: Callable[[EpisodeResult], None] | None,
) -> dict[str, Any]:
    """Episodes played by a worker pool (``agent.loop.pool``); this process alone writes."""
    from agent.loop.pool import EpisodeSpec, dispatch, store_once

    cfg = plan.config
    specs = [EpisodeSpec(task.id, seed) for task, seed in plan.todo]
    stored = {f"{e.task_id}/{e.seed}" for e in plan.store.episodes(plan.run_id)}
    address = cfg.ray_address or None
    for record in dispatch(specs, cfg, cfg.workers, ray_address=address):
        episode_id = store_once(plan.store, plan.run_id, stored, record)
        if episode_id is not None:
            plan.store.flush()
            summary.add(episode_id)
            if on_episode is not None:
                task_id, seed = record.key.rsplit("/", 1)
                result = EpisodeResult(
                    task_id, int(seed), record.success, record.steps, record.outcome, 0
                )
                on_episode(result)
    return summary.as_dict()


def write_video(path: Path, frames: list[Any], scale: int = 2) -> None:
    """An animated GIF of an episode (written atomically)."""
    import imageio.v3 as iio
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    stack = np.stack(frames)
    if scale > 1:
        stack = stack.repeat(scale, axis=1).repeat(scale, axis=2)
    atomic_write_bytes(path, iio.imwrite("<bytes>", stack, extension=".gif", duration=80, loop=0))
