"""Scale-free self-triggered consolidation: per category, decide from statistics alone.

- A category **with** an adapter: a one-sided two-proportion z-test of its
  recent failure rate (attempts since its adapter was consolidated) against its
  own historical baseline (attempts before that). Fires when the recent rate is
  significantly higher at level ``alpha``.
- ... and, the same round, a test of what is left to learn: the served version's
  fast-tier failure rate since against the failure rate of the slow tier's
  corrections of those failures (the same subgoals, from the states where the fast
  tier gave up). Fires while the fast tier fails significantly more often than its
  teacher does on the same subgoals; stops once it has caught up.
- ... and, when neither fires, what is left to learn where the fast tier goes (DAgger):
  how often its action was not one of the teacher's equally good actions on the states
  it visited since publication, against how often the served version missed the
  teacher's labels on its held-out states when it was trained. Fires while it errs
  significantly more often on its own states than on the teacher's.
- A category **without** an adapter: a one-sided z-test that its verified
  success rate exceeds one half (successes outweigh failures) at level
  ``alpha``: enough consistent experience to learn from.

No count or rate threshold specific to a task appears: only the significance
level, so the same setting works at any volume of experience.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from consolidation.config import TriggerConfig


@dataclass(frozen=True)
class TriggerDecision:
    category: str
    fire: bool
    test: str
    """``failure_jump`` or ``teacher_gap`` (adapter served), ``enough_successes`` (none yet)."""
    z: float
    p_value: float
    n_recent: int
    n_baseline: int
    rate_recent: float
    rate_baseline: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _upper_tail(z: float) -> float:
    """P(Z >= z) for a standard normal."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def failure_jump(
    category: str, baseline: Sequence[bool], recent: Sequence[bool], alpha: float
) -> TriggerDecision:
    """``baseline``/``recent``: failure flags (True = the attempt failed verification)."""
    n1, n0 = len(recent), len(baseline)
    if n1 == 0 or n0 == 0:
        return TriggerDecision(
            category, False, "failure_jump", 0.0, 1.0, n1, n0,
            sum(recent) / n1 if n1 else 0.0, sum(baseline) / n0 if n0 else 0.0,
            "no recent outcomes yet" if n1 == 0 else "no baseline outcomes yet",
        )  # fmt: skip
    p1, p0 = sum(recent) / n1, sum(baseline) / n0
    pooled = (sum(recent) + sum(baseline)) / (n1 + n0)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    z = (p1 - p0) / se if se > 0 else 0.0
    p = _upper_tail(z)
    fire = p < alpha
    why = (
        f"recent failure rate {p1:.2f} (n={n1}) vs baseline {p0:.2f} (n={n0}): "
        f"z={z:.2f}, p={p:.2g} {'<' if fire else '>='} alpha={alpha}"
    )
    return TriggerDecision(category, fire, "failure_jump", z, p, n1, n0, p1, p0, why)


def label_gap(
    category: str,
    off_label: Sequence[bool],
    held_out: tuple[float, int],
    alpha: float,
    jump: TriggerDecision,
) -> TriggerDecision:
    """``off_label``: per fast-tier step since publication, True when the action taken was
    not in the teacher's label; ``held_out``: (label accuracy, states) of the served version
    on its validation states; ``jump``: the earlier tests' decision, quoted in the reason."""
    accuracy, n = held_out
    k = round((1.0 - accuracy) * n)
    gap = failure_jump(category, [True] * k + [False] * (n - k), off_label, alpha)
    why = (
        f"{jump.reason}; off the teacher's labels on its own states {gap.rate_recent:.3f}"
        f" (n={gap.n_recent}) vs held out when trained {gap.rate_baseline:.3f}"
        f" (n={gap.n_baseline}): z={gap.z:.2f}, p={gap.p_value:.2g}"
        f" {'<' if gap.fire else '>='} alpha={alpha}"
    )
    return replace(gap, test="label_gap", reason=why)


def enough_successes(category: str, outcomes: Sequence[bool], alpha: float) -> TriggerDecision:
    """``outcomes``: success flags of the category's verified-or-failed attempts."""
    n = len(outcomes)
    if n == 0:
        return TriggerDecision(
            category, False, "enough_successes", 0.0, 1.0, 0, 0, 0.0, 0.0, "no attempts yet"
        )
    rate = sum(outcomes) / n
    z = (rate - 0.5) / math.sqrt(0.25 / n)
    p = _upper_tail(z)
    fire = p < alpha
    why = (
        f"success rate {rate:.2f} over {n} attempts vs 0.5: z={z:.2f}, p={p:.2g} "
        f"{'<' if fire else '>='} alpha={alpha}"
    )
    return TriggerDecision(category, fire, "enough_successes", z, p, n, 0, rate, 0.5, why)


def fixed_threshold(
    category: str, outcomes: Sequence[bool], served: bool, config: TriggerConfig
) -> TriggerDecision:
    """The fixed-threshold variant: a count and a rate, the same at every volume.

    ``outcomes``: success flags of the attempts the served adapter has not seen
    (all of them when none is served). Fires when there are ``min_attempts`` of
    them and, with an adapter served, their failure rate exceeds ``max_failure_rate``.
    """
    n = len(outcomes)
    rate = 1 - sum(outcomes) / n if n else 0.0
    enough = n >= config.min_attempts
    fire = enough and (not served or rate > config.max_failure_rate)
    why = f"{n} new attempts (threshold {config.min_attempts}), failure rate {rate:.2f}" + (
        f" (threshold {config.max_failure_rate})" if served else ""
    )
    return TriggerDecision(category, fire, "fixed_threshold", 0.0, 1.0, n, 0, rate, 0.0, why)


def teacher_gap(
    category: str, since: Sequence[Any], alpha: float, jump: TriggerDecision
) -> TriggerDecision:
    """The fast tier's failures since publication vs its slow-tier corrections' failures
    (``since``: the category's attempt records since the served version; ``jump``: the
    degradation test's decision, quoted in the reason)."""
    fast = [not a.success for a in since if a.tier == "fast"]
    fixes = [not a.success for a in since if a.tier == "slow" and a.corrects is not None]
    gap = failure_jump(category, fixes, fast, alpha)
    why = f"{jump.reason}; fast tier vs the slow tier's corrections: {gap.reason}"
    return replace(gap, test="teacher_gap", reason=why)
