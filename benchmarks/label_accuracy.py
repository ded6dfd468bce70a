"""How well the policy can imitate its teacher: held-out label accuracy of a trunk trained
by label-set BC, by how much labelled experience it gets and how long it trains.

From a store (e.g. a `peam loop` folder's), the slow tier's labelled states are split by
episode (every ``--every``-th episode id held out); trunks are trained on growing shares
of the training episodes for ``--epochs`` each, and each is scored on the held-out
states: the share where its most likely action is one of the teacher's equally good
actions. With ``--layouts base,full,goal`` (a store recorded with the path features) each
share is trained once per layout: the base vector alone (the layout before
``envs.paths``), the whole vector, and the whole vector with the subgoal's own path rows
(``envs.goal``). Last line: ``ratio: X`` = held-out accuracy of the last layout /
the first, with all the data (one layout: all the data / the smallest share).

    .venv/bin/python benchmarks/label_accuracy.py --store runs/loop/store.sqlite \\
        [--shares 0.25,1.0] [--epochs 15] [--layouts base,full]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from consolidation.bc import evaluate_accuracy
from consolidation.config import BCConfig
from consolidation.trunk import train_trunk
from envs.features import BASE_DIM, VECTOR_DIM
from envs.goal import GOAL_VECTOR_DIM
from memory.text_embedding import SubgoalEmbedder
from memory.transitions import Transitions, load_transitions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--shares", default="0.25,1.0", help="shares of the training episodes")
    parser.add_argument("--epochs", type=float, default=15.0)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--layouts", default="full", help="base (no path features), full, goal")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_transitions([Path(args.store)], tiers=("slow",))
    train, val = data.split(args.every)
    table = torch.from_numpy(SubgoalEmbedder().embed(data.texts))
    episodes = np.random.default_rng(0).permutation(np.unique(train.episodes))
    print(f"{len(train)} training states ({len(episodes)} episodes), {len(val)} held out")
    print(f"vector: {train.vectors.shape[1]} values ({BASE_DIM} base)")
    print(f"{'layout':>6s} {'share':>6s} {'states':>8s} {'train acc':>10s} {'held-out acc':>13s}"
          f" {'s':>6s}")  # fmt: skip
    layouts = args.layouts.split(",")
    accs: dict[str, list[float]] = {name: [] for name in layouts}
    for share in (float(x) for x in args.shares.split(",")):
        keep = np.isin(train.episodes, episodes[: max(1, round(share * len(episodes)))])
        for name in layouts:
            part, held = _layout(train.subset(keep), name), _layout(val, name)
            start = time.perf_counter()
            policy, result = train_trunk(part, table, BCConfig(epochs=args.epochs))
            acc = evaluate_accuracy(policy, held, table, torch.device("cpu"))
            accs[name].append(acc)
            print(f"{name:>6s} {share:6.2f} {len(part):8d} {result.accuracy:10.3f} {acc:13.3f}"
                  f" {time.perf_counter() - start:6.0f}", flush=True)  # fmt: skip
    if len(layouts) > 1:
        print(f"ratio: {accs[layouts[-1]][-1] / accs[layouts[0]][-1]:.3f}")
    else:
        print(f"ratio: {accs[layouts[0]][-1] / accs[layouts[0]][0]:.3f}")


def _layout(data: Transitions, name: str) -> Transitions:
    """``data`` with the vector in ``name``'s layout (``envs.goal``: the layouts nest, and
    stored steps load in the widest)."""
    widths = {"base": BASE_DIM, "full": VECTOR_DIM, "goal": GOAL_VECTOR_DIM}
    if name not in widths:
        raise SystemExit(f"--layouts: base, full or goal, not {name!r}")
    return replace(data, vectors=np.ascontiguousarray(data.vectors[:, : widths[name]]))


if __name__ == "__main__":
    main()
