"""`peam loop --rounds N`: play -> label -> consolidate (trigger, PW, train) -> gate -> publish,
N times, with held-out evaluation after each round.

Layout of the loop folder::

    config.yaml                the loop's settings
    environment.json           where it trains: package versions, CPU (``environment``)
    store.sqlite               every training episode of every round (the experience)
    trunk/, adapters/          the fast tier the rounds build (``agent.fast.registry``)
    consolidation/             the daemon's decisions and jobs
    gate/<category>-v<N>/      the gate's episodes (candidate and served)
    rounds/r<k>/               play.json, served.json, game/ (full-game training episodes, with
                               game_seeds), eval-fast/, eval-peam/, eval-score/ (held-out
                               full games, with score_seeds), <phase>.done markers
    learning_curve.json, learning_curve.png

Every phase is resumable: a finished phase leaves a marker, a run folder resumes its
episodes, an interrupted consolidation job resumes from its checkpoint. Rerunning the
same command after ``kill -9`` continues where it stopped.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from agent.compare.stats import mcnemar, wilson
from agent.evolve import environment
from agent.evolve.config import LoopConfig
from agent.evolve.game import SCORE, evaluate_score, game_run, game_seeds, round_score
from agent.evolve.gate import Gate
from agent.evolve.tier_use import tier_use, use_cells
from agent.fast import registry
from agent.loop.config import RunConfig
from agent.loop.run_folder import RunPlan, execute, prepare
from consolidation.daemon import Consolidator
from envs.config import ConfigError, to_dict
from envs.tasks import CATEGORIES, load_tasks, select
from memory.atomic import atomic_write
from memory.store import ExperienceStore

Log = Callable[[str], None]
SERVED = "served.json"
"""A round's served version per category after its consolidation."""


def run_loop(cfg: LoopConfig, out: Path, rounds: int, log: Log = print) -> dict[str, Any]:
    """Play rounds 0 .. ``rounds - 1`` in ``out``, continuing whatever is done there."""
    saved, text = out / "config.yaml", yaml.safe_dump(to_dict(cfg), sort_keys=False)
    if saved.exists() and yaml.safe_load(saved.read_text()) != yaml.safe_load(text):
        raise ConfigError(
            f"{out} was started with other settings ({saved}); rerun with the same config"
            " and --set keys (more --rounds is fine), or choose another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(saved, text)
    environment.record(out, log)
    for r in range(rounds):
        folder = out / "rounds" / f"r{r}"
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "play.done").exists():
            _play(cfg, out, r, folder, log)
            (folder / "play.done").touch()
        if cfg.game_seeds > 0 and not (folder / "game.done").exists():
            _play(cfg, out, r, folder / "game", log, game=True)
            (folder / "game.done").touch()
        if not (folder / "consolidate.done").exists():
            gate = Gate(cfg.run, out, cfg.gate, log)
            Consolidator(out, cfg.consolidate, log=log, tensorboard=False, gate=gate).run_once()
            served = {c: registry.latest(out, c) for c in CATEGORIES}
            atomic_write(folder / SERVED, json.dumps(served))
            (folder / "consolidate.done").touch()
        for mode in ("fast", "peam"):
            if not (folder / f"eval-{mode}.done").exists():
                _evaluate(cfg, out, folder / f"eval-{mode}", handoff=mode == "peam", log=log)
                (folder / f"eval-{mode}.done").touch()
        if cfg.score_seeds and not (folder / f"{SCORE}.done").exists():
            if any(registry.latest(out, c) is not None for c in CATEGORIES):
                evaluate_score(cfg, out, folder / SCORE, log)
            (folder / f"{SCORE}.done").touch()
    curve = learning_curve(out, rounds)
    atomic_write(out / "learning_curve.json", json.dumps(curve, indent=2))
    atomic_write(out / "learning_curve.md", table(curve))
    plot(curve, out / "learning_curve.png")
    return curve


