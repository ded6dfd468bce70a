"""The retrieval agent's executor: acts by nearest-neighbour vote over stored verified steps.

Plugs into the runner where the fast tier does (``covers``/``begin``/``act``),
so the same hand-off, guard and verification apply to both memories, and reads
the same input as the fast policy: the map-memory features (``envs.features``)
of ``info["map"]`` with the subgoal's own path rows (``envs.goal``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agent.fast.executor import subgoal_rng
from envs.features import deadly_moves, features, futile_crafts, stray_furnace
from envs.goal import with_goal
from memory.records import Decision, Subgoal
from memory.retrieval import RetrievalMemory


class RetrievalExecutor:
    name = "retrieval"

    def __init__(
        self,
        memory: RetrievalMemory,
        embedder: Any,
        n_actions: int = 17,
        sample: bool = False,
        seed: int = 0,
        futile: bool = False,
    ):
        self.memory = memory
        self.embedder = embedder
        self.n_actions = n_actions
        self.sample = sample
        """Sample in proportion to the votes (else the majority action)."""
        self.seed = seed
        self.futile = futile
        """Ban the make and place actions Crafter would ignore, as the fast tier does with
        ``fast.futile_crafts`` (``envs.features.futile_crafts``)."""
        self._rng = np.random.default_rng(0)
        self._text = np.zeros((1, 0), dtype=np.float32)
        self._subgoal: Subgoal | None = None

    def covers(self, subgoal: Subgoal) -> str | None:
        return subgoal.category if len(self.memory) else None

    def refresh(self) -> list[str]:
        """Nothing to reload: a retrieval memory is read once (`peam memory` grows a copy)."""
        return []

    def begin(self, subgoal: Subgoal, key: tuple[int, int] = (0, 0)) -> None:
        """Start ``subgoal``; ``key`` = (episode seed, attempt number) seeds the sampling."""
        self._subgoal = subgoal
        self._text = self.embedder.embed([subgoal.text])
        self._rng = subgoal_rng(subgoal.text, self.seed, key)

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any], idle: int = 0) -> Decision:
        """The nearest memories' action (``idle``, the attempt's idle streak, is not used:
        the retrieval agent samples by its own rule)."""
        if self._subgoal is None:
            raise RuntimeError("RetrievalExecutor.act() before begin(subgoal)")
        f, s = features(obs, info), self._subgoal
        grid, vector = f.grid[None], with_goal(f.vector[None], [(s.skill, s.target)])
        # As the fast tier: no move into remembered lava, no furnace away from a table.
        banned = deadly_moves(f) + stray_furnace(f) + (futile_crafts(f) if self.futile else [])
        if self.sample:
            votes = self.memory.votes(grid, vector, self._text, self.n_actions)[0]
            votes[banned] = 0.0
            if votes.sum() == 0:
                return Decision(0)
            return Decision(int(self._rng.choice(self.n_actions, p=votes / votes.sum())))
        action = self.memory.act(grid, vector, self._text, self.n_actions, [banned])[0]
        return Decision(int(action))
