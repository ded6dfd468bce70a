"""The `peam` command line: run, train-fast, consolidate, adapters, compare, tasks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.fast.registry import RegistryError
from agent.loop.config import load_config
from agent.slow.config import MissingAPIKeyError
from envs import UnknownBackendError
from envs.config import ConfigError
from envs.tasks import DEFAULT_TASKS_FILE, UnknownTaskError, load_tasks
from memory.transitions import NoTrainingDataError

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peam", description="PEAM runtime: parametric-memory Minecraft agents"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="play episodes of the task suite and record them")
    run.add_argument(
        "--config", default="configs/run/default.yaml", help="run config YAML (configs/run/)"
    )
    run.add_argument(
        "--task",
        action="append",
        default=None,
        metavar="ID",
        help="task id (repeatable); default: the config's tasks",
    )
    run.add_argument("--seeds", default=None, help="seeds, e.g. 0-19 or 0,3,5-7")
    run.add_argument("--out", default=None, help="run folder (default runs/<config name>)")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. runner.subgoal_budget=300",
    )
    run.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    run.add_argument("--overwrite", action="store_true", help="delete an existing --out first")
    run.add_argument("--video", action="store_true", help="write a GIF per episode")
    run.add_argument("--no-cache", action="store_true", help="bypass the LLM response cache")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--workers", type=int, default=None, help="episodes played at once by a worker pool"
    )
    run.add_argument(
        "--ray-address",
        default=None,
        help="run the workers on Ray: 'local' (start one here), 'auto' or HOST:PORT",
    )

    fast = sub.add_parser(
        "train-fast",
        help="train the fast tier (trunk, one LoRA adapter per category, gate) from recorded runs",
    )
    fast.add_argument(
        "--from",
        dest="sources",
        action="append",
        required=True,
        metavar="RUN",
        help="run folder (or store.sqlite) whose verified steps to learn from (repeatable)",
    )
    fast.add_argument("--out", required=True, help="output folder (use it as fast.dir in a run)")
    fast.add_argument("--epochs", type=float, default=None, help="trunk BC epochs (default 4)")
    fast.add_argument(
        "--adapter-epochs", type=float, default=None, help="adapter BC epochs (default 2)"
    )
    fast.add_argument(
        "--max-transitions", type=int, default=None, help="subsample to this many steps"
    )
    fast.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    fast.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    fast.add_argument("--quiet", action="store_true", help="no progress bar")

    cons = sub.add_parser(
        "consolidate",
        help="decide per category (scale-free trigger), train and publish adapters from a run",
    )
    cons.add_argument(
        "--run",
        "--from",
        dest="run",
        required=True,
        help="run folder (its store.sqlite is read); under torchrun write --from",
    )
    cons.add_argument(
        "--config",
        default="configs/consolidate/default.yaml",
        help="consolidation config YAML (trigger, PW weights, trainer)",
    )
    cons.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. pw.redundancy=0 or trainer.dpo_beta=0.2",
    )
    cons.add_argument(
        "--out", default=None, help="trunk + adapter registry folder (default: the run folder)"
    )
    cons.add_argument("--watch", action="store_true", help="keep following the store")
    cons.add_argument("--interval", type=float, default=30.0, help="seconds between passes")
    cons.add_argument("--rounds", type=int, default=None, help="with --watch: stop after N")
    cons.add_argument("--alpha", type=float, default=None, help="= --set trigger.alpha=X")
    cons.add_argument("--bc-only", action="store_true", help="= --set trainer.bc_only=true")
    cons.add_argument("--no-pw", action="store_true", help="= --set select_by_pw=false")
    cons.add_argument("--tiers", default=None, help="= --set tiers=slow (or slow,fast)")
    cons.add_argument("--epochs", type=float, default=None, help="= --set trainer.bc.epochs=X")
    cons.add_argument("--trunk-epochs", type=float, default=None, help="= --set trunk.epochs=X")
    cons.add_argument("--device", default=None, help="= --set device=cpu (auto: CUDA if present)")

    adapters = sub.add_parser("adapters", help="list or roll back published adapter versions")
    adapters.add_argument("action", choices=["list", "rollback"])
    adapters.add_argument("--run", required=True, help="run or fast-tier folder")
    adapters.add_argument("--category", default=None, help="rollback: the category")
    adapters.add_argument(
        "--to", type=int, default=None, help="rollback: version (default: previous)"
    )

    comp = sub.add_parser(
        "compare",
        help="build every agent's memory from one run, evaluate all on held-out seeds, report",
    )
    comp.add_argument("--config", default="configs/compare/default.yaml", help="compare YAML")
    comp.add_argument("--out", default=None, help="output folder (default runs/<config name>)")
    comp.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key, e.g. seeds=1000-1004 or workers=1",
    )
    comp.add_argument("--overwrite", action="store_true", help="delete an existing --out first")
    comp.add_argument("--report-only", action="store_true", help="rewrite the report from --out")

    mem = sub.add_parser(
        "memory", help="build or grow the retrieval memory next to a run's store (RUN/retrieval)"
    )
    mem.add_argument("--run", required=True, help="run folder (its store.sqlite is read)")
    mem.add_argument("--index", default="flat", help="flat (exact), hnsw or ivf (new memory)")
    mem.add_argument("--k", type=int, default=8, help="neighbours that vote (new memory)")
    mem.add_argument("--tasks-file", default=DEFAULT_TASKS_FILE, help="task suite YAML")

    tasks = sub.add_parser("tasks", help="list the task suite")
    tasks.add_argument("--file", default=DEFAULT_TASKS_FILE, help="task suite YAML")
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
    from agent.loop import run_folder
    from agent.loop.progress import run_with_progress

    overrides = list(args.set)
    if args.task:
        overrides.append("tasks=" + ",".join(args.task))
    if args.seeds:
        overrides.append(f"seeds={args.seeds}")
    if args.video:
        overrides.append("video=true")
    if args.no_cache:
        overrides.append("llm.cache=false")
    if args.workers is not None:
        overrides.append(f"workers={args.workers}")
    if args.ray_address is not None:
        overrides.append(f"ray_address={args.ray_address}")
    config = load_config(args.config, overrides)
    out = Path(args.out) if args.out else Path("runs") / Path(args.config).stem
    if args.resume and (args.task or args.seeds or args.set or args.video):
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
    print(f"wrote {out}/summary.json")
    return 0


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _cmd_train_fast(args: argparse.Namespace) -> int:
    import shutil

    from agent.loop.progress import stage_progress
    from consolidation.config import FastTrainConfig
    from consolidation.fast_training import train_fast

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
    # Train into a side folder; the old one is replaced only once training succeeded.
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    stores = [Path(s) / "store.sqlite" if Path(s).is_dir() else Path(s) for s in args.sources]
    cfg = FastTrainConfig(device=args.device)
    if args.epochs is not None:
        cfg.trunk.epochs = args.epochs
    if args.adapter_epochs is not None:
        cfg.adapter.epochs = args.adapter_epochs
    if args.max_transitions is not None:
        cfg.max_transitions = args.max_transitions
    with stage_progress(args.quiet) as progress:
        report = train_fast(stores, partial, cfg, progress)
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    print(
        f"trunk: {report['transitions']} verified steps, action accuracy"
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
    from consolidation.daemon import Consolidator
    from envs.config import load_dataclass

    overrides = list(args.set)
    for flag, key in (
        ("alpha", "trigger.alpha"),
        ("tiers", "tiers"),
        ("epochs", "trainer.bc.epochs"),
        ("trunk_epochs", "trunk.epochs"),
        ("device", "device"),
    ):
        if getattr(args, flag) is not None:
            overrides.append(f"{key}={getattr(args, flag)}")
    if args.bc_only:
        overrides.append("trainer.bc_only=true")
    if args.no_pw:
        overrides.append("select_by_pw=false")
    cfg = load_dataclass(ConsolidateConfig, args.config, overrides, "configs/consolidate/")
    if not cfg.tiers or set(cfg.tiers) - {"slow", "fast"}:
        raise ConfigError(f"bad tiers {cfg.tiers!r}; valid: slow, fast, or slow,fast")
    out = Path(args.out) if args.out else None
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

    from agent.compare.report import write_report
    from agent.compare.run import compare, load_compare

    cfg, specs = load_compare(args.config, list(args.set))
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
    from memory.config import RetrievalConfig
    from memory.retrieval import KINDS
    from memory.retrieval_sync import sync
    from memory.text_embedding import SubgoalEmbedder

    if args.index not in KINDS:
        raise ConfigError(f"unknown index {args.index!r}; valid choices: {', '.join(KINDS)}")
    if args.k < 1:
        raise ConfigError(f"--k must be >= 1 (neighbours that vote), got {args.k}")
    row = sync(
        Path(args.run),
        SubgoalEmbedder(),
        RetrievalConfig(kind=args.index, k=args.k),
        args.tasks_file,
    )
    print(
        f"{row['folder']}: +{row['added']} steps ({row['steps']} indexed, {row['bytes'] / 1e6:.1f}"
        f" MB), +{row['plans_added']} plans ({row['plans']}); run with"
        f" --set retrieval.dir={row['folder']}"
    )
    return 0


def _cmd_adapters(args: argparse.Namespace) -> int:
    from agent.fast import registry

    root = Path(args.run)
    if args.action == "rollback":
        if args.category is None:
            raise registry.RegistryError("rollback needs --category (craft, gather or combat)")
        version = registry.rollback(root, args.category, args.to)
        print(f"{args.category}: now serving v{version}")
        return 0
    for category in ("craft", "gather", "combat"):
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
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "tasks":
            return _cmd_tasks(args)
        if args.command == "consolidate":
            return _cmd_consolidate(args)
        if args.command == "memory":
            return _cmd_memory(args)
        if args.command == "compare":
            return _cmd_compare(args)
        if args.command == "adapters":
            return _cmd_adapters(args)
        if args.command == "train-fast":
            return _cmd_train_fast(args)
        return _cmd_run(args)
    except (ConfigError, UnknownTaskError, UnknownBackendError, MissingAPIKeyError) as err:
        print(f"peam: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(
            "peam: interrupted; finished episodes are kept: `peam run --resume` (or the same"
            " `peam compare` without --overwrite) continues",
            file=sys.stderr,
        )
        return 130
    except (FileNotFoundError, FileExistsError, NoTrainingDataError, RegistryError) as err:
        print(f"peam: {err}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as err:
        from agent.loop.run_folder import RunFolderError
        from envs.minedojo_env import MineDojoUnavailable

        if isinstance(err, RunFolderError | MineDojoUnavailable):
            print(f"peam: {err}", file=sys.stderr)
            return EXIT_USAGE
        raise


if __name__ == "__main__":
    sys.exit(main())
