"""The `peam` command line: run, score, train-fast, consolidate, adapters, compare, memory, tasks.

Every command that has settings reads them the same way: a YAML file (``--config``, a
preset under configs/ by default) into a dataclass, then ``--set key=value`` overrides;
its flags are shorthands for keys (``--epochs`` = the adapter's BC epochs everywhere).
``peam <command> --help`` lists every key with its default and meaning. Nothing heavy
(torch, peft, faiss, openai) is imported before a command needs it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envs import UnknownBackendError
from envs.config import ConfigError, help_text, keys, load_dataclass
from envs.tasks import CATEGORIES, DEFAULT_TASKS_FILE, UnknownTaskError, load_tasks

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """A parser whose help ends with the config keys of its command (read when asked)."""

    config_class: Callable[[], type] | None = None

    def format_help(self) -> str:
        text = super().format_help()
        if self.config_class is not None:
            text += "\n" + help_text(self.config_class()) + "\n"
        return text


Shorthand = tuple[str, str, str, dict[str, Any]]
"""(flag, config key, help, argparse options): ``--flag X`` means ``--set key=X``."""

SHORTHANDS: dict[str, list[Shorthand]] = {
    "run": [
        ("--task", "tasks", "task id (repeatable); default: the config's tasks",
         {"action": "append", "metavar": "ID"}),
        ("--seeds", "seeds", "seeds, e.g. 0-19 or 0,3,5-7", {}),
        ("--video", "video", "write a GIF per episode", {"action": "store_true"}),
        ("--no-cache", "llm.cache", "bypass the LLM response cache", {"action": "store_false"}),
        ("--workers", "workers", "episodes played at once by a worker pool", {"type": int}),
        ("--ray-address", "ray_address",
         "run the workers on Ray: 'local' (start one here), 'auto' or HOST:PORT", {}),
    ],
    "score": [
        ("--seeds", "seeds", "full-game episodes, e.g. 0-19", {}),
        ("--workers", "workers", "episodes played at once by a worker pool", {"type": int}),
    ],
    "train-fast": [
        ("--trunk-epochs", "trunk.epochs", "trunk BC epochs", {"type": float}),
        ("--epochs", "adapter.epochs", "adapter BC epochs", {"type": float}),
        ("--max-transitions", "max_transitions", "subsample to this many steps", {"type": int}),
        ("--device", "device", "auto (CUDA when present), cpu or cuda", {}),
    ],
    "consolidate": [
        ("--trunk-epochs", "trunk.epochs", "trunk BC epochs (when the run has no trunk)",
         {"type": float}),
        ("--updates", "trainer.updates", "updates per consolidation round", {"type": int}),
        ("--alpha", "trigger.alpha", "significance level of the trigger", {"type": float}),
        ("--bc-only", "trainer.bc_only", "behaviour cloning alone", {"action": "store_true"}),
        ("--no-pw", "select_by_pw", "train on every verified step", {"action": "store_false"}),
        ("--tiers", "tiers", "whose verified attempts BC learns from: slow, fast or slow,fast",
         {}),
        ("--max-transitions", "max_transitions", "subsample to this many steps", {"type": int}),
        ("--device", "device", "auto (CUDA when present), cpu or cuda", {}),
    ],
    "compare": [
        ("--seeds", "seeds", "held-out seeds, e.g. 1000-1019", {}),
        ("--workers", "workers", "agents evaluated at once", {"type": int}),
    ],
    "loop": [
        ("--eval-seeds", "eval_seeds", "held-out seeds evaluated after every round", {}),
        ("--train-seeds", "train_seeds", "fresh training seeds per task per round",
         {"type": int}),
        ("--task", "run.tasks", "task id (repeatable); default: the config's tasks",
         {"action": "append", "metavar": "ID"}),
    ],
    "memory": [
        ("--index", "retrieval.kind", "flat (exact), hnsw or ivf (a new memory)", {}),
        ("--k", "retrieval.k", "neighbours that vote (a new memory)", {"type": int}),
        ("--tasks-file", "tasks_file", "task suite YAML", {}),
    ],
}  # fmt: skip


def _config_args(parser: argparse.ArgumentParser, command: str) -> None:
    """``--config``, ``--set`` and the command's shorthand flags."""
    assert isinstance(parser, _Parser)
    preset, parser.config_class = CONFIGS[command]
    parser.add_argument("--config", default=preset, help=f"config YAML (default {preset})")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (repeatable); the keys are listed below",
    )
    for flag, key, text, options in SHORTHANDS.get(command, []):
        action = options.get("action")
        value = {"store_true": "true", "store_false": "false"}.get(action or "", "...")
        extra = {} if action else {"metavar": options.get("metavar", flag.lstrip("-").upper())}
        parser.add_argument(
            flag,
            dest=_dest(flag),
            default=None,
            help=f"{text} (= --set {key}={value})",
            **{**options, **extra},
        )