def table(curve: dict[str, Any]) -> str:
    """The curve as Markdown: successes per task, fast tier alone / PEAM, one column per
    round, and how much PEAM needed its slow tier (``tier_use``); then the paired changes
    per category."""
    rows = [r for r in curve["rounds"] if "fast" in r]
    if not rows:
        return "no evaluated round yet\n"
    tasks = list(rows[0]["fast"])
    modes = [m for m in ("fast", "peam") if any(m in r for r in rows)]
    names = " / ".join({"fast": "fast", "peam": "PEAM"}[m] for m in modes)
    head = "| task | " + " | ".join(f"round {r['round']}: {names}" for r in rows) + " |"
    lines = [head, "| --- |" + " --- |" * len(rows)]
    for task in [*tasks, "total"]:
        cells = []
        for r in rows:
            pair = []
            for mode in modes:
                part = r.get(mode, {})
                won = sum(v["successes"] for v in part.values()) if task == "total" else (
                    part.get(task, {}).get("successes", 0))  # fmt: skip
                n = sum(v["episodes"] for v in part.values()) if task == "total" else (
                    part.get(task, {}).get("episodes", 0))  # fmt: skip
                pair.append(f"{won}/{n}" if part else "-")
            cells.append(" / ".join(pair))
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    if any("score" in r for r in rows):
        cells = [_score_cell(r["score"]) if "score" in r else "-" for r in rows]
        lines.append("| Crafter score, fast tier alone | " + " | ".join(cells) + " |")
    if any("peam" in r.get("use", {}) for r in rows):
        cells = [use_cells(r["use"]["peam"]) if "peam" in r.get("use", {}) else ("-", "-")
                 for r in rows]  # fmt: skip
        lines.append("| PEAM: slow-tier attempts per game (hand-offs + routed) | "
                     + " | ".join(c[0] for c in cells) + " |")  # fmt: skip
        lines.append("| PEAM: actions by the slow tier / the guard | "
                     + " | ".join(c[1] for c in cells) + " |")  # fmt: skip
    lines += ["", "| round | mode | category | won only now | lost only now | McNemar p |",
              "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in rows:
        for mode in ("fast", "peam"):
            for category, d in r.get(f"{mode}_vs_previous", {}).items():
                lines.append(f"| {r['round']} | {mode} | {category} | {d['better']} |"
                             f" {d['worse']} | {d['p']:.3g} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _play(cfg: LoopConfig, out: Path, r: int, folder: Path, log: Log, game: bool = False) -> None:
    """Round r's training episodes into the loop's store (the slow tier alone in round 0);
    ``game``: its full-game episodes instead of the task suite's."""
    folder.mkdir(parents=True, exist_ok=True)
    run = game_run(cfg) if game else copy.deepcopy(cfg.run)
    if game:
        lo, hi = game_seeds(cfg, r)
    else:
        lo = cfg.train_base + r * cfg.train_seeds
        hi = lo + cfg.train_seeds - 1
    run.seeds = f"{lo}-{hi}"
    has_fast = any(registry.latest(out, c) is not None for c in CATEGORIES)
    run.fast.dir = str(out) if r > 0 and has_fast else ""
    run.runner.handoff, run.runner.label = True, True
    run.fast.min_skill_success = 0.0  # DAgger: the fast tier tries every skill it has
    tasks = select(load_tasks(run.tasks_file), run.tasks)
    store = ExperienceStore(out / "store.sqlite")
    marker = folder / "play.json"
    if marker.exists():
        run_id = int(json.loads(marker.read_text())["run_id"])
        store.discard_incomplete(run_id)
    else:
        run_id = store.start_run(f"round{r}{'-game' if game else ''}", to_dict(run))
        atomic_write(marker, json.dumps({"run_id": run_id, "seeds": run.seeds}))
    done = {(e.task_id, e.seed) for e in store.episodes(run_id)}
    seeds = list(range(lo, hi + 1))
    todo = [(t, s) for t in tasks for s in seeds if (t.id, s) not in done]
    who = "fast tier + hand-off" if run.fast.dir else "slow tier"
    what = "full-game training episodes" if game else "training episodes"
    log(f"round {r}: {who} plays {len(todo)} {what} (seeds {run.seeds})")
    execute(RunPlan(folder, run, tasks, seeds, store, run_id, todo))
    store.close()


def evaluation_run(base: RunConfig, root: Path, seeds: str, handoff: bool) -> RunConfig:
    """``base`` set to evaluate the fast tier in ``root`` on held-out ``seeds``: alone
    (every subgoal it covers) or with hand-off (PEAM); nothing labelled."""
    run = copy.deepcopy(base)
    run.seeds, run.runner.handoff, run.runner.label = seeds, handoff, False
    if not handoff:
        run.fast.min_skill_success = 0.0  # the fast tier alone: every subgoal it covers
    run.fast.dir = str(root)
    return run


def _evaluate(cfg: LoopConfig, out: Path, folder: Path, handoff: bool, log: Log) -> None:
    if not any(registry.latest(out, c) is not None for c in CATEGORIES):
        log(f"{folder.name}: no adapter published yet; skipped")
        return
    run = evaluation_run(cfg.run, out, cfg.eval_seeds, handoff)
    log(f"{folder.name}: held-out seeds {run.seeds}")
    execute(prepare(run, folder, resume=(folder / "config.yaml").exists()))


def outcomes(folder: Path) -> dict[tuple[str, int], bool]:
    path = folder / "episodes.jsonl"
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(r["task"], int(r["seed"])): bool(r["success"]) for r in rows}


def paired(
    before: dict[tuple[str, int], bool], after: dict[tuple[str, int], bool], tasks: dict[str, str]
) -> dict[str, dict[str, float]]:
    """Per category: episodes won only after / only before (same task and seed), and the
    exact McNemar p-value of the difference."""
    out = {}
    for category in sorted(set(tasks.values())):
        keys = [k for k in after if k in before and tasks.get(k[0]) == category]
        better = sum(after[k] and not before[k] for k in keys)
        worse = sum(before[k] and not after[k] for k in keys)
        out[category] = {"better": better, "worse": worse, "p": mcnemar(better, worse)}
    return out


def _score_cell(score: dict[str, Any]) -> str:
    """A round's Crafter score, with its 95% bootstrap interval when recorded."""
    if "interval95" not in score:
        return f"{score['score']:.1f}"
    lo, hi = score["interval95"]
    return f"{score['score']:.1f} ({lo:.1f}-{hi:.1f})"


def learning_curve(out: Path, rounds: int) -> dict[str, Any]:
    """Held-out successes per task per round, fast tier alone and PEAM, with Wilson 95%,
    per category the paired change from the round before (McNemar), and each run's use of
    the tiers (``tier_use``)."""
    categories = suite_categories(yaml.safe_load((out / "config.yaml").read_text()))
    rows = []
    for r in range(rounds):
        folder = out / "rounds" / f"r{r}"
        now = {mode: folder / f"eval-{mode}" for mode in ("fast", "peam")}
        before = {mode: out / "rounds" / f"r{r - 1}" / f"eval-{mode}" for mode in now}
        row = curve_row(r, now, before if r > 0 else {}, categories)
        score = round_score(folder)
        if score is not None:
            row["score"] = score
        path = folder / SERVED  # what the round's evaluation played (older loops: what is now)
        served = json.loads(path.read_text()) if path.exists() else None
        row["served"] = served or {c: registry.latest(out, c) for c in CATEGORIES}
        rows.append(row)
    return {"rounds": rows}


def suite_categories(loop_config: dict[str, Any]) -> dict[str, str]:
    """Task id -> category of the suite a loop config (as saved) plays."""
    run = loop_config["run"]
    return {t.id: t.category for t in select(load_tasks(run["tasks_file"]), run.get("tasks") or [])}


def curve_row(
    r: int, now: dict[str, Path], before: dict[str, Path], categories: dict[str, str]
) -> dict[str, Any]:
    """Round r of a curve from its evaluation run folders per mode (fast, peam): successes
    per task with Wilson 95%, per category the paired change from ``before``'s, and under
    "use" how much each mode's run needed the slow tier (``tier_use``)."""
    row: dict[str, Any] = {"round": r}
    for mode, folder in now.items():
        summary = folder / "summary.json"
        if not summary.exists():
            continue
        if mode in before:
            row[f"{mode}_vs_previous"] = paired(
                outcomes(before[mode]), outcomes(folder), categories
            )
        tasks = json.loads(summary.read_text())["tasks"]
        row[mode] = {
            t: {
                "successes": v["successes"],
                "episodes": v["episodes"],
                "wilson95": list(wilson(v["successes"], v["episodes"])),
            }
            for t, v in tasks.items()
        }
        use = tier_use(folder)
        if use is not None:
            row.setdefault("use", {})[mode] = use
    return row


def plot(curve: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in curve["rounds"] if "fast" in r]
    if not rows:
        return
    tasks = sorted(rows[0]["fast"])
    scored = [r for r in rows if "score" in r]
    modes = [m for m in ("fast", "peam") if any(m in r for r in rows)]
    used = [r for r in rows if "peam" in r.get("use", {})]
    panels = len(modes) + bool(scored) + bool(used)
    fig, axes = plt.subplots(1, panels, figsize=(5.7 * panels, 4), squeeze=False)
    axes = axes[0]
    colours = plt.get_cmap("tab20")
    for ax, mode in zip(axes, modes, strict=False):
        for k, task in enumerate(tasks):
            xs = [r["round"] for r in rows if mode in r]
            ys = [r[mode][task]["successes"] / max(1, r[mode][task]["episodes"]) for r in rows
                  if mode in r]  # fmt: skip
            lo = [r[mode][task]["wilson95"][0] for r in rows if mode in r]
            hi = [r[mode][task]["wilson95"][1] for r in rows if mode in r]
            ax.plot(xs, ys, marker="o", label=task, color=colours(k))
            ax.fill_between(xs, lo, hi, alpha=0.08, color=colours(k))
            ax.set_xticks(xs)
        ax.set_title("fast tier alone" if mode == "fast" else "PEAM (fast + hand-off)")
        ax.set_xlabel("round")
        ax.set_ylim(0, 1.05)
    axes[0].set_ylabel("held-out success")
    axes[len(modes) - 1].legend(fontsize=6, loc="lower right")
    if used:
        _plot_use(axes[-1 - bool(scored)], used)
    if scored:
        ax, xs = axes[-1], [r["round"] for r in scored]
        ax.plot(xs, [r["score"]["score"] for r in scored], marker="o", color="black")
        spans = [(x, r["score"]["interval95"]) for x, r in zip(xs, scored, strict=True)
                 if "interval95" in r["score"]]  # fmt: skip
        if spans:
            ax.fill_between([x for x, _ in spans], [s[0] for _, s in spans],
                            [s[1] for _, s in spans], alpha=0.15, color="black")  # fmt: skip
        ax.set_xticks(xs)
        ax.set_title("the whole game, fast tier alone")
        ax.set_xlabel("round")
        ax.set_ylabel("Crafter score")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_use(ax: Any, rows: list[dict[str, Any]]) -> None:
    """PEAM's need of its slow tier per round: its share of the subgoal attempts and of the
    actions, and the guard's share of the actions."""
    xs = [r["round"] for r in rows]
    for key, label in (("slow_attempt_share", "slow tier: subgoal attempts"),
                       ("slow_action_share", "slow tier: actions"),
                       ("guard_action_share", "guard: actions")):  # fmt: skip
        ax.plot(xs, [r["use"]["peam"][key] for r in rows], marker="o", label=label)
    ax.set_xticks(xs)
    ax.set_ylim(0, 1)
    ax.set_title("what PEAM leaves to the slow tier")
    ax.set_xlabel("round")
    ax.set_ylabel("share")
    ax.legend(fontsize=7)
