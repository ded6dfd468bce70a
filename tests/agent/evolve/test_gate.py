"""The evaluation gate's decision, candidates that wait for it, pinned versions, and the
trigger's like-with-like tests."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from agent.evolve.gate import decide, recount, tally
from agent.fast import registry
from agent.fast.config import FastConfig
from agent.fast.executor import FastExecutor, parse_pins
from agent.fast.routing import skill_rate
from consolidation.trigger import failure_jump, label_gap, teacher_gap
from memory.records import Failure, Subgoal
from memory.store import ExperienceStore
from tests.conftest import HashEmbedder, perturbed_adapter


def _side(per_task: dict[str, int]) -> dict:
    return {"successes": sum(per_task.values()), "episodes": 10, "per_task": per_task,
            "attempts": 10, "failed_attempts": 3}  # fmt: skip


def test_gate_publishes_only_when_not_worse_in_total_and_per_task():
    served = _side({"a": 5, "b": 5})
    assert decide(_side({"a": 6, "b": 5}), served, margin=1)["publish"]
    assert decide(_side({"a": 5, "b": 5}), served, margin=1)["publish"]  # ties publish
    assert not decide(_side({"a": 4, "b": 5}), served, margin=1)["publish"]  # fewer in total
    lopsided = decide(_side({"a": 8, "b": 3}), served, margin=1)  # more, but b drops by 2
    assert not lopsided["publish"] and "largest task drop 2" in lopsided["reason"]
    first = decide(_side({"a": 0}), None, margin=1)
    assert first["publish"] and first["served"] is None


def test_a_candidate_waits_for_its_gate_and_a_pin_plays_it(fast_dir, tmp_path):
    root = tmp_path / "fast"
    shutil.copytree(fast_dir, root)
    model, sha = perturbed_adapter(root, 0)
    version = registry.publish(model, "gather", root, sha, {"trainer": "t"}, serve=False)
    assert version == 2 and registry.latest(root, "gather") == 1  # not served yet
    registry.annotate(root, "gather", 2, {"gate": {"publish": False, "reason": "0 vs 1"}})
    rows = {r["version"]: r for r in registry.describe(root, "gather")}
    assert rows[2]["gate"]["reason"] == "0 vs 1" and not rows[2]["served"]
    pinned = FastExecutor(FastConfig(dir=str(root), device="cpu", pin="gather=2"), HashEmbedder())
    served = FastExecutor(FastConfig(dir=str(root), device="cpu"), HashEmbedder())
    assert pinned.versions["gather"] == 2 and served.versions["gather"] == 1
    assert pinned.refresh() == []  # a pinned category does not follow LATEST
    registry.serve(root, "gather", 2)  # a human forces it
    assert served.refresh() == ["gather"] and served.versions["gather"] == 2
    with pytest.raises(registry.RegistryError, match="no v9"):
        registry.serve(root, "gather", 9)


def test_pins_are_checked():
    assert parse_pins("gather=3, craft=v1") == {"gather": 3, "craft": 1}
    assert parse_pins("combat=none") == {"combat": None}
    assert parse_pins("") == {}
    for bad in ("gather", "mining=2", "gather=x", "gather=None"):
        with pytest.raises(ValueError, match="category=version"):
            parse_pins(bad)


def test_a_category_pinned_to_none_stays_with_the_slow_tier(fast_dir, tmp_path):
    # `peam curve` replays a round before a category's first version this way.
    root = tmp_path / "fast"
    shutil.copytree(fast_dir, root)
    config = FastConfig(dir=str(root), device="cpu", pin="gather=none")
    fast = FastExecutor(config, HashEmbedder())
    wood = Subgoal("collect", "wood", 4)
    assert "gather" not in fast.available and fast.covers(wood) is None
    served = FastExecutor(FastConfig(dir=str(root), device="cpu"), HashEmbedder())
    assert served.covers(wood) == "gather"  # the folder has a gather version
    model, sha = perturbed_adapter(root, 0)
    registry.publish(model, "gather", root, sha, {"trainer": "t"})  # a new version served
    assert fast.refresh() == [] and "gather" not in fast.available


def _attempt(tier: str, success: bool, corrects: int | None = None):
    return SimpleNamespace(tier=tier, success=success, corrects=corrects)


def test_teacher_gap_fires_while_the_fast_tier_fails_what_its_teacher_fixes():
    jump = failure_jump("gather", [True] * 8 + [False] * 2, [True] * 10, 1e-3)
    assert not jump.fire  # it cannot get worse than its gated 80% failure rate
    lagging = [_attempt("fast", False)] * 20 + [_attempt("slow", True, 1)] * 20
    decision = teacher_gap("gather", lagging, 1e-3, jump)
    assert decision.fire and decision.test == "teacher_gap"
    caught_up = [_attempt("fast", True)] * 18 + [_attempt("fast", False)] * 2
    caught_up += [_attempt("slow", True, 1)] * 2
    assert not teacher_gap("gather", caught_up, 1e-3, jump).fire


def test_label_gap_fires_while_the_fast_tier_errs_more_on_its_own_states():
    jump = failure_jump("craft", [True] * 5 + [False] * 5, [False] * 10, 1e-3)
    off_teacher = [True] * 300 + [False] * 700  # 30% of its own steps off the labels
    decision = label_gap("craft", off_teacher, (0.9, 1000), 1e-3, jump)  # 10% held out
    assert decision.fire and decision.test == "label_gap"
    assert decision.rate_recent == 0.3 and decision.n_baseline == 1000
    assert "off the teacher's labels" in decision.reason
    caught_up = [True] * 11 + [False] * 89
    assert not label_gap("craft", caught_up, (0.9, 1000), 1e-3, jump).fire


def test_the_fast_tier_takes_only_skills_its_version_passed_on_the_gate(fast_dir, tmp_path, capsys):
    root = tmp_path / "fast"
    shutil.copytree(fast_dir, root)
    stats = {"collect wood": [0, 10], "collect stone": [9, 10]}
    registry.annotate(root, "gather", 1, {"gate": {"candidate": {"skills": stats}}})
    wood, stone = Subgoal("collect", "wood", 4), Subgoal("collect", "stone", 1)
    sapling = Subgoal("collect", "sapling", 1)  # the gate never saw it: the slow tier does it
    peam = FastExecutor(FastConfig(dir=str(root), device="cpu"), HashEmbedder())
    assert peam.covers(wood) is None and peam.covers(stone) == "gather"
    assert peam.covers(sapling) is None
    assert peam.covers(Subgoal("make", "wood_pickaxe", 1)) == "craft"  # craft was never gated
    alone = FastExecutor(
        FastConfig(dir=str(root), device="cpu", min_skill_success=0.0), HashEmbedder()
    )
    assert alone.covers(wood) == alone.covers(sapling) == "gather"
    # `peam adapters list` shows the same routing under each gated version.
    from agent.cli import main

    assert skill_rate(9, 10) == 10 / 12 and skill_rate(0, 0) == 0.0
    assert main(["adapters", "list", "--run", str(root)]) == 0
    assert (
        "routing at fast.min_skill_success 0.8: fast tier: collect stone 9/10;"
        " slow tier: collect wood 0/10" in capsys.readouterr().out
    )
    assert main(["adapters", "list", "--run", str(root), "--min-skill-success", "0"]) == 0
    assert "fast tier: collect wood 0/10, collect stone 9/10; slow tier: none" in (
        capsys.readouterr().out
    )


def _gate_store(path, given_up: int, ok: int, stalled: int) -> None:
    """A craft gate run: ``make stone_pickaxe`` attempts of the fast tier that succeeded,
    were given up at their first step, or failed after acting."""
    path.parent.mkdir(parents=True)
    with ExperienceStore(path) as store:
        run = store.start_run("gate", {})
        pick = Subgoal("make", "stone_pickaxe", 1)
        for seed, (start, end, failure) in enumerate(
            [(0, 3, None)] * ok
            + [(5, 5, Failure("no_station", "no table in view"))] * given_up
            + [(5, 45, Failure("stalled", "no progress"))] * stalled
        ):
            ep = store.begin_episode(run, "make_stone_pickaxe", "craft", seed, "crafter", (4,))
            attempt = store.begin_attempt(ep, pick, "fast", start)
            store.end_attempt(attempt, end, failure is None, failure)
            store.end_episode(ep, failure is None, end, "success" if failure is None else "budget")


def test_routing_rates_a_skill_over_the_gate_attempts_that_acted(fast_dir, tmp_path, capsys):
    from agent.cli import main

    root = tmp_path / "fast"
    shutil.copytree(fast_dir, root)
    _gate_store(root / "gate" / "craft-v1" / "candidate" / "store.sqlite", 4, 4, 0)
    counted = tally(root / "gate" / "craft-v1" / "candidate" / "store.sqlite", "craft")
    assert counted["skills"] == {"make stone_pickaxe": [4, 8]}
    assert counted["given_up"] == {"make stone_pickaxe": 4}
    # A tally from before the count: every attempt is rated, 5/10 < 0.8.
    old = {k: v for k, v in counted.items() if k != "given_up"}
    registry.annotate(root, "craft", 1, {"gate": {"publish": True, "candidate": old}})
    pick = Subgoal("make", "stone_pickaxe", 1)
    assert (
        FastExecutor(FastConfig(dir=str(root), device="cpu"), HashEmbedder()).covers(pick) is None
    )
    assert main(["adapters", "recount", "--run", str(root)]) == 0
    assert "craft v1: given up at once {'make stone_pickaxe': 4}" in capsys.readouterr().out
    # Over the attempts that acted, 5/6 >= 0.8; route_acted off rates all of them again.
    peam = FastExecutor(FastConfig(dir=str(root), device="cpu"), HashEmbedder())
    assert peam.covers(pick) == "craft"
    every = FastExecutor(FastConfig(dir=str(root), device="cpu", route_acted=False), HashEmbedder())
    assert every.covers(pick) is None
    assert main(["adapters", "list", "--run", str(root)]) == 0
    assert "fast tier: make stone_pickaxe 4/4 (+4 given up at once)" in capsys.readouterr().out
    # A gate run that is not its version's is refused, and nothing is written: craft v1
    # (counted first, its run fits) keeps the notes it had.
    registry.annotate(root, "craft", 1, {"gate": {"publish": True, "candidate": old}})
    wrong = {"gate": {"candidate": {"skills": {"collect wood": [1, 1]}}}}
    registry.annotate(root, "gather", 1, wrong)
    shutil.copytree(root / "gate" / "craft-v1", root / "gate" / "gather-v1")
    before = registry.read_notes(root / "adapters" / "craft" / "v1" / registry.NOTES)
    with pytest.raises(ValueError, match="not the gate run of this version"):
        recount(root)
    assert registry.read_notes(root / "adapters" / "craft" / "v1" / registry.NOTES) == before
    assert "given_up" not in before["gate"]["candidate"]


def test_paired_changes_count_only_the_same_task_and_seed():
    from agent.evolve.loop import paired

    before = {("a", 0): False, ("a", 1): True, ("b", 0): True, ("a", 9): False}
    after = {("a", 0): True, ("a", 1): True, ("b", 0): False, ("a", 7): True}
    got = paired(before, after, {"a": "craft", "b": "gather"})
    assert (got["craft"]["better"], got["craft"]["worse"]) == (1, 0)
    assert (got["gather"]["better"], got["gather"]["worse"]) == (0, 1)
    assert got["craft"]["p"] == 1.0


def test_gate_refuses_a_candidate_whose_held_out_label_accuracy_fell():
    served = _side({"a": 8, "b": 8})
    tied = _side({"a": 8, "b": 8})  # the gate's games at the ceiling: no signal
    worse = decide(tied, served, margin=1, accuracy=(0.709, 0.684), accuracy_margin=0.0)
    assert not worse["publish"] and "70.9% -> 68.4%" in worse["reason"]
    assert decide(tied, served, margin=1, accuracy=(0.709, 0.684), accuracy_margin=3.0)["publish"]
    assert decide(tied, served, margin=1, accuracy=(0.709, 0.75), accuracy_margin=0.0)["publish"]
    unchecked = decide(tied, served, margin=1, accuracy=(0.709, 0.684), accuracy_margin=None)
    assert unchecked["publish"] and "accuracy" not in unchecked["reason"]
    unknown = decide(tied, served, margin=1, accuracy=(None, 0.5), accuracy_margin=0.0)
    assert unknown["publish"]  # versions trained without a validation split
    fewer = decide(_side({"a": 7, "b": 8}), served, 1, (0.70, 0.90), accuracy_margin=0.0)
    assert not fewer["publish"]  # accuracy does not buy back games


def test_gate_with_alpha_refuses_only_a_significant_fall_of_label_accuracy():
    served, tied = _side({"a": 8, "b": 8}), _side({"a": 8, "b": 8})
    acc = (0.748, 0.746)  # runs/loop8-gate20's combat v5: refused at margin 0 for 0.2 points
    noise = decide(tied, served, 1, acc, 0.0, discordant=(40, 43), accuracy_alpha=0.05)
    assert noise["publish"] and "40 states gained, 43 lost" in noise["reason"]
    real = decide(tied, served, 1, (0.709, 0.678), 0.0, discordant=(20, 60), accuracy_alpha=0.05)
    assert not real["publish"] and "McNemar p = " in real["reason"]
    strict = decide(tied, served, 1, acc, 0.0, discordant=(40, 43), accuracy_alpha=None)
    assert not strict["publish"]  # no alpha: the margin alone, as before
    old = decide(tied, served, 1, acc, 0.0, discordant=(None, None), accuracy_alpha=0.05)
    assert not old["publish"]  # a version trained before the counts were recorded
    within = decide(tied, served, 1, acc, 1.0, discordant=(0, 30), accuracy_alpha=0.05)
    assert within["publish"]  # inside the margin: significance is not asked
