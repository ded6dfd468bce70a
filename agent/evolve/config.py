"""Settings of `peam loop` and its evaluation gate (torch-free, so `--help` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.loop.config import RunConfig
from consolidation.config import ConsolidateConfig


@dataclass
class GateConfig:
    seeds: str = "50000-50007"
    """The gate's reserved seed block: never used for training or testing."""
    margin: int = 1
    """Most successes one task may lose on the gate seeds for a candidate to be published."""
    accuracy_margin: float | None = 0.0
    """Most points the candidate's label accuracy on the round's held-out states may fall
    below the served version's for it to be published; None = not checked (as before: the
    combat gate of ``runs/loop6-t07`` tied at 15-16 of 16 and published versions whose
    accuracy fell 70.9% -> 68.4% and 65.5% -> 62.2%)."""
    accuracy_alpha: float | None = 0.05
    """A fall beyond ``accuracy_margin`` refuses the candidate only when it is significant:
    paired over the held-out states (those only one of the two acts as taught on), two-sided
    exact McNemar p below this; None = any fall beyond the margin refuses (``runs/loop8-gate20``
    refused combat v5, which won the gate's games 40 vs 38, for 74.8% -> 74.6%)."""


@dataclass
class LoopConfig:
    run: RunConfig = field(default_factory=RunConfig)
    """How episodes are played (backend, tasks, budgets); its seeds are unused: see below."""
    consolidate: ConsolidateConfig = field(default_factory=ConsolidateConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    train_seeds: int = 20
    """Fresh training seeds per task per round: round r plays train_base + r * train_seeds on."""
    train_base: int = 10000
    """First training seed (round 0 is the slow tier alone; later rounds the fast tier with
    hand-off, every visited state labelled by the slow controller)."""
    eval_seeds: str = "0-19"
    """Held-out seeds: after every round the fast tier alone and PEAM play them."""
    game_seeds: int = 0
    """Full-game training episodes per round (``game_tasks_file``), seeds game_base +
    r * game_seeds on: the fast tier meets every subgoal the whole game asks for (eat,
    drink, sleep, saplings, swords), not only the task suite's; 0 = none."""
    game_base: int = 20000
    """First full-game training seed."""
    score_seeds: str = ""
    """Held-out full-game seeds: after every round the fast tier alone plays them and the
    round's Crafter score is recorded (``agent.compare.score``); empty = not measured."""
    game_tasks_file: str = "configs/tasks/crafter_game.yaml"
    """The whole game as one task (``peam score`` plays it)."""
    game_max_attempts: int = 3000
    """Attempts one full-game episode may hold (a 10,000-step game holds many subgoals)."""
