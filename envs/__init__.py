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


def make(backend: str = "crafter", **kwargs: Any) -> gymnasium.Env:
    """Build a backend by name (``crafter``, ``minedojo``) or Gymnasium id (``peam/Crafter-v0``).

    ``max_episode_steps=N`` sets the time limit (reported as truncation).
    """
    env_id = BACKENDS.get(backend, backend)
    if env_id not in BACKENDS.values():
        choices = ", ".join(sorted(BACKENDS) + sorted(BACKENDS.values()))
        raise UnknownBackendError(f"unknown backend {backend!r}; valid choices: {choices}")
    return gymnasium.make(env_id, **kwargs)
