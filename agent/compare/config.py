"""Settings of `peam compare`: the experience, held-out seeds, and the agents to compare."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from envs.tasks import DEFAULT_TASKS_FILE


@dataclass
class AgentSpec:
    kind: str = "peam"
    """peam (fast tier + slow tier), retrieval (faiss agent + slow tier), slow (slow tier)."""
    variant: str = "isolated"
    """peam: isolated (one adapter per category: the method), shared, ewc or full."""
    set: list[str] = field(default_factory=list)
    """Build overrides: isolated -> `peam consolidate` keys (trainer.bc_only=true, ...);
    shared/ewc/full -> SingleConfig keys (ewc_lambda=100, bc.epochs=2, ...)."""
    index: str = "flat"
    """retrieval: flat, hnsw or ivf."""
    k: int = 8
    """retrieval: neighbours that vote."""
    run_set: list[str] = field(default_factory=list)
    """`peam run` overrides for this agent only."""


@dataclass
class CompareConfig:
    experience: str = "runs/train-slow"
    """Run folder whose store every memory is built from."""
    trunk: str = ""
    """A trained trunk folder to share; empty = train one by BC into OUT/trunk."""
    trunk_epochs: float = 4.0
    tasks_file: str = DEFAULT_TASKS_FILE
    tasks: list[str] = field(default_factory=list)
    seeds: str = "1000-1019"
    """Held-out seeds (refused when the experience holds any of them)."""
    attempts: int = 4
    """Attempts per trial for agents that sample (the paper's protocol)."""
    workers: int = 2
    """Agents evaluated at once (processes)."""
    validate_every: int = 10
    """Every N-th episode per category is held out of every memory (forgetting matrix)."""
    consolidate: str = "configs/consolidate/default.yaml"
    consolidate_set: list[str] = field(default_factory=list)
    run_set: list[str] = field(default_factory=list)
    """`peam run` overrides for every agent (e.g. planner=llm)."""
    video: bool = True
    agents: dict[str, Any] = field(default_factory=dict)
