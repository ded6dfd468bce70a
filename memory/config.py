"""Settings of the retrieval memory and of `peam memory`: faiss-free, so `--help` stays fast."""

from __future__ import annotations

from dataclasses import dataclass, field

from envs.config import ConfigError
from envs.tasks import DEFAULT_TASKS_FILE

KINDS = ("flat", "hnsw", "ivf")
"""The faiss index kinds a retrieval memory can use."""


@dataclass
class RetrievalConfig:
    kind: str = "flat"
    """flat (exact), hnsw or ivf."""
    k: int = 8
    """Neighbours that vote."""
    blocks: int = 3
    """The map crop's materials are counted per blocks x blocks region (the coarse layout)."""
    text_weight: float = 1.0
    """Weight of the subgoal part of the key next to the observation part."""
    hnsw_m: int = 32
    """hnsw: neighbours per node in the graph."""
    ivf_lists: int = 64
    """ivf: number of inverted lists (clusters)."""

    def check(self) -> None:
        """Refuse settings faiss cannot build, naming the valid ones."""
        if self.kind not in KINDS:
            raise ConfigError(f"unknown index {self.kind!r}; valid choices: {', '.join(KINDS)}")
        if self.k < 1:
            raise ConfigError(f"retrieval k must be >= 1 (neighbours that vote), got {self.k}")
        if not 1 <= self.blocks <= 17:
            raise ConfigError(
                f"retrieval blocks must be in 1..17 (regions per crop side), got {self.blocks}"
            )


@dataclass
class MemoryConfig:
    """`peam memory`: the retrieval and plan memory grown next to a run's store."""

    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    tasks_file: str = DEFAULT_TASKS_FILE
    """YAML file with the task suite (plans are stored per task)."""
