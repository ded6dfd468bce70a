"""How well the policy can imitate its teacher: held-out label accuracy of a trunk trained
by label-set BC, by how much labelled experience it gets and how long it trains.

From a store (e.g. a `peam loop` folder's), the slow tier's labelled states are split by
episode (every ``--every``-th episode id held out); trunks are trained on growing shares
of the training episodes for ``--epochs`` each, and each is scored on the held-out
states: the share where its most likely action is one of the teacher's equally good
actions. Last line: ``ratio: X`` = held-out accuracy with all the data / with the
smallest share.

    .venv/bin/python benchmarks/label_accuracy.py --store runs/loop/store.sqlite \\
        [--shares 0.25,1.0] [--epochs 15]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from consolidation.bc import evaluate_accuracy
from consolidation.config import BCConfig
from consolidation.trunk import train_trunk
from memory.text_embedding import SubgoalEmbedder
from memory.transitions import load_transitions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--shares", default="0.25,1.0", help="shares of the training episodes")
    parser.add_argument("--epochs", type=float, default=15.0)
    parser.add_argument("--every", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_transitions([Path(args.store)], tiers=("slow",))
    train, val = data.split(args.every)
    table = torch.from_numpy(SubgoalEmbedder().embed(data.texts))
    episodes = np.random.default_rng(0).permutation(np.unique(train.episodes))
    print(f"{len(train)} training states ({len(episodes)} episodes), {len(val)} held out")
    print(f"{'share':>6s} {'states':>8s} {'train acc':>10s} {'held-out acc':>13s} {'s':>6s}")
    accs = []
    for share in (float(x) for x in args.shares.split(",")):
        keep = np.isin(train.episodes, episodes[: max(1, round(share * len(episodes)))])
        part = train.subset(keep)
        start = time.perf_counter()
        policy, result = train_trunk(part, table, BCConfig(epochs=args.epochs))
        acc = evaluate_accuracy(policy, val, table, torch.device("cpu"))
        accs.append(acc)
        print(f"{share:6.2f} {len(part):8d} {result.accuracy:10.3f} {acc:13.3f}"
              f" {time.perf_counter() - start:6.0f}", flush=True)  # fmt: skip
    print(f"ratio: {accs[-1] / accs[0]:.3f}")


if __name__ == "__main__":
    main()
