"""`peam compare`: every agent on the task suite on held-out seeds, side by side.

Layout of ``--out``::

    config.yaml                    the resolved comparison config
    trunk/                         the trunk every parametric agent starts from
    agents/<name>/build.json       forgetting matrix, memory growth, build time
    agents/<name>/memory/          its memory (adapters, or faiss index + plan memory)
    agents/<name>/try<k>/          run folder of the k-th attempt at the trials still failed
    agents/<name>/episode.gif      one episode of the agent
    report.md, report.json, *.png  (agent.compare.report)

A trial is a (task, seed) pair; it is attempted up to ``attempts`` times (a new
episode on the same world, another sampling seed for the fast tier) and succeeds
when one attempt does. Agents that act deterministically (slow tier, majority
retrieval vote) get one attempt: a retry would replay the same episode.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch
import yaml

from agent.compare.config import AgentSpec, CompareConfig
from agent.loop.build import fast_config, make_env, make_fast, make_planner, make_runner
from agent.loop.config import RunConfig, load_config
from agent.loop.pool import stop_pool
from agent.loop.run_folder import (
    RunPlan,
    execute,
    write_video,
)
from consolidation.continual import ORDER, split_by_category
from envs.config import ConfigError, parse_seeds
from envs.tasks import load_tasks, select
from memory.atomic import atomic_write
from memory.store import ExperienceStore
from memory.transitions import load_transitions

Log = Callable[[str], None]


def run_config(cfg: CompareConfig, spec: AgentSpec, memory: Path) -> RunConfig:
    overrides = [f"tasks_file={cfg.tasks_file}", f"seeds={cfg.seeds}", *cfg.run_set]
    if cfg.tasks:
        overrides.append("tasks=" + ",".join(cfg.tasks))
    if spec.kind == "peam":
        overrides.append(f"fast.dir={memory}")
        if spec.plans:
            overrides.append(f"plan_head.dir={memory}")
    elif spec.kind == "retrieval":
        overrides += [f"retrieval.dir={memory}", f"llm.plan_memory={memory / 'plans'}"]
        if spec.plans:
            overrides.append(f"plan_reuse.dir={memory / 'plans'}")
    return load_config(None, [*overrides, *spec.run_set])


def compare(cfg: CompareConfig, specs: dict[str, AgentSpec], out: Path, log: Log) -> None:
    """Build every memory, evaluate every agent, write the report."""
    from agent.compare import build as cb
    from agent.compare.report import write_report
    from memory.text_embedding import SubgoalEmbedder

    experience = Path(cfg.experience)
    if not (experience / "store.sqlite").exists():
        raise FileNotFoundError(
            f"no experience store at {experience}/store.sqlite; record slow-tier episodes with"
            f" `peam run --out {experience}` first"
        )
    _check_held_out(experience, parse_seeds(cfg.seeds))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "config.yaml", yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False))
    embedder = SubgoalEmbedder()
    torch.set_num_threads(2)
    todo = [n for n, s in specs.items() if s.kind != "slow"]
    todo = [n for n in todo if not (out / "agents" / n / cb.BUILD).exists()]
    if todo:
        data = load_transitions([experience / "store.sqlite"])
        parts = split_by_category(data, cfg.validate_every)
        table = embedder.embed(data.texts)
        trunk = Path(cfg.trunk) if cfg.trunk else out / "trunk"
        if not (trunk / "trunk.json").exists():
            train = data.subset(~_held_mask(data, parts))
            log(f"training the shared trunk by BC on {len(train)} labelled steps")
            cb.train_trunk(train, torch.from_numpy(table), cfg.trunk_epochs, trunk)
        for name in todo:
            spec, folder = specs[name], out / "agents" / name
            log(f"building {name} ({spec.kind} {spec.variant if spec.kind == 'peam' else ''})")
            if spec.kind == "retrieval":
                build = cb.build_retrieval(
                    spec, experience, folder / "memory", parts, table, embedder, cfg.tasks_file
                )
            else:
                build = cb.build_parametric(
                    name,
                    spec,
                    experience,
                    trunk,
                    folder / "memory",
                    parts,
                    torch.from_numpy(table),
                    cfg,
                    embedder,
                    log,
                )
            cb.write_build(folder, build)
    jobs = [(name, spec, cfg, out) for name, spec in specs.items()]
    _evaluate_all(jobs, cfg, out, log)
    write_report(out, specs, cfg)


def _held_mask(data: Any, parts: dict) -> Any:
    import numpy as np

    held = np.zeros(len(data), dtype=bool)
    for c in ORDER:
        episodes = np.unique(parts[c][1].episodes)
        held |= (data.categories == c) & np.isin(data.episodes, episodes)
    return held


def _check_held_out(experience: Path, seeds: list[int]) -> None:
    with ExperienceStore(experience / "store.sqlite") as store:
        seen = {e.seed for e in store.episodes()}
    overlap = sorted(seen & set(seeds))
    if overlap:
        raise ConfigError(
            f"held-out seeds {overlap[:5]} also appear in the experience {experience}; pick"
            " seeds it never played (e.g. --set seeds=1000-1019)"
        )


def _evaluate_all(jobs: list, cfg: CompareConfig, out: Path, log: Log) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    n_trials = len(select(load_tasks(cfg.tasks_file), cfg.tasks)) * len(parse_seeds(cfg.seeds))
    pool = ProcessPoolExecutor(max_workers=cfg.workers, mp_context=get_context("spawn"))
    progress = Progress(
        TextColumn("{task.description:18s}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
    )
    try:
        with progress:
            futures = {job[0]: pool.submit(evaluate_agent, *job) for job in jobs}
            bars = {n: progress.add_task(n, total=n_trials, status="") for n in futures}
            while any(not f.done() for f in futures.values()):
                for name in futures:
                    played, won = _played(out / "agents" / name)
                    progress.update(
                        bars[name],
                        completed=min(played, n_trials),
                        status=f"{played} episodes, {won} trials won",
                    )
                time.sleep(1.0)
            for name, future in futures.items():
                future.result()  # re-raise a worker's error here
                played, won = _played(out / "agents" / name)
                progress.update(bars[name], completed=n_trials, status=f"{won}/{n_trials} won")
    except BaseException:  # Ctrl-C: stop every agent now; finished episodes are kept
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    log(f"evaluated {len(jobs)} agents on {n_trials} trials each")


def _played(folder: Path) -> tuple[int, int]:
    played = won = 0
    for summary in folder.glob("try*/summary.json"):
        try:
            rows = json.loads(summary.read_text())["tasks"].values()
        except (OSError, ValueError, KeyError):
            continue
        played += sum(r["episodes"] for r in rows)
        won += sum(r["successes"] for r in rows)
    return played, won


def evaluate_agent(name: str, spec: AgentSpec, cfg: CompareConfig, out: Path) -> None:
    """Play every trial of one agent (a worker process): tries, then one GIF episode."""
    torch.set_num_threads(1)
    folder = out / "agents" / name
    run_cfg = run_config(cfg, spec, folder / "memory")
    tasks = select(load_tasks(cfg.tasks_file), cfg.tasks)
    seeds = parse_seeds(cfg.seeds)
    samples = (spec.kind == "peam" and fast_config(run_cfg).temperature > 0) or (
        spec.kind == "retrieval" and run_cfg.retrieval.sample
    )
    attempts = cfg.attempts if samples else 1
    failed = [(t, s) for t in tasks for s in seeds]
    for k in range(1, attempts + 1):
        if not failed:
            break
        run_cfg.fast.seed = run_cfg.retrieval.seed = k - 1
        try_dir = folder / f"try{k}"
        try_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(try_dir / "trials.json", json.dumps([[t.id, s] for t, s in failed]))
        store = ExperienceStore(try_dir / "store.sqlite")
        run_id = store.start_run(f"{name}/try{k}", dataclasses.asdict(run_cfg))
        store.discard_incomplete(run_id)
        done = {(e.task_id, e.seed): e.success for e in store.episodes(run_id)}
        todo = [(t, s) for t, s in failed if (t.id, s) not in done]
        execute(RunPlan(try_dir, run_cfg, tasks, seeds, store, run_id, todo))
        outcomes = {(e.task_id, e.seed): e.success for e in store.episodes(run_id)}
        store.close()
        failed = [(t, s) for t, s in failed if not outcomes.get((t.id, s))]
    if cfg.video and not (folder / "episode.gif").exists():
        _gif(run_cfg, tasks[0], seeds[0], folder)


def _gif(run_cfg: RunConfig, task: Any, seed: int, folder: Path) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, ExperienceStore(Path(tmp) / "s.sqlite") as store:
        run = store.start_run("gif", {})
        env = make_env(run_cfg, task.budget)
        planner = make_planner(run_cfg, Path(tmp))
        runner = make_runner(run_cfg, env, planner, store, run, make_fast(run_cfg))
        result = runner.run_episode(task, seed, record_video=True)
        env.close()
    write_video(folder / "episode.gif", result.frames)
