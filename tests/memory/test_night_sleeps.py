from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import envs
from envs.crafter_env import ACTIONS
from memory.store import ExperienceStore
from scripts.night_sleeps import daylight, night_sleeps


def test_daylight_is_crafters_own():
    env = envs.make("crafter")
    _, info = env.reset(seed=0)
    for t in range(1, 260):
        _, _, _, _, info = env.step(ACTIONS.index("noop"))
        if t in (1, 100, 160, 210, 259):
            assert daylight(t) == pytest.approx(info["daylight"], abs=1e-6)
    assert daylight(210) == pytest.approx(0.0)  # the darkest step of the first night


def test_lists_only_the_games_with_a_sleep_before_full_daylight(tmp_path: Path):
    obs = {
        "rgb": np.zeros((8, 8, 3), dtype=np.uint8),
        "inventory": np.zeros(12, dtype=np.int32),
        "status": np.full(4, 9.0, dtype=np.float32),
        "position": np.zeros(3, dtype=np.float32),
    }
    sleep, noop = ACTIONS.index("sleep"), ACTIONS.index("noop")
    with ExperienceStore(tmp_path / "store.sqlite") as store:
        run = store.start_run("r", {})
        # seed: the step at which it sleeps (None: never); steps 0-299 are played
        for seed, at in {1: 210, 2: 10, 3: None, 4: 250}.items():
            ep = store.begin_episode(run, "collect_coal", "gather", seed, "crafter", (8, 8, 3))
            for t in range(300):
                store.log_step(ep, t, None, obs, sleep if t == at else noop, 0.0, "guard")
            store.end_episode(ep, True, 300, "success")
    # step 10: daylight 0.87, below full day; 210 and 250: night; seed 3 never slept
    assert night_sleeps(tmp_path / "store.sqlite", 0.9) == {"collect_coal": [1, 2, 4]}
    assert night_sleeps(tmp_path / "store.sqlite", 0.5) == {"collect_coal": [1, 4]}
