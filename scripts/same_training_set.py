"""The trunk's training set as a loop store held it after its first runs (round 0's play),
read from several stores: its size and digest, to check two loops trained on the same data.

    .venv/bin/python scripts/same_training_set.py runs/loop5 runs/loop6-t07 --runs 2
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
from pathlib import Path

from memory.transitions import load_transitions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", help="loop folders (their store.sqlite)")
    parser.add_argument("--runs", type=int, default=2, help="keep runs 1..N (round 0: 2)")
    parser.add_argument("--validate-every", type=int, default=10)
    args = parser.parse_args()
    for folder in args.folders:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "store.sqlite"
            with (
                sqlite3.connect(Path(folder) / "store.sqlite") as src,
                sqlite3.connect(copy) as dst,
            ):
                src.backup(dst)
                later = f"SELECT id FROM episodes WHERE run_id > {args.runs}"
                dst.execute(f"DELETE FROM steps WHERE episode_id IN ({later})")
                dst.execute(f"DELETE FROM attempts WHERE episode_id IN ({later})")
                dst.execute(f"DELETE FROM episodes WHERE run_id > {args.runs}")
            data = load_transitions([copy], max_transitions=200_000)
            train, held = data.split(args.validate_every)
            print(
                f"{folder}: {len(data)} labelled steps, {len(train)} trained on, {len(held)}"
                f" held out; training set sha256 {train.digest()[:16]}"
            )


if __name__ == "__main__":
    main()
