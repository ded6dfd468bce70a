"""The whole game in `peam loop`: full-game training episodes and the Crafter score per round.

The task suite asks for eleven things; the whole game asks for twenty-two, and keeps the
agent alive in between (eat, drink, sleep). With ``game_seeds`` a round also plays that
many full games, so their subgoals are labelled and consolidated like the suite's; with
``score_seeds`` the fast tier alone plays held-out games after every round and the
round's Crafter score joins the learning curve.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from agent.compare.score import write_score
from agent.evolve.config import LoopConfig
from agent.loop.config import RunConfig
from agent.loop.run_folder import execute, prepare

SCORE = "eval-score"
"""A round's held-out full games (``score.json`` inside)."""


def game_run(cfg: LoopConfig) -> RunConfig:
    """The loop's run settings playing the whole game."""
    run = copy.deepcopy(cfg.run)
    run.tasks_file, run.tasks = cfg.game_tasks_file, []
    run.runner.max_attempts = cfg.game_max_attempts
    return run


def game_seeds(cfg: LoopConfig, r: int) -> tuple[int, int]:
    """Round r's full-game training seeds, first and last."""
    lo = cfg.game_base + r * cfg.game_seeds
    return lo, lo + cfg.game_seeds - 1


def score_run(cfg: LoopConfig, fast_dir: Path, seeds: str) -> RunConfig:
    """The fast tier in ``fast_dir`` alone (no hand-off, every subgoal it has an adapter for,
    no labels) playing full games on ``seeds``."""
    run = game_run(cfg)
    run.seeds, run.runner.handoff, run.runner.label = seeds, False, False
    run.fast.min_skill_success, run.fast.dir = 0.0, str(fast_dir)
    return run


def evaluate_score(cfg: LoopConfig, out: Path, folder: Path, log: Any) -> None:
    """The fast tier alone plays ``score_seeds`` full games; writes the round's score."""
    run = score_run(cfg, out, cfg.score_seeds)
    log(f"{folder.name}: the whole game, held-out seeds {run.seeds}")
    plan = prepare(run, folder, resume=(folder / "config.yaml").exists())
    execute(plan)
    result = write_score(folder, plan.store.episodes(plan.run_id))
    plan.store.close()
    lo, hi = result["interval95"]
    log(f"{folder.name}: Crafter score {result['score']:.1f} over {result['episodes']} games"
        f" (95% bootstrap {lo:.1f}-{hi:.1f})")  # fmt: skip


def round_score(folder: Path, name: str = SCORE) -> dict[str, Any] | None:
    """The round's Crafter score and per-achievement rates, when measured (in
    ``folder/name/score.json``)."""
    path = folder / name / "score.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    result = {"score": data["score"], "episodes": data["episodes"], "rates": data["rates"]}
    if "interval95" in data:  # runs scored before the interval was written have none
        result["interval95"] = data["interval95"]
    return result
