"""Where a round's behaviour-cloning signal lies under the served adapter.

For one category's labelled states of a store, the served version's probability ``p`` of
the teacher's action set per state: the share of states it already answers as taught,
and their share of the BC loss (-log p) and of the gradient mass (1 - p, the size of the
set log-likelihood's gradient on the logits); the same for the ``--drop`` fraction of
states it is surest of (what a redundancy-led PW selection leaves out first). Shows why
dropping redundant states changes little at a fixed update budget.

    .venv/bin/python scripts/bc_loss_share.py --fast runs/loop-v1 \\
        --store runs/pw1-train/store.sqlite --category craft [--drop 0.3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from agent.fast import registry
from consolidation.bc import batch_tensors, label_mask, set_log_prob
from memory.text_embedding import SubgoalEmbedder
from memory.transitions import load_transitions


def teacher_probability(fast: Path, store: Path, category: str) -> tuple[np.ndarray, np.ndarray]:
    """Per labelled state: p(teacher's set) under the served adapter, and argmax-in-set."""
    data = load_transitions([store], categories=(category,))
    table = torch.from_numpy(SubgoalEmbedder().embed(data.texts))
    model = registry.served_model(fast, category)
    probs, hits = [], []
    with torch.no_grad():
        for start in range(0, len(data), 1024):
            idx = np.arange(start, min(start + 1024, len(data)))
            grid, text, vector, labels, _ = batch_tensors(data, idx, table, torch.device("cpu"))
            logits = model(grid, text, vector)
            label = label_mask(labels, logits.shape[-1])
            probs.append(set_log_prob(logits, label).exp().numpy())
            hits.append(label.gather(1, logits.argmax(-1, keepdim=True)).squeeze(1).numpy())
    return np.concatenate(probs), np.concatenate(hits).astype(bool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", required=True, help="a fast tier folder (trunk/, adapters/)")
    parser.add_argument("--store", required=True, help="labelled play (store.sqlite)")
    parser.add_argument("--category", default="craft")
    parser.add_argument("--drop", type=float, default=0.3, help="fraction of surest states")
    args = parser.parse_args()
    fast, store = Path(args.fast), Path(args.store)
    for path in (fast / "trunk" / "trunk.json", store):
        if not path.exists():
            sys.exit(f"{path} does not exist; docs/benchmarks.md shows the runs that make it")
    p, hit = teacher_probability(fast, store, args.category)
    loss, grad = -np.log(np.clip(p, 1e-9, 1.0)), 1.0 - p
    surest = np.argsort(-p, kind="stable")[: int(args.drop * len(p))]
    print(
        f"{len(p)} labelled {args.category} states;"
        f" served version acts as taught on {hit.mean():.1%}"
    )
    print(
        f"states it answers as taught: {loss[hit].sum() / loss.sum():.1%} of the BC loss,"
        f" {grad[hit].sum() / grad.sum():.1%} of the gradient mass"
    )
    print(
        f"the {args.drop:.0%} it is surest of (mean p {p[surest].mean():.4f}):"
        f" {loss[surest].sum() / loss.sum():.2%} of the loss,"
        f" {grad[surest].sum() / grad.sum():.2%} of the gradient mass"
    )


if __name__ == "__main__":
    main()
