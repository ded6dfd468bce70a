"""Forgetting across categories: isolated per-category adapters vs one shared adapter vs
full fine-tuning, consolidated in sequence gather -> craft -> combat, in one run.

Each variant starts from the same frozen trunk (``--trunk``) and trains on each
category's labelled steps in turn (same data; adapters a fixed number of updates). After every stage
it is evaluated on held-out episodes of every category (action accuracy: the
fraction of verified actions it would take). Forgetting of a category = its
accuracy right after its own stage minus its accuracy at the end (points).
Isolated adapters are also checked bit for bit: training later categories must
leave earlier adapters' tensors identical. Last line: ``ratio: X`` = mean
forgetting of the shared adapter / mean forgetting of isolated adapters (inf
when isolated forget nothing).

    .venv/bin/python benchmarks/forgetting.py --store runs/train-slow --trunk runs/loop/trunk
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from agent.fast.adapters import with_adapters
from agent.fast.trunk import load_trunk
from consolidation.bc import evaluate_accuracy
from consolidation.config import BCConfig, TrainerConfig
from consolidation.trainer import train_category
from memory.text_embedding import SubgoalEmbedder
from memory.transitions import load_transitions

ORDER = ("gather", "craft", "combat")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", default="runs/train-slow")
    parser.add_argument("--trunk", default="runs/loop/trunk")
    parser.add_argument("--per-category", type=int, default=8000, help="training steps cap")
    parser.add_argument("--epochs", type=float, default=3.0, help="full fine-tuning BC epochs")
    parser.add_argument("--updates", type=int, default=300, help="updates per adapter stage")
    args = parser.parse_args()
    store = Path(args.store)
    store = store / "store.sqlite" if store.is_dir() else store
    data = load_transitions([store])
    train, val = data.split(10)
    table = torch.from_numpy(SubgoalEmbedder().embed(data.texts))
    rng = np.random.default_rng(0)
    parts = {}
    for c in ORDER:
        idx = np.flatnonzero(train.categories == c)
        idx = np.sort(rng.choice(idx, min(args.per_category, len(idx)), replace=False))
        parts[c] = train.subset(np.isin(np.arange(len(train)), idx))
    vals = {c: val.subset(val.categories == c) for c in ORDER}
    cfg = TrainerConfig(bc=BCConfig(lr=2e-3), updates=args.updates, bc_only=True)

    def accuracy(forward) -> dict[str, float]:
        return {c: evaluate_accuracy(forward, vals[c], table, torch.device("cpu")) for c in ORDER}

    results = {}
    # Isolated: one adapter per category.
    trunk, _ = load_trunk(Path(args.trunk))
    iso = with_adapters(trunk, ORDER)
    curve, frozen = [], {}
    for c in ORDER:
        train_category(iso, c, parts[c], table, cfg)
        for done in frozen:
            for name, tensor in frozen[done].items():
                assert torch.equal(dict(iso.named_parameters())[name], tensor), name
        frozen[c] = {n: p.detach().clone() for n, p in iso.named_parameters() if f".{c}." in n}
        row = {}
        for d in ORDER:
            iso.set_adapter(d)
            row[d] = accuracy(lambda g, t, v: iso(g, t, v))[d]
        curve.append(row)
    results["isolated adapters"] = curve
    # Shared: one adapter for every category.
    trunk, _ = load_trunk(Path(args.trunk))
    shared = with_adapters(trunk, ("shared",))
    curve = []
    for c in ORDER:
        train_category(shared, "shared", parts[c], table, cfg)
        curve.append(accuracy(lambda g, t, v: shared(g, t, v)))
    results["shared adapter"] = curve
    # Full fine-tuning of the trunk.
    trunk, _ = load_trunk(Path(args.trunk))
    for p in trunk.parameters():
        p.requires_grad_(True)
    curve = []
    from consolidation.bc import train_bc

    for c in ORDER:
        train_bc(lambda g, t, v: trunk(g, t, v), list(trunk.parameters()), parts[c], table,
                 BCConfig(epochs=args.epochs, lr=1e-3))  # fmt: skip
        trunk.eval()
        curve.append(accuracy(lambda g, t, v: trunk(g, t, v)))
    results["full fine-tuning"] = curve

    print(f"held-out action accuracy after each stage ({' -> '.join(ORDER)}), and forgetting")
    forgetting = {}
    for name, curve in results.items():
        drops = {c: 100 * (curve[i][c] - curve[-1][c]) for i, c in enumerate(ORDER)}
        forgetting[name] = float(np.mean([drops[c] for c in ORDER[:-1]]))
        stages = "  ".join(
            f"after {c}: " + "/".join(f"{curve[i][d]:.3f}" for d in ORDER)
            for i, c in enumerate(ORDER)
        )
        print(f"{name:18s} {stages}")
        print(
            f"{'':18s} forgetting (points): "
            + ", ".join(f"{c} {drops[c]:+.2f}" for c in ORDER[:-1])
        )
    print("isolated adapters of earlier categories: bit-identical after later stages (checked)")
    iso_f = forgetting["isolated adapters"]
    ratio = forgetting["shared adapter"] / iso_f if iso_f > 0 else float("inf")
    print(f"ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
