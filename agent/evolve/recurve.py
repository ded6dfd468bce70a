"""`peam curve`: a finished loop's learning curve again, on other held-out seeds.

A loop evaluates every round on a few seeds (``eval_seeds``, 20 per task by default): too
few to see a change of a few games. Every round recorded which adapter versions it served,
and the loop folder (or the ``models/<name>`` copy of it) keeps them all, so each round can
be played again later on as many seeds as wanted: the fast tier alone (and with ``peam``,
PEAM) with exactly that round's versions pinned (a category it served none of stays with
the slow tier, pinned to none), and with ``score_seeds`` the whole game on those seeds,
fast tier alone, for each round's Crafter score. Rounds that served the same versions
share one run folder. The curve has the loop's own table and plot, the paired change
from the round before per category (McNemar), and with a ``reference`` run (the slow tier
alone on the same seeds) the paired comparison with it per round.

Layout of the output folder::

    source.json                 the loop folder, its served versions per round, the seeds
    fast-craft1-gather2-combat1/, peam-.../   one run folder per distinct served set
    score-craft1-gather2-combat1/             full games (score.json inside), with score_seeds
    learning_curve.json, learning_curve.md, learning_curve.png

Resumable: a rerun of the same command continues each run folder where it stopped, and
adds the rounds the loop has finished since (a curve may start while the loop runs).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from agent.compare.score import write_score
from agent.evolve.config import LoopConfig
from agent.evolve.game import round_score, score_run
from agent.evolve.loop import (
    SERVED,
    curve_row,
    evaluation_run,
    outcomes,
    paired,
    plot,
    suite_categories,
    table,
)
from agent.loop.config import RunConfig
from agent.loop.run_folder import execute, prepare
from envs.config import ConfigError, build
from memory.atomic import atomic_write
from memory.store import EpisodeRecord

Log = Callable[[str], None]
LOOP_CONFIGS = ("config.yaml", "loop_config.yaml")
"""A loop folder's saved settings; the models/<name> copy names it loop_config.yaml."""


AS_PLAYED = {
    ("run", "fast", "unstick_after"): 0,
    ("run", "fast", "unstick_blocked"): False,
    ("run", "fast", "furnace_by_table"): False,
    ("run", "controller", "pillbox"): False,
    ("run", "runner", "stalls_replan"): True,
    ("run", "controller", "past_creatures"): False,
    ("run", "runner", "alone_stall_steps"): 60,
    ("run", "fast", "route_acted"): False,
    ("run", "controller", "burrow_checks"): False,
    ("run", "controller", "edge_craft"): False,
}
"""Settings added after some loops were saved, with the value those loops played by (a
saved config without the key gets it, so their replays play as they did)."""


def loop_config(source: Path, as_played: bool = True) -> dict[str, Any]:
    """The settings a loop folder was run with, as saved; a setting added since takes the
    value the loop played by (:data:`AS_PLAYED`), or with ``as_played=False`` today's
    default."""
    for name in LOOP_CONFIGS:
        if (source / name).exists():
            saved = yaml.safe_load((source / name).read_text())
            for (*path, key), value in AS_PLAYED.items() if as_played else ():
                section = saved
                for part in path:
                    section = section.setdefault(part, {})
                section.setdefault(key, value)
            return saved
    raise ConfigError(
        f"{source} is not a loop folder: no {' or '.join(LOOP_CONFIGS)}; pass the --out of a"
        " `peam loop` or a models/<name> folder copied from one"
    )


def served_per_round(source: Path) -> list[dict[str, int | None]]:
    """Round k's served version per category: rounds/r<k>/served.json, else the copy in
    learning_curve.json (a models/<name> folder has only that)."""
    rounds = sorted(
        (int(p.parent.name[1:]), json.loads(p.read_text()))
        for p in source.glob(f"rounds/r*/{SERVED}")
    )
    if rounds:
        return [served for _, served in rounds]
    curve = source / "learning_curve.json"
    if curve.exists():
        return [row["served"] for row in json.loads(curve.read_text())["rounds"]]
    raise ConfigError(
        f"{source} records no served versions (no rounds/r*/{SERVED}, no learning_curve.json):"
        " let its `peam loop` finish a round first"
    )


def folder_name(mode: str, served: dict[str, int | None]) -> str:
    """``fast-craft1-gather2-combat1``: one folder per mode and served set."""
    return mode + "".join(f"-{c}{v}" for c, v in sorted(served.items()) if v is not None)


