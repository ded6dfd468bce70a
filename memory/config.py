"""Settings of the retrieval memory and of `peam memory`: faiss-free, so `--help` stays fast."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RetrievalConfig:
    kind: str = "flat"
    """flat (exact), hnsw or ivf."""
    k: int = 8
    """Neighbours that vote."""
    pool: int = 8
    """The rgb frame is average-pooled to pool x pool cells per channel."""
    text_weight: float = 1.0
    """Weight of the subgoal part of the key next to the observation part."""
    hnsw_m: int = 32
    ivf_lists: int = 64
