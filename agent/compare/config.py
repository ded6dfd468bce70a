"""Settings of `peam compare`: the experience, held-out seeds, and the agents to compare."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from envs.config import ConfigError, build, load_dataclass
from envs.tasks import DEFAULT_TASKS_FILE

KINDS = ("peam", "retrieval", "slow")
"""Agent kinds a comparison can hold."""


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
    plans: bool = False
    """Consolidated plans skip the planner: peam -> a plan head per category consolidated
    from the experience (`peam plans --registry`) answers first; retrieval -> a stored plan
    of a near-identical task is reused (``plan_reuse``). With ``run_set: [planner=llm]``
    the report's token columns are the token economy."""


@dataclass
class CompareConfig:
    experience: str = "runs/train-slow"
    """Run folder whose store every memory is built from."""
    trunk: str = ""
    """A trained trunk folder to share; empty = train one by BC into OUT/trunk."""
    trunk_epochs: float = 4.0
    """BC epochs of the shared trunk when it is trained here."""
    tasks_file: str = DEFAULT_TASKS_FILE
    """YAML file with the task suite."""
    tasks: list[str] = field(default_factory=list)
    """Task ids to evaluate; empty means the whole suite."""
    seeds: str = "1000-1019"
    """Held-out seeds (refused when the experience holds any of them)."""
    attempts: int = 4
    """Attempts per trial for agents that sample (the paper's protocol)."""
    workers: int = 2
    """Agents evaluated at once (processes)."""
    validate_every: int = 10
    """About one episode in N per category (chosen by task and seed) is held out of every
    memory (forgetting matrix)."""
    consolidate: str = "configs/consolidate/default.yaml"
    """`peam consolidate` config the PEAM builds start from."""
    consolidate_set: list[str] = field(default_factory=list)
    """`peam consolidate` overrides for every PEAM build."""
    run_set: list[str] = field(default_factory=list)
    """`peam run` overrides for every agent (e.g. planner=llm)."""
    video: bool = True
    """Write one GIF per agent (its first task and seed)."""
    agents: dict[str, Any] = field(default_factory=dict)
    """Agents by name: each a mapping of AgentSpec keys (kind, variant, set, index, k, run_set)."""


def load_compare(path: str, overrides: list[str]) -> tuple[CompareConfig, dict[str, AgentSpec]]:
    cfg = load_dataclass(CompareConfig, path, overrides, "configs/compare/")
    if not cfg.agents:
        raise ConfigError(f"{path}: no agents; list them under agents: (see configs/compare/)")
    specs = {}
    for name, raw in cfg.agents.items():
        spec = build(AgentSpec, raw or {}, f"agents.{name}.")
        if spec.kind not in KINDS:
            raise ConfigError(f"agents.{name}.kind {spec.kind!r}; valid: {', '.join(KINDS)}")
        if spec.k < 1:
            raise ConfigError(f"agents.{name}.k must be >= 1, got {spec.k}")
        if spec.plans and spec.kind == "slow":
            raise ConfigError(f"agents.{name}.plans: a slow-tier agent has no memory to plan from")
        specs[str(name)] = spec
    if cfg.attempts < 1 or cfg.workers < 1:
        raise ConfigError("attempts and workers must be >= 1")
    return cfg, specs
