from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from memory.records import Failure, Subgoal
from memory.store import ExperienceStore
from scripts.steps_by_subgoal import failures, main


def _obs() -> dict[str, np.ndarray]:
    return {
        "rgb": np.zeros((8, 8, 3), dtype=np.uint8),
        "inventory": np.zeros(12, dtype=np.int32),
        "status": np.full(4, 9.0, dtype=np.float32),
        "position": np.zeros(3, dtype=np.float32),
    }


def _run(folder: Path, games: dict[int, tuple[bool, list[tuple[str, list[str], bool]]]]) -> Path:
    """A run folder whose store holds make_iron_pickaxe games: seed -> (won, attempts), each
    attempt (target collected, the actor of each of its steps, succeeded)."""
    folder.mkdir()
    with ExperienceStore(folder / "store.sqlite") as store:
        run = store.start_run("r", {})
        for seed, (won, attempts) in games.items():
            ep = store.begin_episode(run, "make_iron_pickaxe", "craft", seed, "crafter", (8, 8, 3))
            t = 0
            for target, actors, ok in attempts:
                a = store.begin_attempt(ep, Subgoal("collect", target, 1), "fast", t)
                for actor in actors:
                    store.log_step(ep, t, a, _obs(), 0, 0.0, actor)
                    t += 1
                store.end_attempt(a, t, ok, None if ok else Failure("stalled", "no progress"))
            store.end_episode(ep, won, t, "success" if won else "died")
    return folder


def test_counts_steps_per_subgoal_in_games_both_won(tmp_path: Path, capsys):
    fast = _run(
        tmp_path / "fast",
        {
            0: (True, [("wood", ["fast", "guard", "fast"], False), ("wood", ["fast"], True)]),
            1: (True, [("stone", ["fast", "fast"], True)]),
            2: (False, [("iron", ["fast"] * 5, False)]),  # lost: not in the step table
        },
    )
    slow = _run(
        tmp_path / "slow",
        {
            0: (True, [("wood", ["slow", "slow"], True)]),
            1: (False, [("stone", ["slow"], False)]),  # won by one run only: left out
            2: (True, [("iron", ["slow"], True)]),
        },
    )
    main([str(fast), str(slow), "--task", "make_iron_pickaxe"])
    out = capsys.readouterr().out
    assert "1 games won by both; steps fast 4, slow 2" in out
    assert "ratio: 2.000" in out
    row = next(line.split() for line in out.splitlines() if line.startswith("collect wood"))
    assert row[2:] == ["4", "1", "2", "0", "+2"]
    db = sqlite3.connect(fast / "store.sqlite")
    assert failures(db, "make_iron_pickaxe") == {
        ("collect wood", "stalled"): 1,
        ("collect iron", "stalled"): 1,
    }


def test_names_the_fix_when_a_folder_has_no_store(tmp_path: Path):
    with pytest.raises(SystemExit, match="peam run"):
        main([str(tmp_path), str(tmp_path), "--task", "make_iron_pickaxe"])
