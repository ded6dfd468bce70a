"""The comparison report: report.json, report.md and PNG plots, read back from the stores.

Every number comes from the agents' try stores (outcomes, steps, seconds,
tokens) and their build.json (forgetting matrix, memory growth); nothing is
carried over from the run in memory, so a report can be rebuilt at any time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.compare.stats import mcnemar, wilson
from consolidation.continual import ORDER
from envs.config import parse_seeds
from envs.tasks import load_tasks, select
from memory.atomic import atomic_write, atomic_write_bytes
from memory.store import ExperienceStore

PLOTS = ("success.png", "categories.png", "memory.png", "forgetting.png", "cost.png")


def _rate(wins: int, n: int) -> dict[str, Any]:
    lo, hi = wilson(wins, n)
    return {"trials": n, "successes": wins, "rate": wins / n if n else 0.0, "ci95": [lo, hi]}


def agent_results(folder: Path, tasks: list, seeds: list[int]) -> dict[str, Any]:
    """Trial outcomes and costs of one agent, from its try stores."""
    won: dict[tuple[str, int], bool] = {(t.id, s): False for t in tasks for s in seeds}
    first: dict[tuple[str, int], bool] = dict(won)
    steps = seconds = prompt = completion = episodes = fast = fast_ok = calls = 0
    for store_path in sorted(folder.glob("try*/store.sqlite")):
        with ExperienceStore(store_path) as store:
            tokens, times, tiers = (
                store.tokens_by_episode(),
                store.durations(),
                store.attempts_by_tier(),
            )
            calls += len(store.planner_calls())
            for e in store.episodes():
                if (e.task_id, e.seed) in won:
                    won[(e.task_id, e.seed)] |= bool(e.success)
                    if store_path.parent.name == "try1":
                        first[(e.task_id, e.seed)] = bool(e.success)
                episodes += 1
                steps += e.steps
                seconds += times.get(e.id, 0.0)
                p, c = tokens.get(e.id, (0, 0))
                prompt, completion = prompt + p, completion + c
                n, ok = tiers.get(e.id, {}).get("fast", (0, 0))
                fast, fast_ok = fast + n, fast_ok + ok
    per_task = {t.id: _rate(sum(won[(t.id, s)] for s in seeds), len(seeds)) for t in tasks}
    for t in tasks:
        per_task[t.id]["category"] = t.category
    cats = {}
    for c in ORDER:
        ids = [t.id for t in tasks if t.category == c]
        if ids:
            cats[c] = _rate(sum(per_task[i]["successes"] for i in ids), len(ids) * len(seeds))
    return {
        "tasks": per_task,
        "categories": cats,
        "overall": _rate(sum(won.values()), len(won)),
        "first_attempt": _rate(sum(first.values()), len(first)),
        "trials": {f"{t}/{s}": w for (t, s), w in won.items()},
        "first_trials": {f"{t}/{s}": w for (t, s), w in first.items()},
        "episodes": episodes,
        "steps": steps,
        "seconds": seconds,
        "decisions_per_s": steps / seconds if seconds else 0.0,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "tokens_per_episode": (prompt + completion) / episodes if episodes else 0.0,
        "planner_calls_per_episode": calls / episodes if episodes else 0.0,
        "planner_calls_per_trial": calls / len(won) if won else 0.0,
        "fast_attempts": fast,
        "fast_verified": fast_ok,
    }


def _forgetting(matrix: list[dict[str, float | None]]) -> dict[str, float | None]:
    """Points lost per category between right after its own stage and the end."""
    out: dict[str, float | None] = {}
    for i, c in enumerate(ORDER[:-1]):
        own, end = matrix[i].get(c), matrix[-1].get(c)
        out[c] = None if own is None or end is None else 100 * (own - end)
    return out


def build_report(out: Path, specs: dict[str, Any], cfg: Any) -> dict[str, Any]:
    tasks = select(load_tasks(cfg.tasks_file), cfg.tasks)
    seeds = parse_seeds(cfg.seeds)
    agents: dict[str, Any] = {}
    for name, spec in specs.items():
        folder = out / "agents" / name
        row = {"kind": spec.kind, "variant": spec.variant if spec.kind == "peam" else None}
        row.update(agent_results(folder, tasks, seeds))
        build_path = folder / "build.json"
        if build_path.exists():
            build = json.loads(build_path.read_text())
            row["forgetting_matrix"] = build["matrix"]
            row["forgetting_points"] = _forgetting(build["matrix"])
            row["memory_growth"] = build["growth"]
            row["build_seconds"] = build["seconds"]
        agents[name] = row
    ref = (
        "peam"
        if "peam" in agents
        else next((n for n, a in agents.items() if a["kind"] == "peam"), None)
    )
    if ref is not None:
        for name, row in agents.items():
            if name == ref:
                continue
            for key, suffix in (("trials", ""), ("first_trials", "_first_attempt")):
                base, other = agents[ref][key], row[key]
                only_ref = sum(base[k] and not other[k] for k in base)
                only_it = sum(other[k] and not base[k] for k in base)
                row[f"mcnemar_vs_{ref}{suffix}"] = {
                    f"{ref}_only": only_ref,
                    f"{name}_only": only_it,
                    "p": mcnemar(only_ref, only_it),
                }
    return {
        "reference": ref,
        "seeds": cfg.seeds,
        "attempts": cfg.attempts,
        "experience": cfg.experience,
        "agents": agents,
    }


def write_report(out: Path, specs: dict[str, Any], cfg: Any) -> Path:
    report = build_report(out, specs, cfg)
    atomic_write(out / "report.json", json.dumps(report, indent=2))
    _plots(out, report)
    atomic_write(out / "report.md", render_markdown(report))
    return out / "report.md"


def _pct(r: dict[str, Any]) -> str:
    lo, hi = r["ci95"]
    return f"{r['successes']}/{r['trials']} ({r['rate']:.0%}, {lo:.0%}-{hi:.0%})"


def _kb(n: float) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def render_markdown(report: dict[str, Any]) -> str:
    agents, ref = report["agents"], report["reference"]
    names = list(agents)
    lines = [
        "# Comparison report",
        "",
        f"Experience: `{report['experience']}`. Held-out seeds {report['seeds']}; up to"
        f" {report['attempts']} attempts per trial for sampling agents (deterministic agents"
        ' get one: a retry replays the same episode); "first attempt" is every agent on one'
        " episode per trial. Success with 95% Wilson intervals; exact McNemar tests on paired"
        " trials (discordant trials: reference won / this agent won).",
        "",
        "| agent | kind | first attempt | overall | "
        + " | ".join(ORDER)
        + f" | McNemar vs {ref} (first attempt) | McNemar vs {ref} (overall) |",
        "| --- | --- | --- | --- | " + " | ".join("---" for _ in ORDER) + " | --- | --- |",
    ]
    for n in names:
        a = agents[n]
        kind = a["kind"] + (f" / {a['variant']}" if a["variant"] else "")
        cats = " | ".join(_pct(a["categories"][c]) if c in a["categories"] else "-" for c in ORDER)
        tests = []
        for suffix in ("_first_attempt", ""):
            m = a.get(f"mcnemar_vs_{ref}{suffix}")
            tests.append(
                "-" if m is None else f"{m[f'{ref}_only']} vs {m[f'{n}_only']}, p={m['p']:.3g}"
            )
        rates = f"{_pct(a['first_attempt'])} | {_pct(a['overall'])}"
        lines.append(f"| {n} | {kind} | {rates} | {cats} | {' | '.join(tests)} |")
    lines += ["", "![success per category](categories.png)", "", "## Per task", ""]
    tasks = list(agents[names[0]]["tasks"])
    lines.append("| task | " + " | ".join(names) + " |")
    lines.append("| --- | " + " | ".join("---" for _ in names) + " |")
    for t in tasks:
        row = [
            f"{agents[n]['tasks'][t]['successes']}/{agents[n]['tasks'][t]['trials']}" for n in names
        ]
        lines.append(f"| {t} | " + " | ".join(row) + " |")
    lines += ["", "![success per task](success.png)", "", "## Cost", ""]
    lines.append(
        "| agent | decisions/s (env included) | LLM tokens / episode | planner calls / episode"
        " | planner calls / trial | episodes played | memory at the end | build s |"
    )
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in names:
        a = agents[n]
        mem = _kb(a["memory_growth"][-1]["bytes"]) if a.get("memory_growth") else "-"
        build = f"{a['build_seconds']:.0f}" if "build_seconds" in a else "-"
        lines.append(
            f"| {n} | {a['decisions_per_s']:.0f} | {a['tokens_per_episode']:.0f} |"
            f" {a['planner_calls_per_episode']:.2f} | {a['planner_calls_per_trial']:.2f} |"
            f" {a['episodes']} | {mem} | {build} |"
        )
    lines += ["", "![cost](cost.png) ![memory](memory.png)", "", "## Forgetting", ""]
    lines.append(
        "Held-out action accuracy per category after each stage ("
        + " -> ".join(ORDER)
        + "); forgetting = accuracy right after a category's own stage minus at the end."
    )
    lines += [
        "",
        "| agent | " + " | ".join(f"after {c}" for c in ORDER) + " | forgetting (points) |",
        "| --- | " + " | ".join("---" for _ in ORDER) + " | --- |",
    ]
    for n in names:
        a = agents[n]
        if "forgetting_matrix" not in a:
            continue
        cells = [
            "/".join("-" if r[c] is None else f"{r[c]:.3f}" for c in ORDER)
            for r in a["forgetting_matrix"]
        ]
        pts = ", ".join(f"{c} {v:+.2f}" for c, v in a["forgetting_points"].items() if v is not None)
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {pts or '-'} |")
    lines += ["", "![forgetting](forgetting.png)", "", "## Episodes", ""]
    lines += [f"- {n}: ![{n}](agents/{n}/episode.gif)" for n in names]
    return "\n".join(lines) + "\n"


def _plots(out: Path, report: dict[str, Any]) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    agents = report["agents"]
    names = list(agents)

    def save(fig: Any, name: str) -> None:
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
        atomic_write_bytes(out / name, buf.getvalue())

    def bars(ax: Any, groups: list[str], get: Any) -> None:
        width = 0.8 / len(names)
        x = np.arange(len(groups))
        for i, n in enumerate(names):
            rows = [get(agents[n], g) for g in groups]
            rate = np.array([r["rate"] if r else 0.0 for r in rows])
            lo = np.array([r["ci95"][0] if r else 0.0 for r in rows])
            hi = np.array([r["ci95"][1] if r else 0.0 for r in rows])
            ax.bar(
                x + i * width,
                rate,
                width,
                label=n,
                yerr=[np.maximum(rate - lo, 0), np.maximum(hi - rate, 0)],
                capsize=2,
            )
        ax.set_xticks(x + 0.4 - width / 2, groups, rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("success (95% Wilson)")
        ax.legend(fontsize=7, ncol=3)

    tasks = list(agents[names[0]]["tasks"])
    fig, ax = plt.subplots(figsize=(max(8, len(tasks) * 1.1), 4))
    bars(ax, tasks, lambda a, t: a["tasks"][t])
    save(fig, "success.png")
    fig, ax = plt.subplots(figsize=(7, 4))
    bars(
        ax,
        [*ORDER, "overall"],
        lambda a, c: a["overall"] if c == "overall" else a["categories"].get(c),
    )
    save(fig, "categories.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    for n in names:
        growth = agents[n].get("memory_growth")
        if growth:
            ax.plot(
                [g["steps"] for g in growth], [max(g["bytes"], 1) for g in growth], "o-", label=n
            )
    ax.set_xlabel("labelled steps of experience")
    ax.set_ylabel("memory bytes")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    save(fig, "memory.png")
    with_matrix = [n for n in names if "forgetting_matrix" in agents[n]]
    fig, axes = plt.subplots(
        1, max(1, len(with_matrix)), figsize=(2.4 * max(1, len(with_matrix)), 2.8)
    )
    for ax, n in zip(np.atleast_1d(axes), with_matrix, strict=False):
        m = np.array(
            [
                [np.nan if r[c] is None else r[c] for c in ORDER]
                for r in agents[n]["forgetting_matrix"]
            ]
        )
        ax.imshow(m, vmin=0, vmax=1, cmap="viridis")
        ax.set_title(n, fontsize=8)
        ax.set_xticks(range(len(ORDER)), ORDER, fontsize=6)
        ax.set_yticks(range(len(ORDER)), [f"after {c}" for c in ORDER], fontsize=6)
        for (i, j), v in np.ndenumerate(m):
            if not np.isnan(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6, color="w")
    save(fig, "forgetting.png")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
    a1.bar(names, [agents[n]["decisions_per_s"] for n in names])
    a1.set_ylabel("decisions/s (env included)")
    a2.bar(names, [agents[n]["tokens_per_episode"] for n in names])
    a2.set_ylabel("LLM tokens / episode")
    for ax in (a1, a2):
        ax.tick_params(axis="x", rotation=45, labelsize=7)
    save(fig, "cost.png")
