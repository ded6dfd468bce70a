"""PW selection vs every new state across update budgets: held-out label accuracy.

A store of labelled play (the fast tier with hand-off, every visited state labelled by
the slow controller) is consolidated into one category's next adapter version, starting
from a published fast tier (its trunk and served adapters), twice per budget and
training seed: on the top ``pw.select`` of the new states by PW, and on all of them.
Each candidate is then scored on a second store's fast-tier states (other seeds): the
share of states where its action is one of the teacher's, overall and split by whether
the served version already got the state right (``fixed``: wrong before, right now;
``broken``: right before, wrong now). Nothing in the inputs changes: training happens
in temporary copies. Last line: ``ratio: X`` = PW's mean accuracy / everything's at the
smallest budget. With ``--play SEEDS`` the first training seed's candidates (with
``--play-all`` every seed's) also play those world seeds, fast tier alone, and the paired
totals per budget end with PW's and everything's wins and McNemar's p; ``--teacher`` adds
the slow tier alone on the same seeds (the teacher, whose level the candidates learn
toward: selection can only show in play where they are still below it).

    .venv/bin/python benchmarks/pw_budget.py --fast models/loop \\
        --store runs/pw-train/store.sqlite --heldout runs/pw-heldout/store.sqlite \\
        --category craft [--old runs/pw-old/store.sqlite] [--budgets 25,50,100,300] \\
        [--seeds 0,1,2] [--weights 1,1,1,1] [--select 0.7] [--play 60000-60039 --play-all --teacher]
        [--keep-unseen]

A store labelled by a privileged teacher (``runner.teacher_sees=world``) carries labels
flagged as depending on what the memory has not seen: PW drops them
(``consolidate.pw.drop_unseen``) unless ``--keep-unseen``; everything keeps them.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from agent.compare.stats import mcnemar
from agent.evolve.config import LoopConfig
from agent.evolve.gate import play_category, play_version
from agent.fast import registry
from agent.fast.trunk import load_trunk
from agent.loop.config import RunConfig
from consolidation.bc import acts_as_taught
from consolidation.config import ConsolidateConfig
from consolidation.daemon import Consolidator
from consolidation.worthiness import COMPONENTS
from envs.config import build
from memory.store import ExperienceStore
from memory.text_embedding import SubgoalEmbedder
from memory.transitions import Transitions, load_transitions


def append(db: sqlite3.Connection, other: Path) -> None:
    """Append every row of the store ``other`` to ``db`` (ids shifted past db's own)."""
    db.execute("ATTACH ? AS o", (str(other),))
    shift = {
        t: db.execute(f"SELECT COALESCE(MAX(id), 0) FROM main.{t}").fetchone()[0]
        for t in ("runs", "episodes", "attempts", "planner_calls")
    }
    r, e, a, c = (shift[t] for t in ("runs", "episodes", "attempts", "planner_calls"))
    db.execute(f"INSERT INTO runs SELECT id + {r}, name, config, created FROM o.runs")
    cols = [row[1] for row in db.execute("PRAGMA main.table_info(episodes)")]
    rest = ", ".join(cols[2:])
    db.execute(
        f"INSERT INTO episodes (id, run_id, {rest}) SELECT id + {e}, run_id + {r}, {rest}"
        " FROM o.episodes"
    )
    cols = [row[1] for row in db.execute("PRAGMA main.table_info(attempts)")]
    rest = ", ".join(x for x in cols if x not in ("id", "episode_id", "corrects"))
    db.execute(
        f"INSERT INTO attempts (id, episode_id, corrects, {rest}) SELECT id + {a},"
        f" episode_id + {e}, corrects + {a}, {rest} FROM o.attempts"
    )
    cols = [row[1] for row in db.execute("PRAGMA main.table_info(steps)")]
    rest = ", ".join(x for x in cols if x not in ("episode_id", "attempt_id"))
    db.execute(
        f"INSERT INTO steps (episode_id, attempt_id, {rest}) SELECT episode_id + {e},"
        f" attempt_id + {a}, {rest} FROM o.steps"
    )
    cols = [row[1] for row in db.execute("PRAGMA main.table_info(planner_calls)")]
    rest = ", ".join(x for x in cols if x not in ("id", "episode_id", "attempt_id"))
    db.execute(
        f"INSERT INTO planner_calls (id, episode_id, attempt_id, {rest}) SELECT id + {c},"
        f" episode_id + {e}, attempt_id + {a}, {rest} FROM o.planner_calls"
    )
    db.commit()
    db.execute("DETACH o")


def prepare(fast: Path, store: Path, old: Path | None, work: Path, category: str) -> None:
    """``work`` = a copy of the fast tier and of ``store``; with ``old`` (what the served
    version learned from) the store holds ``old`` first and the served version's record
    says it has seen exactly that, so a round replays it as the loop would."""
    shutil.copytree(fast / "trunk", work / "trunk")
    shutil.copytree(fast / "adapters", work / "adapters")
    with sqlite3.connect(old or store) as src, sqlite3.connect(work / "store.sqlite") as dst:
        src.backup(dst)
        if old is None:
            return
        seen = dst.execute("SELECT COALESCE(MAX(id), 0) FROM attempts").fetchone()[0]
        append(dst, store)
    meta_file = registry.served_folder(work, category) / "peam_adapter.json"
    meta = json.loads(meta_file.read_text())
    meta.update(store=str((work / "store.sqlite").resolve()), last_attempt_id=seen)
    meta_file.write_text(json.dumps(meta))


def train(work: Path, cfg: ConsolidateConfig, category: str, embedder) -> None:
    """One round of ``category`` in the prepared folder ``work``."""
    daemon = Consolidator(work, cfg, embedder=embedder, log=lambda _: None, tensorboard=False)
    with ExperienceStore(work / "store.sqlite") as s:
        until = max(a.id for a in s.attempts())
    trunk, meta = load_trunk(work / "trunk")
    daemon._consolidate(category, trunk, meta["trunk_sha256"], {"until": until})


def hits(root: Path, category: str, data: Transitions, table: torch.Tensor) -> np.ndarray:
    """Per state of ``data``: the served version of ``category`` in ``root`` acts as taught."""
    model = registry.served_model(root, category)
    return acts_as_taught(lambda g, t, v: model(g, t, v), data, table, torch.device("cpu"))


def won(store_path: Path, category: str) -> dict[tuple[str, int], bool]:
    """Per (task, world seed) of a play run: the episode was won."""
    with ExperienceStore(store_path) as store:
        return {
            (e.task_id, e.seed): bool(e.success) for e in store.episodes() if e.category == category
        }


def paired_totals(played: dict[tuple[int, str, int], dict]) -> None:
    """Per budget, PW vs everything over every training seed that played both: games won
    and the exact McNemar test, paired by (training seed, task, world seed)."""
    for budget in sorted({b for b, _, _ in played}):
        seeds = sorted(
            s for b, n, s in played if b == budget and n == "pw" and (b, "everything", s) in played
        )
        only_pw = only_all = wins_pw = wins_all = games = 0
        for s in seeds:
            a, b = played[(budget, "pw", s)]["won"], played[(budget, "everything", s)]["won"]
            for key in a.keys() & b.keys():
                games += 1
                wins_pw, wins_all = wins_pw + a[key], wins_all + b[key]
                only_pw, only_all = (
                    only_pw + (a[key] and not b[key]),
                    only_all + (b[key] and not a[key]),
                )
        print(
            f"{budget} updates, training seeds {','.join(map(str, seeds))}: PW {wins_pw}/{games},"
            f" everything {wins_all}/{games}; won by PW only {only_pw}, by everything only"
            f" {only_all}, McNemar p = {mcnemar(only_pw, only_all):.3g}"
        )


def play_teacher(base: RunConfig, category: str, seeds: str, out: Path) -> dict:
    """The slow tier alone (no fast tier) on the category's tasks and ``seeds``."""
    cfg = copy.deepcopy(base)
    cfg.fast.dir, cfg.fast.pin, cfg.seeds, cfg.runner.label = "", "", seeds, False
    return play_category(cfg, category, out)


class Stages:
    """Progress on stderr: one line per stage with the candidate's number and the time taken
    so far (a candidate trains in about a minute and plays its seeds in a few)."""

    def __init__(self, candidates: int) -> None:
        self.total, self.done, self.start = candidates, 0, time.monotonic()

    def __call__(self, what: str, advance: bool = True) -> None:
        self.done += int(advance)
        minutes = (time.monotonic() - self.start) / 60
        print(f"[{self.done}/{self.total}, {minutes:.1f} min] {what}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", required=True, help="a published fast tier (trunk/, adapters/)")
    parser.add_argument("--store", required=True, help="labelled play to consolidate")
    parser.add_argument("--heldout", required=True, help="labelled play on other seeds")
    parser.add_argument("--category", default="craft")
    parser.add_argument("--budgets", default="25,50,100,300")
    parser.add_argument("--seeds", default="0,1,2", help="training seeds (batch order)")
    parser.add_argument(
        "--weights",
        default=None,
        help="PW weights cost,stability,redundancy,interference[,agreement] (default: the"
        " config's; agreement keeps the config's when only four are given)",
    )
    parser.add_argument(
        "--play",
        default="",
        help="seeds the first seed's candidates also play, fast tier alone (e.g. 60000-60019)",
    )
    parser.add_argument(
        "--play-all",
        action="store_true",
        help="every training seed's candidates play (paired totals and McNemar per budget)",
    )
    parser.add_argument(
        "--teacher",
        action="store_true",
        help="the slow tier alone also plays the --play seeds (the teacher's level)",
    )
    parser.add_argument(
        "--old", default=None, help="what the served version learned from (replayed)"
    )
    parser.add_argument("--select", type=float, default=None, help="fraction PW keeps")
    parser.add_argument(
        "--keep-unseen",
        action="store_true",
        help="PW keeps the states whose label depends on what the memory has not seen"
        " (flagged when a privileged teacher labelled the store: runner.teacher_sees=world)",
    )
    parser.add_argument(
        "--config", default=None, help="loop config (default: the fast tier's loop_config.yaml)"
    )
    args = parser.parse_args()
    fast = Path(args.fast)
    needed = [fast / "trunk" / "trunk.json", Path(args.store), Path(args.heldout)]
    for path in needed + ([Path(args.old)] if args.old else []):
        if not path.exists():
            sys.exit(f"{path} does not exist; the docstring (--help) shows the runs that make it")
    config_file = Path(args.config) if args.config else fast / "loop_config.yaml"
    loop = build(LoopConfig, yaml.safe_load(config_file.read_text()))
    base = loop.consolidate
    if args.weights:
        values = args.weights.split(",")
        if len(values) not in (len(COMPONENTS) - 1, len(COMPONENTS)):
            sys.exit(f"--weights: {len(values)} values; give 4 or 5 ({','.join(COMPONENTS)})")
        for name, w in zip(COMPONENTS, values, strict=False):
            setattr(base.pw, name, float(w))
    if args.select:
        base.pw.select = args.select
    if args.keep_unseen:
        base.pw.drop_unseen = False
    old = Path(args.old) if args.old else None
    embedder = SubgoalEmbedder()
    held = load_transitions(
        [Path(args.heldout)],
        keep=lambda a: a.tier == "fast" and a.subgoal.category == args.category,
    )
    table = torch.from_numpy(embedder.embed(held.texts))
    served = hits(fast, args.category, held, table)
    print(
        f"{args.category}: {len(held)} held-out fast-tier states; served version"
        f" v{registry.latest(fast, args.category)} acts as taught on {served.mean():.1%}"
    )
    weights = ", ".join(f"{n} {getattr(base.pw, n):g}" for n in COMPONENTS)
    print(f"PW weights: {weights}; PW keeps {base.pw.select:.0%} of the new states")
    new = load_transitions([Path(args.store)], categories=(args.category,))
    print(
        f"{args.category}: {len(new)} new labelled states, {int(new.unseen.sum())} flagged as"
        " depending on what the memory has not seen; PW "
        + ("drops them" if base.pw.drop_unseen else "keeps them (--keep-unseen)")
    )
    print(f"{'budget':>6s} {'variant':>10s} {'accuracy':>18s} {'fixed':>7s} {'broken':>7s}")
    first: dict[str, float] = {}
    played: dict[tuple[int, str, int], dict] = {}
    budgets = [int(b) for b in args.budgets.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    step = Stages(2 * len(budgets) * len(seeds))
    for budget in budgets:
        for name, pw in (("pw", True), ("everything", False)):
            acc, fixed, broken = [], [], []
            for seed in seeds:
                step(f"budget {budget} {name} seed {seed}: training")
                cfg = copy.deepcopy(base)
                cfg.select_by_pw = pw
                cfg.trainer.updates = budget
                cfg.trainer.warmup = max(1, budget // 10)
                cfg.trainer.bc.seed = seed
                cfg.device = "cpu"
                with tempfile.TemporaryDirectory() as tmp:
                    work = Path(tmp)
                    prepare(fast, Path(args.store), old, work, args.category)
                    train(work, cfg, args.category, embedder)
                    now = hits(work, args.category, held, table)
                    if args.play and (args.play_all or not acc):
                        step(f"budget {budget} {name} seed {seed}: playing", advance=False)
                        version = registry.latest(work, args.category)
                        row = play_version(
                            loop.run, work, args.category, version, args.play, work / "play"
                        )
                        row["won"] = won(work / "play" / "store.sqlite", args.category)
                        played[(budget, name, seed)] = row
                acc.append(now.mean())
                fixed.append((now & ~served).sum())
                broken.append((~now & served).sum())
            spread = f"{np.mean(acc):.1%} ({min(acc):.1%}-{max(acc):.1%})"
            print(
                f"{budget:>6d} {name:>10s} {spread:>18s} {np.mean(fixed):>7.0f}"
                f" {np.mean(broken):>7.0f}",
                flush=True,
            )
            first.setdefault(name, float(np.mean(acc)))
    if args.play:
        step(f"the served v{registry.latest(fast, args.category)}: playing", advance=False)
        with tempfile.TemporaryDirectory() as tmp:
            version = registry.latest(fast, args.category)
            served_row = play_version(
                loop.run, fast, args.category, version, args.play, Path(tmp) / "play"
            )
        teacher = {}
        if args.teacher:
            step("the slow tier (the teacher): playing", advance=False)
            with tempfile.TemporaryDirectory() as tmp:
                teacher = {
                    "teacher": play_teacher(loop.run, args.category, args.play, Path(tmp) / "t")
                }
        tasks = sorted(served_row["per_task"])
        print(f"played, fast tier alone, seeds {args.play}:")
        print(f"{'candidate (seed)':>22s} " + " ".join(f"{t:>18s}" for t in tasks) + "  total")
        rows = teacher | {"served": served_row}
        rows |= {f"{b} {n} ({s})": r for (b, n, s), r in played.items()}
        for name, row in rows.items():
            cells = " ".join(f"{row['per_task'].get(t, 0):>18d}" for t in tasks)
            print(f"{name:>22s} {cells} {row['successes']:>4d}/{row['episodes']}")
        paired_totals(played)
    print(f"ratio: {first['pw'] / max(1e-9, first['everything']):.3f}")


if __name__ == "__main__":
    main()
