"""The Crafter score of a run of full-game episodes: each achievement's success rate (the
share of episodes that unlocked it at least once) and ``S = exp(mean_i ln(1 + s_i)) - 1``
over the 22 achievements, ``s_i`` in percent (Hafner, 2021), with a 95% bootstrap interval
over the episodes, published points of comparison and a bar plot of the 22 rates."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from crafter import constants

from memory.atomic import atomic_write, atomic_write_bytes
from memory.store import EpisodeRecord

ACHIEVEMENTS: tuple[str, ...] = tuple(constants.achievements)
PUBLISHED = {
    "Human experts": 50.5,
    "SPRING (GPT-4 reading the paper)": 27.3,
    "DreamerV3": 14.5,
    "Random": 1.6,
}
"""Crafter scores reported in the literature."""


def crafter_score(rates: dict[str, float]) -> float:
    """``S = exp(mean ln(1 + s_i)) - 1`` with ``s_i`` = success rate in percent."""
    logs = [math.log(1 + 100 * rates.get(a, 0.0)) for a in ACHIEVEMENTS]
    return math.exp(sum(logs) / len(logs)) - 1


def rates(episodes: list[EpisodeRecord]) -> dict[str, float]:
    """Per achievement, the share of ``episodes`` that unlocked it."""
    n = max(1, len(episodes))
    return {a: sum(a in e.unlocked for e in episodes) / n for a in ACHIEVEMENTS}


def score_interval(
    episodes: list[EpisodeRecord], level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the score: the episodes resampled with replacement.

    Twenty full games leave a wide interval (the fast tier's score on one set of 20 games
    moved by 15 points between two rounds whose 100-game scores differ by 4)."""
    if not episodes:
        return (0.0, 0.0)
    # In seed order: the interval of a set of games must not depend on the order the
    # workers finished them in.
    games = sorted(episodes, key=lambda e: (e.seed, e.task_id))
    unlocked = np.array([[a in e.unlocked for a in ACHIEVEMENTS] for e in games], float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(episodes), size=(resamples, len(episodes)))
    per = unlocked[picks].mean(axis=1)  # resamples x achievements
    scores = [crafter_score(dict(zip(ACHIEVEMENTS, row, strict=True))) for row in per]
    tail = 100 * (1 - level) / 2
    return float(np.percentile(scores, tail)), float(np.percentile(scores, 100 - tail))


def write_score(out: Path, episodes: list[EpisodeRecord]) -> dict[str, Any]:
    """score.json, score.md and score.png in ``out``; returns what score.json holds."""
    per = rates(episodes)
    result = {
        "episodes": len(episodes),
        "score": crafter_score(per),
        "interval95": list(score_interval(episodes)),
        "rates": per,
        "steps_mean": sum(e.steps for e in episodes) / max(1, len(episodes)),
        "outcomes": {
            o: sum(e.outcome == o for e in episodes) for o in {e.outcome for e in episodes}
        },
        "published": PUBLISHED,
    }
    atomic_write(out / "score.json", json.dumps(result, indent=2))
    atomic_write(out / "score.md", _markdown(result))
    atomic_write_bytes(out / "score.png", _plot(per, result["score"], len(episodes)))
    return result


def _markdown(result: dict[str, Any]) -> str:
    lo, hi = result["interval95"]
    lines = [
        f"# Crafter score: {result['score']:.1f}",
        "",
        f"95% bootstrap interval over the episodes: {lo:.1f}-{hi:.1f}.",
        "",
        f"{result['episodes']} full-game episodes (up to 10,000 steps), mean length"
        f" {result['steps_mean']:.0f} steps; outcomes: "
        + ", ".join(f"{k} {v}" for k, v in sorted(result["outcomes"].items())),
        "",
        "| achievement | success rate |",
        "| --- | --- |",
    ]
    lines += [f"| {a} | {100 * r:.1f}% |" for a, r in result["rates"].items()]
    lines += ["", "| agent | score |", "| --- | --- |", f"| this run | {result['score']:.1f} |"]
    lines += [f"| {name} (published) | {s} |" for name, s in PUBLISHED.items()]
    return "\n".join(lines) + "\n"


def _plot(per: dict[str, float], score: float, n: int) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4))
    names = list(per)
    ax.bar(range(len(names)), [100 * per[a] for a in names], color="#4c72b0")
    ax.set_xticks(range(len(names)), [a.replace("_", " ") for a in names], rotation=70, ha="right")
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"Crafter score {score:.1f} over {n} episodes")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