def _run_folder_args(parser: argparse.ArgumentParser, default: str) -> None:
    """--out, --resume, --overwrite and --quiet of a command that plays into a run folder."""
    parser.add_argument("--out", default=None, help=f"run folder (default {default})")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run")
    parser.add_argument("--overwrite", action="store_true", help="delete an existing --out first")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _dest(flag: str) -> str:
    return "short_" + flag.lstrip("-").replace("-", "_")


def _overrides(args: argparse.Namespace, command: str) -> list[str]:
    """``--set`` items, then the shorthand flags given (they win)."""
    out = list(args.set)
    for flag, key, _, options in SHORTHANDS.get(command, []):
        value = getattr(args, _dest(flag))
        if value is None:
            continue
        if options.get("action") in ("store_true", "store_false"):
            out.append(f"{key}={str(value).lower()}")
        elif isinstance(value, list):
            out.append(f"{key}={','.join(map(str, value))}")
        else:
            out.append(f"{key}={value}")
    return out


def _run_config() -> type:
    from agent.loop.config import RunConfig

    return RunConfig


def _fast_config() -> type:
    from consolidation.config import FastTrainConfig

    return FastTrainConfig


def _consolidate_config() -> type:
    from consolidation.config import ConsolidateConfig

    return ConsolidateConfig


def _compare_config() -> type:
    from agent.compare.config import CompareConfig

    return CompareConfig


def _loop_config() -> type:
    from agent.evolve.config import LoopConfig

    return LoopConfig


def _memory_config() -> type:
    from memory.config import MemoryConfig

    return MemoryConfig


CONFIGS: dict[str, tuple[str, Callable[[], type]]] = {
    "run": ("configs/run/default.yaml", _run_config),
    "score": ("configs/run/score.yaml", _run_config),
    "train-fast": ("configs/train_fast/default.yaml", _fast_config),
    "consolidate": ("configs/consolidate/default.yaml", _consolidate_config),
    "compare": ("configs/compare/default.yaml", _compare_config),
    "loop": ("configs/loop/default.yaml", _loop_config),
    "memory": ("configs/memory/default.yaml", _memory_config),
}
"""Each configurable command: its default preset and its config dataclass."""


