"""An env for rollout tests: Crafter that kills its worker process once, mid-episode.

``make(cfg, budget)`` is a worker ``env_factory``. On the 5th step of an
episode whose seed is ``PEAM_CRASH_SEED`` it creates the marker file
``PEAM_CRASH_MARKER`` and exits the process (``os._exit``: no cleanup, as a
segfault or an OOM kill would); with the marker present it plays normally.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium

import envs


class CrashOnce(gymnasium.Wrapper):
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._seed, self._t = seed, 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action: int):
        self._t += 1
        marker = Path(os.environ["PEAM_CRASH_MARKER"])
        if (
            self._seed == int(os.environ["PEAM_CRASH_SEED"])
            and self._t == 5
            and not marker.exists()
        ):
            marker.write_text("crashed")
            os._exit(1)
        return self.env.step(action)


def make(cfg: Any, budget: int) -> gymnasium.Env:
    return CrashOnce(envs.make(cfg.backend, max_episode_steps=budget, size=cfg.frame_size))
