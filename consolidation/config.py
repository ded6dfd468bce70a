"""Settings of consolidation: BC, the trainer, PW, the trigger, the daemon, fast-tier training
and the single-model variants. Torch-free, so `--help` stays fast."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.fast.config import PolicyConfig
from envs.tasks import CATEGORIES


@dataclass
class BCConfig:
    epochs: float = 3.0
    """Passes over the data (fractions allowed)."""
    batch_size: int = 256
    """Steps per update."""
    lr: float = 1e-3
    """AdamW learning rate (cosine decay to 0 over the run)."""
    weight_decay: float = 1e-4
    """AdamW weight decay."""
    seed: int = 0
    """Seeds the initial weights and the batch order."""
    log_every: int = 10
    """Updates per entry in the logged loss curve."""


@dataclass
class TrainerConfig:
    bc: BCConfig = field(default_factory=lambda: BCConfig(lr=2e-3))
    """Batch size, learning rate and seed of a round (its ``epochs`` is unused: see
    ``updates``)."""
    updates: int = 300
    """The round's fixed update budget (the same however much data there is)."""
    warmup: int = 30
    """Updates over which the learning rate rises linearly from 0 (then cosine decay)."""
    dpo_weight: float = 0.5
    """Weight of the per-step preference term on failure-correction pairs."""
    dpo_beta: float = 0.5
    """DPO's beta: how sharply the margin over the reference (the served version) counts."""
    bc_only: bool = False
    """Behaviour cloning alone (the comparison variant)."""
    pairs_per_update: int = 128
    """Failure-correction pairs (states) sampled per update for the preference term."""
    kl_weight: float = 1.0
    """Weight of the trust region: KL(served version || candidate) on replay states."""
    kl_batch: int = 128
    """Replay states per update for the trust region."""
    checkpoint_every: int = 25
    """Updates between resumable checkpoints."""


@dataclass
class TriggerConfig:
    alpha: float = 1e-4
    """Significance level of both tests."""
    kind: str = "scale_free"
    """scale_free (the z-tests above) or fixed (the comparison variant: fixed thresholds)."""
    min_attempts: int = 500
    """fixed: attempts (new since the served adapter) needed before it may fire."""
    max_failure_rate: float = 0.25
    """fixed, adapter served: fire when the new attempts fail more often than this."""


@dataclass
class PWConfig:
    cost: float = 1.0
    """Weight of the cost saved (slow-tier tokens and latency x recurrence)."""
    stability: float = 0.0
    """Weight of stability (how consistently the skill succeeds). 0 by default: it ranks
    the states of the skills that fail most (the ones left to learn) last, and the
    teacher's labels are as good there as anywhere (`benchmarks/pw_budget.py`)."""
    redundancy: float = 1.0
    """Weight of non-redundancy (what the served adapter does not cover yet)."""
    interference: float = 0.0
    """Weight of low interference with other categories. 0 by default: the adapters are
    physically isolated, so one category's training cannot disturb another's, and the
    states most like other categories' data are a category's hardest (crafting an iron
    pickaxe in the mines looks like mining)."""
    agreement: float = 0.0
    """Weight of agreement (a step on the state helps the category's other new episodes,
    ``consolidation.agreement``). 0 by default: ahead off-line (craft 87.4% vs 85.2% label
    accuracy) but level in play (1425 vs 1429 of 1,600 games, `benchmarks/pw_budget.py`)."""
    select: float = 0.7
    """Fraction of the category's new labelled states (top PW) a round trains on."""
    drop_unseen: bool = True
    """Drop states whose label depends on what the memory has not seen (flagged when a
    privileged teacher labels, ``runner.teacher_sees: world``; with the default fair teacher
    there are none) before ranking, new and replayed alike."""


@dataclass
class ConsolidateConfig:
    trigger: TriggerConfig = field(default_factory=TriggerConfig)
    pw: PWConfig = field(default_factory=PWConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    trunk: BCConfig = field(default_factory=lambda: BCConfig(epochs=4.0))
    """Behaviour cloning of the trunk when the run has none yet."""
    tiers: tuple[str, ...] = ("slow", "fast")
    """Whose attempts' labelled states a round learns from (every state carries the slow
    controller's label; the guard's steps never count)."""
    select_by_pw: bool = True
    """False: train on every new labelled state of the category (the no-PW variant)."""
    replay_per_skill: int = 2000
    """States per subgoal kept from earlier rounds and trained on again (the replay)."""
    validate_every: int = 10
    """Hold out about one episode in N of the category (chosen by task and seed) to evaluate
    before/after."""
    max_transitions: int | None = 200_000
    """Most labelled steps read from the store (a subsample beyond)."""
    device: str = "auto"
    """auto (CUDA when present, bf16 autocast there), cpu or cuda."""
    categories: tuple[str, ...] = CATEGORIES
    """Categories the daemon decides for, each with its own adapter."""


@dataclass
class FastTrainConfig:
    trunk: BCConfig = field(default_factory=lambda: BCConfig(epochs=4.0))
    adapter: BCConfig = field(default_factory=lambda: BCConfig(epochs=2.0, lr=2e-3))
    lora_rank: int = 8
    """Rank of every LoRA adapter."""
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    max_transitions: int | None = 300_000
    """Most labelled steps read from the stores (a subsample beyond)."""
    device: str = "auto"
    """auto (CUDA when present, bf16 autocast there), cpu or cuda."""
    validate_every: int = 10
    """Hold out about one episode in N (chosen by task and seed) to report validation
    accuracy (0: train on all)."""
    categories: tuple[str, ...] = CATEGORIES
    """Categories that get an adapter."""
    drop_unseen: bool = True
    """Leave out states whose label depends on what the memory had not seen (a privileged
    teacher's, ``runner.teacher_sees: world``), as ``consolidate.pw.drop_unseen`` does in
    later rounds; the fair teacher's labels never are."""


@dataclass
class SingleConfig:
    bc: BCConfig = field(default_factory=lambda: BCConfig(epochs=2.0, lr=2e-3))
    """Behaviour cloning per stage (the shared adapter; full fine-tuning uses full_lr)."""
    full_lr: float = 1e-3
    """Learning rate of full fine-tuning (the trunk's weights train)."""
    ewc_lambda: float = 100.0
    """Weight of EWC's anchor: lambda/2 * sum F (theta - theta*)^2."""
    fisher_samples: int = 1024
    """Steps used to estimate EWC's Fisher information."""
