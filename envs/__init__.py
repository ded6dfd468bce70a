"""Gymnasium environments: backends in one observation schema, the task suite and its verifiers."""

from __future__ import annotations

from typing import Any

import gymnasium

#: Backend name -> registered Gymnasium id.
BACKENDS: dict[str, str] = {"crafter": "peam/Crafter-v0", "minedojo": "peam/MineDojo-v0"}

if "peam/Crafter-v0" not in gymnasium.registry:
    gymnasium.register(
        id="peam/Crafter-v0",
        entry_point="envs.crafter_env:CrafterEnv",
        max_episode_steps=10000,
    )

if "peam/MineDojo-v0" not in gymnasium.registry:
    gymnasium.register(  # minedojo itself is imported only when an episode starts
        id="peam/MineDojo-v0",
        entry_point="envs.minedojo_env:MineDojoEnv",
        max_episode_steps=10000,
    )


class UnknownBackendError(ValueError):
    """Raised for a backend name that is not registered."""


def backend_name(backend: str) -> str | None:
    """The short name (``crafter``) of a backend given by name or Gymnasium id; None if unknown."""
    if backend in BACKENDS:
        return backend
    return next((name for name, env_id in BACKENDS.items() if env_id == backend), None)


SEES = ("memory", "world")
"""What an agent may know of the world: what it has seen (the default), or everything (an
all-seeing comparison only)."""


def make(
    backend: str = "crafter", sees: str = "memory", teacher_world: bool = False, **kwargs: Any
) -> gymnasium.Env:
    """Build a backend by name (``crafter``, ``minedojo``) or Gymnasium id (``peam/Crafter-v0``).

    ``max_episode_steps=N`` sets the time limit (reported as truncation). The env comes
    wrapped in the map memory (``envs.map_memory``): ``info["map"]`` holds what the agent
    has seen; with ``sees="world"`` ``info["semantic"]`` (the whole world) stays as well.
    ``teacher_world=True`` keeps the map memory as it is and puts the whole world in
    ``info["world"]``, which only a privileged labelling teacher reads
    (``runner.teacher_sees: world``); nothing that acts may.
    """
    from envs.map_memory import MapMemoryWrapper

    env_id = BACKENDS.get(backend, backend)
    if env_id not in BACKENDS.values():
        choices = ", ".join(sorted(BACKENDS) + sorted(BACKENDS.values()))
        raise UnknownBackendError(f"unknown backend {backend!r}; valid choices: {choices}")
    if sees not in SEES:
        raise ValueError(f"unknown sees {sees!r}; valid choices: {', '.join(SEES)}")
    return MapMemoryWrapper(
        gymnasium.make(env_id, **kwargs), keep_world=sees == "world", teacher_world=teacher_world
    )