def config_reference() -> str:
    """docs/configuration.md: every command's keys, defaults and meanings (from docstrings)."""
    lines = [
        "# Configuration",
        "",
        "Generated from the config dataclasses' docstrings by `python scripts/config_docs.py`",
        "(a test fails when this file is out of date). Every command reads a YAML file",
        "(`--config`, default below) and then `--set KEY=VALUE` overrides; flags are shorthands",
        "for keys. `peam <command> --help` prints the same list.",
    ]
    for command, (preset, config_class) in CONFIGS.items():
        lines += ["", f"## `peam {command}`", "", f"Default config: `{preset}`.", ""]
        short = [f"`{flag}` = `{key}`" for flag, key, _, _ in SHORTHANDS.get(command, [])]
        if short:
            lines += ["Shorthands: " + ", ".join(short) + ".", ""]
        lines += ["| key | default | meaning |", "| --- | --- | --- |"]
        for key, default, doc in keys(config_class()):
            lines.append(f"| `{key}` | `{default}` | {doc.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="peam", description="PEAM runtime: parametric-memory Minecraft agents")
    sub = parser.add_subparsers(dest="command", required=True)
    fmt = {"formatter_class": argparse.RawDescriptionHelpFormatter}

    run = sub.add_parser("run", help="play episodes of the task suite and record them", **fmt)
    _config_args(run, "run")
    _run_folder_args(run, "runs/<config name>")
    score = sub.add_parser(
        "score",
        help="the Crafter score: full-game episodes, each achievement's rate, S and a plot",
        **fmt,
    )
    _config_args(score, "score")
    _run_folder_args(score, "runs/score")

    fast = sub.add_parser(
        "train-fast",
        help="train the fast tier (trunk, one LoRA adapter per category, gate) from recorded runs",
        **fmt,
    )
    _config_args(fast, "train-fast")
    fast.add_argument(
        "--from",
        dest="sources",
        action="append",
        required=True,
        metavar="RUN",
        help="run folder (or store.sqlite) whose labelled steps to learn from (repeatable)",
    )
    fast.add_argument("--out", required=True, help="output folder (use it as fast.dir in a run)")
    fast.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    fast.add_argument("--quiet", action="store_true", help="no progress bar")

    cons = sub.add_parser(
        "consolidate",
        help="decide per category (scale-free trigger), train and publish adapters from a run",
        **fmt,
    )
    _config_args(cons, "consolidate")
    cons.add_argument(
        "--run",
        "--from",
        dest="run",
        required=True,
        help="run folder (its store.sqlite is read); under torchrun write --from",
    )
    cons.add_argument(
        "--out", default=None, help="trunk + adapter registry folder (default: the run folder)"
    )
    cons.add_argument("--watch", action="store_true", help="keep following the store")
    cons.add_argument("--interval", type=float, default=30.0, help="seconds between passes")
    cons.add_argument("--rounds", type=int, default=None, help="with --watch: stop after N")

    loop = sub.add_parser(
        "loop",
        help="self-evolution: play, label, consolidate, gate, publish, evaluate; N rounds",
        **fmt,
    )
    _config_args(loop, "loop")
    loop.add_argument("--rounds", type=int, required=True, help="rounds (round 0: slow tier)")
    loop.add_argument("--out", required=True, help="loop folder (rerun the command to resume)")

    curve = sub.add_parser(
        "curve",
        help="a finished loop's learning curve again, each round's versions on other seeds",
        **fmt,
    )
    curve.add_argument("loop", help="the --out of a `peam loop`, or a models/<name> copy of one")
    curve.add_argument("--seeds", required=True, help="held-out seeds, e.g. 0-99")
    curve.add_argument("--out", required=True, help="output folder (rerun the command to resume)")
    curve.add_argument("--peam", action="store_true", help="PEAM (with hand-off) too")
    curve.add_argument(
        "--reference", default=None, help="a run folder on the same seeds to pair each round with"
    )
    curve.add_argument("--workers", type=int, default=None, help="episodes played at once")
    curve.add_argument(
        "--score-seeds",
        default="",
        help="also play full games on these seeds, fast tier alone, for each round's Crafter"
        " score with its bootstrap interval (e.g. 100-199; the loop scored 20 games)",
    )
    curve.add_argument(
        "--today",
        action="store_true",
        help="play by today's rules: settings added since the loop was saved take today's"
        " defaults instead of the values it played by (agent/evolve/recurve.py AS_PLAYED)",
    )

    adapters = sub.add_parser(
        "adapters",
        help="list published adapter versions, roll back, serve one by hand, or recount the"
        " gate's give-ups",
    )
    adapters.add_argument("action", choices=["list", "rollback", "serve", "recount"])
    adapters.add_argument("--run", required=True, help="run or fast-tier folder")
    adapters.add_argument("--category", default=None, help="rollback: the category")
    adapters.add_argument(
        "--to", type=int, default=None, help="rollback/serve: version (rollback: default previous)"
    )
    adapters.add_argument(
        "--min-skill-success",
        type=float,
        default=None,
        help="list: show each gated version's routing at this fast.min_skill_success"
        " (default: the runtime's, 0.8)",
    )

    comp = sub.add_parser(
        "compare",
        help="build every agent's memory from one run, evaluate all on held-out seeds, report",
        **fmt,
    )
    _config_args(comp, "compare")
    comp.add_argument("--out", default=None, help="output folder (default runs/<config name>)")
    comp.add_argument("--overwrite", action="store_true", help="delete an existing --out first")
    comp.add_argument("--report-only", action="store_true", help="rewrite the report from --out")

    mem = sub.add_parser(
        "memory",
        help="build or grow the retrieval memory next to a run's store (RUN/retrieval)",
        **fmt,
    )
    _config_args(mem, "memory")
    mem.add_argument("--run", required=True, help="run folder (its store.sqlite is read)")

    plans = sub.add_parser(
        "plans",
        help="consolidate a run's verified plans into a plan head (the LLM is asked less)",
        **fmt,
    )
    plans.add_argument("--run", required=True, action="append",
                       help="run folder whose store.sqlite is read (repeatable)")  # fmt: skip
    plans.add_argument("--out", required=True, help="folder for the plan head")
    plans.add_argument("--updates", type=int, default=600, help="optimizer steps")
    plans.add_argument("--seed", type=int, default=0)
    plans.add_argument("--tasks-file", default=DEFAULT_TASKS_FILE, help="task suite YAML")
    plans.add_argument("--registry", action="store_true",
                       help="one head per task category in --out (plans/<category>/v<N>), each"
                            " through the trigger and a held-out gate; rerun to consolidate again"
                            " (one --run)")  # fmt: skip
    plans.add_argument("--alpha", type=float, default=1e-4, help="the trigger's level (--registry)")
    plans.add_argument("--gate-seeds", default="",
                       help="--registry: a candidate that passes the held-out checks also plays"
                            " its category's tasks on these seeds (reserved for gating, e.g."
                            " 50000-50009) against the served head, or the planner alone, and"
                            " is published only if it wins as often and leaves the planner no"
                            " more plan calls; the games are kept under --out/gate/")  # fmt: skip
    plans.add_argument("--gate-config", default=None,
                       help="run config the gate games use (default: the --run's config.yaml;"
                            " its planner answers what the head leaves)")  # fmt: skip

    tasks = sub.add_parser("tasks", help="list the task suite")
    tasks.add_argument(
        "--tasks-file", "--file", dest="file", default=DEFAULT_TASKS_FILE, help="task suite YAML"
    )
    return parser


def _cmd_tasks(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"tasks in {args.file}")
    for col in ("id", "category", "verifier", "budget"):
        table.add_column(col)
    for task in load_tasks(args.file).values():
        v = task.verifier
        table.add_row(task.id, task.category, f"{v.kind} {v.name} >= {v.count}", str(task.budget))
    Console().print(table)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from agent.evolve.tier_use import tier_use, use_cells
    from agent.loop import run_folder
    from agent.loop.config import RunConfig
    from agent.loop.progress import run_with_progress

    config = load_dataclass(RunConfig, args.config, _overrides(args, "run"), "configs/run/")
    out = Path(args.out) if args.out else Path("runs") / Path(args.config).stem
    if args.resume and (args.short_task or args.short_seeds or args.set or args.short_video):
        print(
            f"peam: --resume uses {out}/config.yaml; ignoring --task/--seeds/--set/--video"
            " (--workers and --ray-address apply)",
            file=sys.stderr,
        )
    plan = run_folder.prepare(config, out, resume=args.resume, overwrite=args.overwrite)
    summary = run_with_progress(plan, quiet=args.quiet)
    for task_id, row in summary["tasks"].items():
        print(
            f"{task_id:20s} {row['successes']:3d}/{row['episodes']:<3d} {row['success_rate']:.0%}"
        )
    use = tier_use(out)
    if use is not None and use["attempts"]["fast"]:  # the fast tier played: what it left
        attempts, shares = use_cells(use)
        print(f"slow-tier attempts per game (hand-offs + routed): {attempts}")
        print(f"actions by the slow tier / the guard: {shares}")
    print(f"wrote {out}/summary.json")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from agent.loop import run_folder
    from agent.loop.config import RunConfig
    from agent.loop.progress import run_with_progress

    config = load_dataclass(RunConfig, args.config, _overrides(args, "score"), "configs/run/")
    out = Path(args.out) if args.out else Path("runs") / "score"
    plan = run_folder.prepare(config, out, resume=args.resume, overwrite=args.overwrite)
    run_with_progress(plan, quiet=args.quiet)
    from agent.compare.score import write_score

    result = write_score(out, plan.store.episodes(plan.run_id))
    for name, rate in result["rates"].items():
        print(f"{name:20s} {rate:6.1%}")
    lo, hi = result["interval95"]
    print(f"Crafter score {result['score']:.1f} over {result['episodes']} episodes"
          f" (95% bootstrap interval {lo:.1f}-{hi:.1f})")  # fmt: skip
    print(f"wrote {out}/score.md, score.json, score.png")
    return 0


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _cmd_train_fast(args: argparse.Namespace) -> int:
    import shutil

    from agent.loop.progress import stage_progress
    from consolidation.config import FastTrainConfig

    cfg = load_dataclass(
        FastTrainConfig, args.config, _overrides(args, "train-fast"), "configs/train_fast/"
    )
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
    from consolidation.fast_training import train_fast  # torch: only once the input is valid

    # Train into a side folder; the old one is replaced only once training succeeded.
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    stores = [Path(s) / "store.sqlite" if Path(s).is_dir() else Path(s) for s in args.sources]
    with stage_progress(args.quiet) as progress:
        report = train_fast(stores, partial, cfg, progress)
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    print(
        f"trunk: {report['transitions']} labelled steps, action accuracy"
        f" {report['trunk']['accuracy']:.1%}"
        f" (held-out episodes: {_pct(report['trunk']['val_accuracy'])})"
    )
    for category, row in report["adapters"].items():
        if "skipped" in row:
            print(f"adapter {category}: skipped ({row['skipped']})")
        else:
            print(
                f"adapter {category}: {row['transitions']} steps, accuracy {row['accuracy']:.1%}"
                f" (held-out: {_pct(row['val_accuracy'])},"
                f" trunk alone {_pct(row['trunk_val_accuracy'])})"
            )
    print(f"wrote {out} in {report['seconds']:.0f} s; run with --set fast.dir={out}")
    return 0


def _cmd_consolidate(args: argparse.Namespace) -> int:
    from consolidation.config import ConsolidateConfig

    overrides = _overrides(args, "consolidate")
    cfg = load_dataclass(ConsolidateConfig, args.config, overrides, "configs/consolidate/")
    if not cfg.tiers or set(cfg.tiers) - {"slow", "fast"}:
        raise ConfigError(f"bad tiers {cfg.tiers!r}; valid: slow, fast, or slow,fast")
    out = Path(args.out) if args.out else None
    from consolidation.daemon import Consolidator  # torch: only once the config is valid

    daemon = Consolidator(Path(args.run), cfg, out, log=lambda line: print(line, flush=True))
    if args.watch:
        try:
            daemon.watch(args.interval, args.rounds)
        except KeyboardInterrupt:
            print("stopped; an unfinished job resumes on the next start", file=sys.stderr)
    else:
        daemon.run_once()
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    import shutil

    from agent.compare.config import load_compare

    cfg, specs = load_compare(args.config, _overrides(args, "compare"))
    from agent.compare.report import write_report
    from agent.compare.run import compare

    out = Path(args.out) if args.out else Path("runs") / Path(args.config).stem
    if args.report_only:
        print(f"wrote {write_report(out, specs, cfg)}")
        return 0
    if args.overwrite and out.exists():
        shutil.rmtree(out)
    elif out.exists():
        print(
            f"peam: {out} exists: finished builds and episodes are kept, the rest is played",
            file=sys.stderr,
        )
    compare(cfg, specs, out, log=lambda line: print(line, flush=True))
    print(f"report: {out / 'report.md'}")
    return 0


def _cmd_memory(args: argparse.Namespace) -> int:
    from memory.config import MemoryConfig

    cfg = load_dataclass(MemoryConfig, args.config, _overrides(args, "memory"), "configs/memory/")
    cfg.retrieval.check()
    from memory.retrieval_sync import sync  # faiss and the text model: once the input is valid
    from memory.text_embedding import SubgoalEmbedder

    row = sync(Path(args.run), SubgoalEmbedder(), cfg.retrieval, cfg.tasks_file)
    print(
        f"{row['folder']}: +{row['added']} steps ({row['steps']} indexed, {row['bytes'] / 1e6:.1f}"
        f" MB), +{row['plans_added']} plans ({row['plans']}); run with"
        f" --set retrieval.dir={row['folder']}"
    )
    return 0


def _cmd_plans(args: argparse.Namespace) -> int:
    from consolidation.plan_head import plan_examples, train_plan_head
    from memory.text_embedding import SubgoalEmbedder

    if args.registry:
        return _plans_registry(args)
    examples = []
    for run in args.run:
        store = Path(run) / "store.sqlite"
        if not store.exists():
            raise ConfigError(f"{store} not found: --run takes a `peam run` output folder")
        examples += plan_examples(store, args.tasks_file)
    head, report = train_plan_head(
        examples, SubgoalEmbedder().embed, updates=args.updates, seed=args.seed
    )
    head.meta.update(runs=[str(r) for r in args.run])
    head.save(Path(args.out))
    held = report["held_out_accuracy"]
    print(
        f"{args.out}: {report['examples']} verified attempts, {report['classes']} subgoals;"
        f" next-subgoal accuracy {report['train_accuracy']:.1%} (train)"
        + (f", {held:.1%} (held-out episodes)" if held is not None else "")
        + f"; run with --set plan_head.dir={args.out}"
    )
    return 0


def _plans_registry(args: argparse.Namespace) -> int:
    from consolidation.plan_rounds import PlanRoundConfig, consolidate_plans
    from memory.text_embedding import SubgoalEmbedder

    if len(args.run) != 1:
        raise ConfigError("--registry consolidates one run's store: pass --run once")
    store = Path(args.run[0]) / "store.sqlite"
    if not store.exists():
        raise ConfigError(f"{store} not found: --run takes a `peam run` output folder")
    cfg = PlanRoundConfig(alpha=args.alpha, updates=args.updates, seed=args.seed)
    play = None
    if args.gate_seeds:
        from agent.evolve.plan_gate import PlanGate
        from agent.loop.config import load_config

        base = load_config(args.gate_config or Path(args.run[0]) / "config.yaml")
        play = PlanGate(base, args.gate_seeds, Path(args.out) / "gate")
    rows = consolidate_plans(
        store, Path(args.out), SubgoalEmbedder().embed, cfg, args.tasks_file, play=play
    )
    if not rows:
        print(f"{store}: no verified plans yet")
    print(f"run with --set plan_head.dir={args.out}")
    return 0


def _cmd_adapters(args: argparse.Namespace) -> int:
    from agent.fast import registry

    root = Path(args.run)
    if args.action == "recount":
        from agent.evolve.gate import recount

        lines = recount(root)
        print("\n".join(lines) or f"no gate run kept under {root / 'gate'} for a gated version")
        return 0
    if args.action in ("rollback", "serve"):
        if args.category is None:
            raise registry.RegistryError(f"{args.action} needs --category (craft, gather, combat)")
        if args.action == "serve":
            if args.to is None:
                raise registry.RegistryError("serve needs --to N (the version to serve)")
            registry.serve(root, args.category, args.to)
            version = args.to
        else:
            version = registry.rollback(root, args.category, args.to)
        print(f"{args.category}: now serving v{version}")
        return 0
    from agent.fast.config import FastConfig
    from agent.fast.routing import gate_counts, routing_note

    fast = FastConfig()
    least = fast.min_skill_success if args.min_skill_success is None else args.min_skill_success
    for category in CATEGORIES:
        rows = registry.describe(root, category)
        if not rows:
            print(f"{category}: no versions")
        for row in rows:
            ev = row.get("evaluation", {})
            acc = ev.get("val_accuracy_after")
            print(
                f"{category} v{row['version']}{' *' if row['served'] else '  '}"
                f" trainer={row.get('trainer', '?')} steps={row.get('transitions', '?')}"
                f" pairs={row.get('pairs', 0)} parent={row.get('parent')}"
                + (f" held-out acc={acc:.1%}" if isinstance(acc, float) else "")
                + _gate_note(row.get("gate"))
            )
            candidate = (row.get("gate") or {}).get("candidate") or {}
            skills = gate_counts(candidate, fast.route_acted)
            if skills:
                given_up = candidate.get("given_up") if fast.route_acted else None
                print(f"    {routing_note(skills, least, given_up)}")
    return 0


def _gate_note(gate: dict[str, Any] | None) -> str:
    if not gate:
        return ""
    return f" gate={'published' if gate.get('publish') else 'kept served'} ({gate.get('reason')})"


def _cmd_loop(args: argparse.Namespace) -> int:
    cfg = load_dataclass(_loop_config(), args.config, _overrides(args, "loop"), "configs/loop/")
    from agent.evolve.loop import run_loop  # torch: only once the config is valid

    curve = run_loop(cfg, Path(args.out), args.rounds, log=lambda line: print(line, flush=True))
    print(f"wrote {Path(args.out) / 'learning_curve.json'} ({len(curve['rounds'])} rounds)")
    return 0


def _cmd_curve(args: argparse.Namespace) -> int:
    from agent.evolve.recurve import replay  # torch: only once the arguments are valid

    modes = ("fast", "peam") if args.peam else ("fast",)
    reference = Path(args.reference) if args.reference else None
    if reference is not None and not (reference / "summary.json").exists():
        raise FileNotFoundError(f"--reference {reference}: no summary.json; pass a run folder")
    out = Path(args.out)
    curve = replay(
        Path(args.loop), out, args.seeds, modes, reference, args.workers,
        log=lambda line: print(line, flush=True), score_seeds=args.score_seeds,
        today=args.today,
    )  # fmt: skip
    print((out / "learning_curve.md").read_text(), end="")
    print(f"wrote {out / 'learning_curve.json'} ({len(curve['rounds'])} rounds)")
    return 0


USAGE_ERRORS = {
    "agent.fast.registry": "RegistryError",
    "agent.loop.run_folder": "RunFolderError",
    "agent.slow.config": "MissingAPIKeyError",
    "envs.minedojo_env": "MineDojoUnavailable",
    "memory.transitions": "NoTrainingDataError",
}
"""Errors that mean bad input (exit 2, one line). Matched only once their module is loaded:
an error cannot come from a module nobody imported, and importing it would cost seconds."""


def _usage_error(err: BaseException) -> bool:
    if isinstance(err, ConfigError | UnknownTaskError | UnknownBackendError):
        return True
    if isinstance(err, FileNotFoundError | FileExistsError):
        return True
    kinds = [getattr(sys.modules[m], n) for m, n in USAGE_ERRORS.items() if m in sys.modules]
    return any(isinstance(err, kind) for kind in kinds)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _cmd_run,
    "score": _cmd_score,
    "train-fast": _cmd_train_fast,
    "consolidate": _cmd_consolidate,
    "loop": _cmd_loop,
    "curve": _cmd_curve,
    "adapters": _cmd_adapters,
    "compare": _cmd_compare,
    "memory": _cmd_memory,
    "plans": _cmd_plans,
    "tasks": _cmd_tasks,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print(
            "peam: interrupted; finished episodes are kept: `peam run --resume` (or the same"
            " `peam compare` without --overwrite) continues",
            file=sys.stderr,
        )
        return 130
    except Exception as err:
        if _usage_error(err):
            print(f"peam: {err}", file=sys.stderr)
            return EXIT_USAGE
        raise


if __name__ == "__main__":
    sys.exit(main())
