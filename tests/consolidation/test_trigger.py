"""The scale-free trigger: quiet on stationary streams, fires on a jump, at x1 and x100 volume."""

from __future__ import annotations

import numpy as np
import pytest

from consolidation.config import TriggerConfig
from consolidation.trigger import enough_successes, failure_jump, fixed_threshold

ALPHA = TriggerConfig().alpha


def _fires_along(stream: np.ndarray, mark: int) -> list[bool]:
    """Run the trigger as a daemon would: at 10 checkpoints as the recent part grows."""
    fired = []
    for end in np.linspace(mark + 1, len(stream), 10).astype(int):
        fired.append(failure_jump("gather", stream[:mark], stream[mark:end], ALPHA).fire)
    return fired


@pytest.mark.parametrize("scale", [1, 100])
def test_quiet_on_stationary_failure_streams(scale):
    for seed in range(20):
        rng = np.random.default_rng(seed)
        rate = rng.uniform(0.05, 0.5)
        stream = rng.random(400 * scale) < rate
        assert not any(_fires_along(stream, 200 * scale)), (seed, rate)


@pytest.mark.parametrize("scale", [1, 100])
def test_fires_on_an_injected_jump_in_failure_rate(scale):
    for seed in range(20):
        rng = np.random.default_rng(seed)
        before = rng.random(200 * scale) < 0.2
        after = rng.random(200 * scale) < 0.6
        fired = _fires_along(np.concatenate([before, after]), 200 * scale)
        assert fired[-1], seed
    decision = failure_jump(
        "gather", [False] * 150 + [True] * 50, [True] * 30 + [False] * 20, ALPHA
    )
    assert decision.fire and decision.z > 3 and "z=" in decision.reason


def test_a_drop_in_failure_rate_does_not_fire():
    decision = failure_jump("craft", [True] * 60 + [False] * 40, [False] * 90 + [True] * 10, ALPHA)
    assert not decision.fire and decision.z < 0


def test_no_outcomes_means_no_decision_to_consolidate():
    assert not failure_jump("craft", [True] * 10, [], ALPHA).fire
    assert not enough_successes("combat", [], ALPHA).fire


@pytest.mark.parametrize("scale", [1, 100])
def test_new_category_is_consolidated_once_successes_suffice(scale):
    rng = np.random.default_rng(0)
    good = list(rng.random(30 * scale) < 0.95)
    poor = list(rng.random(30 * scale) < 0.4)
    assert enough_successes("combat", good, ALPHA).fire
    assert not enough_successes("combat", poor, ALPHA).fire
    assert not enough_successes("combat", good[:3], ALPHA).fire  # three are not evidence


def test_fixed_threshold_variant_depends_on_volume_not_statistics():
    cfg = TriggerConfig(kind="fixed", min_attempts=100, max_failure_rate=0.25)
    # A category without an adapter: fires at the count, whatever the evidence.
    assert not fixed_threshold("craft", [True] * 99, False, cfg).fire
    assert fixed_threshold("craft", [True] * 60 + [False] * 40, False, cfg).fire
    # With an adapter: count and failure rate both past their thresholds.
    assert not fixed_threshold("craft", [True] * 80 + [False] * 20, True, cfg).fire
    assert fixed_threshold("craft", [True] * 70 + [False] * 30, True, cfg).fire
    # The same jump at x1 volume that the scale-free test fires on stays quiet below the count.
    assert not fixed_threshold("craft", [False] * 50, True, cfg).fire
