"""Building what plays an episode from a run config: planner, controller, the executor that
takes subgoals before the slow tier, and the runner. The one place runners are made (the
run folder, the worker pool and the comparison's GIFs all call :func:`make_runner`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import envs
from agent.fast.config import FastConfig
from agent.loop.config import RunConfig
from agent.loop.runner import EpisodeRunner, EpisodeWriter, FastTier, SlowExecutor
from agent.slow.planner import Planner
from envs.config import ConfigError


def make_env(cfg: RunConfig, budget: int) -> Any:
    """The backend with ``budget`` steps, wrapped in the map memory; all-seeing only when the
    controller is set to see the world (``controller.sees: world``)."""
    return envs.make(
        cfg.backend,
        sees=cfg.controller.sees,
        teacher_world=cfg.runner.teacher_sees == "world",
        max_episode_steps=budget,
        size=cfg.frame_size,
    )


def make_planner(cfg: RunConfig, out: Path) -> Planner:
    """The slow tier's planner (an LLM planner caches its answers in ``out``), behind the
    consolidated plan head when ``plan_head.dir`` names one."""
    planner: Planner
    if cfg.planner == "llm":
        from agent.slow.llm_planner import LLMPlanner

        planner = LLMPlanner(cfg.llm, cache_path=str(out / "llm_cache.sqlite"))
    else:
        from agent.slow.recipe_planner import RecipePlanner

        planner = RecipePlanner()
    if cfg.plan_head.dir and cfg.plan_reuse.dir:
        raise ConfigError("plan_head.dir and plan_reuse.dir are exclusive: set one of them")
    if cfg.plan_head.dir:
        from agent.slow.plan_head_planner import PlanHeadPlanner
        from memory.text_embedding import SubgoalEmbedder

        return PlanHeadPlanner(
            _plan_heads(Path(cfg.plan_head.dir)),
            planner,
            SubgoalEmbedder(),
            cfg.plan_head.threshold,
        )
    if cfg.plan_reuse.dir:
        from agent.slow.plan_reuse import PlanReusePlanner
        from memory.plans import PlanMemory
        from memory.text_embedding import SubgoalEmbedder

        memory = PlanMemory.load(Path(cfg.plan_reuse.dir), SubgoalEmbedder())
        return PlanReusePlanner(memory, planner, cfg.plan_reuse.similarity)
    return planner


def make_controller(cfg: RunConfig) -> SlowExecutor:
    """The slow tier's controller for the backend (a fresh one per episode)."""
    if envs.backend_name(cfg.backend) == "minedojo":
        from agent.slow.minedojo_controller import MineDojoController

        return MineDojoController()
    from agent.slow.controller import DeliberateController

    return DeliberateController(cfg.controller)


def fast_config(cfg: RunConfig) -> FastConfig:
    """The fast tier's settings as this run plays them: with hand-off it samples at
    ``fast.handoff_temperature``."""
    fast = cfg.fast
    if cfg.runner.handoff and fast.handoff_temperature is not None:
        return dataclasses.replace(fast, temperature=fast.handoff_temperature)
    return fast


def make_fast(cfg: RunConfig) -> FastTier | None:
    """The executor that takes subgoals before the slow tier: fast tier, retrieval agent, none."""
    if cfg.fast.dir:
        from agent.fast.executor import FastExecutor

        return FastExecutor(fast_config(cfg))
    if cfg.retrieval.dir:
        from agent.fast.retrieval_executor import RetrievalExecutor
        from memory.retrieval import RetrievalMemory
        from memory.text_embedding import SubgoalEmbedder

        memory = RetrievalMemory.load(Path(cfg.retrieval.dir))
        return RetrievalExecutor(
            memory,
            SubgoalEmbedder(),
            sample=cfg.retrieval.sample,
            seed=cfg.retrieval.seed,
            futile=cfg.fast.futile_crafts,  # the same action rules as the fast tier
        )
    return None


def make_runner(
    cfg: RunConfig,
    env: Any,
    planner: Planner,
    store: EpisodeWriter,
    run_id: int,
    fast: FastTier | None,
) -> EpisodeRunner:
    """A runner for one episode: a fresh controller, so no survival mode carries over (and,
    with ``runner.teacher_sees: world``, a fresh all-seeing teacher that labels)."""
    privileged = None
    if cfg.runner.teacher_sees == "world":
        privileged = make_controller(
            dataclasses.replace(cfg, controller=dataclasses.replace(cfg.controller, sees="world"))
        )
    return EpisodeRunner(
        env,
        planner,
        make_controller(cfg),
        store,
        run_id,
        cfg.backend,
        cfg.runner,
        fast=fast,
        privileged=privileged,
    )


def _plan_heads(folder: Path) -> Any:
    """One plan head (a `peam plans` folder) or the served head of each category (a folder
    `peam plans --registry` consolidates into: ``plans/<category>/LATEST``)."""
    from agent.fast import registry
    from envs.tasks import CATEGORIES
    from memory.plan_head import PlanHead

    if not (folder / registry.PLANS).is_dir():
        return PlanHead.load(folder)
    return {
        c: PlanHead.load(registry.served_folder(folder, c, registry.PLANS))
        for c in CATEGORIES
        if registry.latest(folder, c, registry.PLANS) is not None
    }
