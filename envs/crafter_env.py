"""Crafter as a Gymnasium environment in the common observation schema."""

from __future__ import annotations

import collections
from typing import Any, ClassVar

import crafter
import gymnasium
import numpy as np
from crafter import constants, engine

from envs.schema import (
    ITEMS,
    KILLABLE,
    STATUS,
    inventory_vector,
    observation_space,
    status_vector,
)

#: Names of the values in Crafter's semantic map (index = value).
SEMANTIC_NAMES: tuple[str, ...] = (
    "none",
    *constants.materials,
    "player",
    "cow",
    "zombie",
    "skeleton",
    "arrow",
    "plant",
)
ACTIONS: tuple[str, ...] = tuple(constants.actions)


class _InsertionOrderedSet(dict):
    """A set that iterates in insertion order (dict keys), unlike ``set`` of objects."""

    def add(self, item: object) -> None:
        self[item] = None

    def remove(self, item: object) -> None:
        del self[item]


class _DeterministicWorld(engine.World):
    """Crafter's world with chunk members kept in insertion order.

    Crafter keeps each chunk's creatures in a ``set``, whose order follows
    memory addresses; despawning picks ``creatures[random.randint(...)]`` from
    it, so the same seed and actions could give different trajectories.
    """

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self._chunks = collections.defaultdict(_InsertionOrderedSet)


def make_deterministic(env: crafter.Env) -> crafter.Env:
    """Make a raw ``crafter.Env`` reproducible from its seed (see :class:`_DeterministicWorld`)."""
    env._world.__class__ = _DeterministicWorld
    return env


class CrafterEnv(gymnasium.Env[dict[str, np.ndarray], int]):
    """Crafter behind the Gymnasium API (5-tuple step, seeded reset).

    ``terminated`` is death; the time limit comes from the registration's
    ``max_episode_steps`` (a ``TimeLimit`` wrapper), so it shows as ``truncated``.
    ``info`` carries ``inventory``, ``achievements``, ``kills`` (cumulative),
    ``events`` (this step), ``semantic`` (the whole 64x64 world map),
    ``player_pos`` and ``facing``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, size: int = 64, area: int = 64, render_mode: str | None = None):
        self._env = make_deterministic(
            crafter.Env(area=(area, area), size=(size, size), length=None, seed=0)
        )
        self.observation_space = observation_space(size, size)
        self.action_space = gymnasium.spaces.Discrete(len(ACTIONS))
        self.render_mode = render_mode
        self._rgb: np.ndarray | None = None
        self._achievements: dict[str, int] = {}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        world_seed = seed if seed is not None else int(self.np_random.integers(2**31 - 1))
        # Crafter seeds each world from (seed, episode index); pin both so a
        # seed always gives the same world, whatever ran before.
        self._env._seed = world_seed
        self._env._episode = 0
        self._rgb = self._env.reset()
        self._achievements = dict(self._env._player.achievements)
        info = self._info(events=[])
        info["last_action"] = -1
        return self._obs(info), info

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self._rgb is None:
            raise RuntimeError("CrafterEnv.step() called before reset(); call env.reset(seed=...)")
        rgb, reward, _done, raw = self._env.step(int(action))
        self._rgb = rgb
        events = self._events(raw["achievements"])
        info = self._info(events=events, raw=raw)
        info["last_action"] = int(action)
        terminated = raw["discount"] == 0
        return self._obs(info), float(reward), bool(terminated), False, info

    def render(self) -> np.ndarray | None:
        return self._rgb.copy() if self._rgb is not None else None

    # -- helpers -----------------------------------------------------------------

    def _events(self, achievements: dict[str, int]) -> list[str]:
        previous = self._achievements
        self._achievements = achievements
        return [name for name, count in achievements.items() if count > previous.get(name, 0)]

    def _info(self, events: list[str], raw: dict[str, Any] | None = None) -> dict[str, Any]:
        player = self._env._player
        if raw is not None:  # already copies, made by Crafter's step
            inventory, achievements, semantic = (
                raw["inventory"],
                raw["achievements"],
                raw["semantic"],
            )
        else:
            inventory, achievements = dict(player.inventory), dict(player.achievements)
            semantic = self._env._sem_view()
        return {
            "inventory": {name: inventory[name] for name in ITEMS},
            "status": {name: float(inventory[name]) for name in STATUS},
            "achievements": achievements,
            "kills": {name: int(achievements[f"defeat_{name}"]) for name in KILLABLE},
            "events": events,
            "semantic": semantic,
            # The raw env reuses its position array: copy it.
            "player_pos": np.array(player.pos, dtype=np.int64),
            "facing": (int(player.facing[0]), int(player.facing[1])),
            "sleeping": bool(player.sleeping),
            "daylight": float(self._env._world.daylight),
        }

    def _obs(self, info: dict[str, Any]) -> dict[str, np.ndarray]:
        x, y = info["player_pos"]
        return {
            "rgb": np.asarray(self._rgb, dtype=np.uint8),
            "inventory": inventory_vector(info["inventory"]),
            "status": status_vector(info["status"]),
            "position": np.array([x, y, 0.0], dtype=np.float32),
        }