def replay(
    source: Path,
    out: Path,
    seeds: str,
    modes: tuple[str, ...] = ("fast",),
    reference: Path | None = None,
    workers: int | None = None,
    log: Log = print,
    score_seeds: str = "",
    today: bool = False,
) -> dict[str, Any]:
    """Play every round of ``source``'s loop again on ``seeds`` (and full games on
    ``score_seeds``); write and return the curve. ``today``: by today's rules (settings
    added since the loop was saved take today's defaults, not :data:`AS_PLAYED`)."""
    saved = loop_config(source, as_played=not today)
    cfg = build(LoopConfig, saved)
    rounds = served_per_round(source)
    where = str(source.resolve())
    record: dict[str, Any] = {
        "source": where,
        "seeds": seeds,
        "served": rounds,
        "modes": list(modes),
    }
    if score_seeds:  # absent otherwise: replays recorded before it still resume
        record["score_seeds"] = score_seeds
    if today:  # likewise
        record["rules"] = "today"
    record_path = out / "source.json"
    if record_path.exists() and not _continues(json.loads(record_path.read_text()), record):
        raise ConfigError(
            f"{out} holds a replay of something else ({record_path}); choose another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(record_path, json.dumps(record, indent=2))
    for k, served in enumerate(rounds):
        for mode in modes:
            folder = out / folder_name(mode, served)
            run = evaluation_run(cfg.run, source, seeds, handoff=mode == "peam")
            run.fast.pin = _pins(served)
            _play(run, folder, workers, f"round {k}: {folder.name}", log)
        if score_seeds:
            folder = out / folder_name("score", served)
            run = score_run(cfg, source, score_seeds)
            run.fast.pin = _pins(served)
            episodes = _play(run, folder, workers, f"round {k}: {folder.name}", log)
            write_score(folder, episodes)
    curve = _curve(out, rounds, modes, suite_categories(saved), reference)
    if score_seeds:
        for row in curve["rounds"]:
            score = round_score(out, folder_name("score", row["served"]))
            if score is not None:
                row["score"] = score
    curve["source"], curve["seeds"] = str(source), seeds
    atomic_write(out / "learning_curve.json", json.dumps(curve, indent=2))
    atomic_write(out / "learning_curve.md", table(curve) + _reference_table(curve))
    plot(curve, out / "learning_curve.png")
    return curve


def _continues(before: dict[str, Any], now: dict[str, Any]) -> bool:
    """``now`` replays what ``before`` did, perhaps with rounds the loop finished since
    (the same rounds first): a rerun adds them."""
    rounds, earlier = now["served"], before.get("served", [])
    same = {**before, "served": None} == {**now, "served": None}
    return same and rounds[: len(earlier)] == earlier


def _pins(served: dict[str, int | None]) -> str:
    """``fast.pin`` for a round's served versions: a category it served none of stays with
    the slow tier (pinned to none)."""
    return ",".join(f"{c}={v or 'none'}" for c, v in sorted(served.items()))


def _play(
    run: RunConfig, folder: Path, workers: int | None, name: str, log: Log
) -> list[EpisodeRecord]:
    """Play what ``folder`` still lacks of ``run``; its episodes."""
    if workers is not None:
        run.workers = workers
    plan = prepare(run, folder, resume=(folder / "config.yaml").exists())
    if plan.todo:
        log(f"{name} plays {len(plan.todo)} episodes (seeds {run.seeds})")
        execute(plan)
    episodes = plan.store.episodes(plan.run_id)
    plan.store.close()
    return episodes


def _curve(
    out: Path,
    rounds: list[dict[str, int | None]],
    modes: tuple[str, ...],
    categories: dict[str, str],
    reference: Path | None,
) -> dict[str, Any]:
    rows, theirs = [], outcomes(reference) if reference is not None else {}
    for k, served in enumerate(rounds):
        now = {m: out / folder_name(m, served) for m in modes}
        before = {m: out / folder_name(m, rounds[k - 1]) for m in modes} if k else {}
        row = curve_row(k, now, before, categories)
        row["served"] = served
        if reference is not None:
            for m in modes:
                if m in row:
                    row[f"{m}_vs_reference"] = paired(theirs, outcomes(now[m]), categories)
        rows.append(row)
    curve: dict[str, Any] = {"rounds": rows, "categories": categories}
    if reference is not None:
        summary = json.loads((reference / "summary.json").read_text())
        curve["reference"] = {"run": str(reference), "tasks": summary["tasks"]}
    return curve


def _reference_table(curve: dict[str, Any]) -> str:
    """Per round and category: successes of the agent and of the reference run, and the
    paired comparison (won only by the agent / only by the reference, McNemar p)."""
    if "reference" not in curve:
        return ""
    ref = curve["reference"]
    lines = [
        "",
        f"Against the reference run `{ref['run']}` (paired by task and seed):",
        "",
        "| round | mode | category | agent | reference | won only by the agent | only by the"
        " reference | McNemar p |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    of = curve["categories"]
    for row in curve["rounds"]:
        for mode in ("fast", "peam"):
            for category, d in row.get(f"{mode}_vs_reference", {}).items():
                mine = sum(v["successes"] for t, v in row[mode].items() if of[t] == category)
                theirs = sum(v["successes"] for t, v in ref["tasks"].items() if of[t] == category)
                lines.append(
                    f"| {row['round']} | {mode} | {category} | {mine} | {theirs} |"
                    f" {d['better']} | {d['worse']} | {d['p']:.3g} |"
                )
    return "\n".join(lines) + "\n"
