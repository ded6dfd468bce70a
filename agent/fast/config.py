"""Settings of the fast tier (executor, policy shape): torch-free, so `--help` stays fast."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from envs.schema import ITEMS, STATUS


@dataclass
class FastConfig:
    dir: str = ""
    """Folder written by `peam train-fast`; empty = no fast tier (the slow tier does everything)."""
    device: str = "auto"
    """auto = CUDA when present (bf16 autocast there), else CPU."""
    temperature: float = 0.7
    """Sampling temperature over the action logits; 0 = always the most likely action."""
    threads: int = 1
    """torch CPU threads for inference (one is fastest for batch-1 decisions)."""
    gate: bool = False
    """Route subgoals whose category has no adapter through the learned gate."""
    gate_threshold: float = 0.5
    """Least gate probability for a gated subgoal to go to the fast tier."""
    seed: int = 0
    """Mixed into the action-sampling seed (which is per subgoal text): a retry of a trial
    with another seed samples other actions."""


@dataclass
class PolicyConfig:
    image_size: int = 64
    """Height and width of the rgb input."""
    text_dim: int = 384
    """Size of the subgoal text embedding (all-MiniLM-L6-v2: 384)."""
    state_dim: int = len(ITEMS) + len(STATUS) + 17 + 1
    """Inventory counts, status values, then the last action one-hot (none = the last slot)."""
    hidden: int = 128
    """Width of the fused trunk."""
    n_actions: int = 17
    """Size of the backend's discrete action space."""

    def to_dict(self) -> dict[str, int]:
        return asdict(self)
