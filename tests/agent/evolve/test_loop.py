"""`peam loop`: rounds of play -> label -> consolidate -> gate -> evaluate, resumable."""

from __future__ import annotations

import json
import sqlite3

import pytest

from agent.compare.stats import mcnemar
from agent.evolve.config import GateConfig, LoopConfig
from agent.evolve.loop import outcomes, run_loop
from agent.evolve.recurve import folder_name, replay
from consolidation.config import BCConfig, ConsolidateConfig, TrainerConfig, TriggerConfig
from envs.config import ConfigError, build
from memory.store import ExperienceStore

GAME = """backend: crafter
tasks:
  - id: crafter_game
    category: craft
    verifier: {kind: unlocked, name: all, count: 22}
    budget: 150
    description: Unlock as many of Crafter's 22 achievements as possible in one episode.
"""


def _config(tmp_path) -> LoopConfig:
    game = tmp_path / "game.yaml"
    game.write_text(GAME)  # the whole game, cut short
    cfg = LoopConfig(
        consolidate=ConsolidateConfig(
            trigger=TriggerConfig(alpha=0.05),
            trainer=TrainerConfig(bc=BCConfig(batch_size=64), updates=20, warmup=5),
            trunk=BCConfig(epochs=2.0, batch_size=64),
            device="cpu",
        ),
        gate=GateConfig(seeds="50000-50001"),
        train_seeds=3,
        eval_seeds="0-1",
        game_seeds=1,
        score_seeds="0",
        game_tasks_file=str(game),
        game_max_attempts=4,
    )
    cfg.run = build(type(cfg.run), {"tasks": ["collect_wood_4", "place_table"]})
    return cfg


def _episodes(out) -> list:
    with ExperienceStore(out / "store.sqlite") as store:
        return store.episodes()


def test_two_rounds_label_the_fast_tiers_states_gate_and_resume(tmp_path):
    out = tmp_path / "loop"
    curve = run_loop(_config(tmp_path), out, rounds=2, log=lambda _line: None)
    assert [r["round"] for r in curve["rounds"]] == [0, 1]
    for row in curve["rounds"]:
        for mode in ("fast", "peam"):
            assert set(row[mode]) == {"collect_wood_4", "place_table"}
            assert all(v["episodes"] == 2 for v in row[mode].values())
    assert json.loads((out / "learning_curve.json").read_text()) == curve
    assert (out / "learning_curve.png").stat().st_size > 0
    # Round 1 against round 0, paired by task and seed, per category (McNemar).
    change = curve["rounds"][1]["fast_vs_previous"]
    assert set(change) == {"craft", "gather"} and all(0 <= d["p"] <= 1 for d in change.values())
    assert "| total |" in (out / "learning_curve.md").read_text()
    # A full game per round trains (seed 20000 + round); after round 1 the fast tier alone
    # plays a held-out game and the round's Crafter score joins the curve.
    scored = [r for r in curve["rounds"] if "score" in r]
    assert scored and all(r["score"]["episodes"] == 1 for r in scored)
    assert all(0 <= r["score"]["score"] <= 100 for r in scored)
    # One game: every resample is that game, so the interval is the score itself.
    assert all(r["score"]["interval95"] == pytest.approx([r["score"]["score"]] * 2)
               for r in scored)  # fmt: skip
    assert "| Crafter score, fast tier alone |" in (out / "learning_curve.md").read_text()
    # What each round's PEAM left to the slow tier, counted from its evaluation's store.
    for row in curve["rounds"]:
        use = row["use"]["peam"]
        folder = out / "rounds" / f"r{row['round']}" / "eval-peam"
        with ExperienceStore(folder / "store.sqlite") as s:
            done = s.episodes()
            slow = [a for a in s.attempts() if a.tier == "slow"]
            assert use["games"] == len(done) == 4
            assert use["attempts"]["slow"] == use["handoffs"] + use["routed"] == len(slow)
            assert use["handoffs"] == sum(a.corrects is not None for a in slow)
            assert sum(use["actions"].values()) == sum(e.steps for e in done)
        assert row["use"]["fast"]["attempts"]["slow"] == 0  # the fast tier alone
    assert (
        "| PEAM: actions by the slow tier / the guard |" in (out / "learning_curve.md").read_text()
    )
    # Round 0: the slow tier alone; round 1: the fast tier with hand-off, every state it
    # visited labelled by the slow controller (DAgger), the guard's steps never.
    with ExperienceStore(out / "store.sqlite") as store:
        games = [e for e in store.episodes() if e.task_id == "crafter_game"]
        assert sorted(e.seed for e in games) == [20000, 20001]
        by_round = {e.id: e.seed in (10003, 10004, 10005, 20001) for e in store.episodes()}
        tiers = {(by_round[a.episode_id], a.tier) for a in store.attempts()}
        assert (False, "fast") not in tiers and (True, "fast") in tiers
        steps = [s for e in store.episodes() for s in store.steps(e.id, frames=False)]
        fast = [s for s in steps if s.actor == "fast"]
        assert fast and all(s.label for s in fast)
        assert all(s.label is None for s in steps if s.actor == "guard")
    # Every adapter version records its gate decision.
    from agent.fast import registry

    gated = [r for c in ("craft", "gather") for r in registry.describe(out, c)]
    for row in curve["rounds"]:  # what each round's evaluation played, not what is served now
        served = json.loads((out / "rounds" / f"r{row['round']}" / "served.json").read_text())
        assert row["served"] == served and served["craft"] is not None
    assert gated and all("gate" in r for r in gated)
    later = [r for r in gated if r["gate"]["served"] is not None]
    for r in later:  # the gate read the trainer's held-out accuracies of both versions
        ev = r["evaluation"]
        assert (
            f"{ev['val_accuracy_before']:.1%} -> {ev['val_accuracy_after']:.1%}"
            in r["gate"]["reason"]
        )
        # The same states paired: the counts the gate's McNemar test reads add up.
        gained = round((ev["val_accuracy_after"] - ev["val_accuracy_before"]) * ev["val_states"])
        assert ev["val_better"] - ev["val_worse"] == gained
        if r["gate"]["publish"] and gained < 0:  # a fall published only when not significant
            assert mcnemar(ev["val_better"], ev["val_worse"]) >= GateConfig().accuracy_alpha
    # `peam curve`: each round's served versions, pinned, play the held-out seeds again and
    # win exactly the episodes the round's own evaluation won (play is deterministic).
    replayed = replay(out, tmp_path / "curve", "0-1", reference=out / "rounds" / "r0" / "eval-peam")
    for mine, theirs in zip(replayed["rounds"], curve["rounds"], strict=True):
        assert mine["fast"] == theirs["fast"] and mine["served"] == theirs["served"]
        folder = tmp_path / "curve" / folder_name("fast", mine["served"])
        assert outcomes(folder) == outcomes(out / "rounds" / f"r{mine['round']}" / "eval-fast")
        assert set(mine["fast_vs_reference"]) == {"craft", "gather"}
    assert replayed["rounds"][1]["fast_vs_previous"] == curve["rounds"][1]["fast_vs_previous"]
    assert "Against the reference run" in (tmp_path / "curve" / "learning_curve.md").read_text()
    with pytest.raises(ConfigError, match="a replay of something else"):
        replay(out, tmp_path / "curve", "0-2", log=lambda _line: None)
    with pytest.raises(ConfigError, match="a replay of something else"):  # other rules
        replay(out, tmp_path / "curve", "0-1", log=lambda _line: None, today=True)
    # Started while the loop had finished round 0 only: a rerun adds the rounds since.
    record = tmp_path / "curve" / "source.json"
    first = json.loads(record.read_text())
    record.write_text(json.dumps({**first, "served": first["served"][:1]}))
    reference = out / "rounds" / "r0" / "eval-peam"
    extended = replay(out, tmp_path / "curve", "0-1", reference=reference, log=lambda _line: None)
    assert extended == replayed
    assert json.loads(record.read_text()) == first
    other = {**first["served"][0], "craft": 99}  # a round it did not play: something else
    record.write_text(json.dumps({**first, "served": [other]}))
    with pytest.raises(ConfigError, match="a replay of something else"):
        replay(out, tmp_path / "curve", "0-1", log=lambda _line: None)
    record.write_text(json.dumps(first))
    # With score seeds each round's versions also play the whole game: round 1's score on
    # the loop's own score seed comes out as the loop measured it.
    scoring = replay(out, tmp_path / "scores", "0-1", log=lambda _line: None, score_seeds="0")
    assert scoring["rounds"][1]["score"] == curve["rounds"][1]["score"]
    assert "score" not in replayed["rounds"][1]
    assert (
        "| Crafter score, fast tier alone |"
        in (tmp_path / "scores" / "learning_curve.md").read_text()
    )
    # Killed mid-game (an episode left running): the rerun replays that episode only.
    before = len(_episodes(out))
    (out / "rounds" / "r1" / "game.done").unlink()  # the last episode is round 1's game
    last = max(e.id for e in _episodes(out))
    db = sqlite3.connect(out / "store.sqlite")
    db.execute("UPDATE episodes SET status='running' WHERE id=?", (last,))
    db.commit()
    db.close()
    assert len(_episodes(out)) == before - 1
    again = run_loop(_config(tmp_path), out, rounds=2, log=lambda _line: None)
    assert len(_episodes(out)) == before and again["rounds"][0] == curve["rounds"][0]
    # Other settings on the same folder are refused before anything is played.
    other = _config(tmp_path)
    other.train_seeds = 4
    with pytest.raises(ConfigError, match="started with other settings"):
        run_loop(other, out, rounds=3, log=lambda _line: None)
    assert len(_episodes(out)) == before


def test_a_loop_saved_before_the_unstick_rule_is_replayed_without_it(tmp_path):
    from agent.evolve.recurve import loop_config

    (tmp_path / "loop_config.yaml").write_text("run:\n  fast:\n    temperature: 0.7\n")
    assert loop_config(tmp_path)["run"]["fast"] == {
        "temperature": 0.7,
        "unstick_after": 0,
        "unstick_blocked": False,  # nor the blocked-move rule
        "furnace_by_table": False,  # nor the furnace rule
        "route_acted": False,  # and its routing rated every gate attempt
    }
    (tmp_path / "loop_config.yaml").write_text(
        "run:\n  fast:\n    unstick_after: 3\n    unstick_blocked: true\n"
    )
    assert loop_config(tmp_path)["run"]["fast"]["unstick_after"] == 3
    assert loop_config(tmp_path)["run"]["fast"]["unstick_blocked"] is True
    assert loop_config(tmp_path)["run"]["controller"] == {
        "pillbox": False,  # nor the pocket
        "past_creatures": False,  # nor the way past creatures
        "burrow_checks": False,  # nor the burrow's checks
        "edge_craft": False,  # and made things on the world's edge
    }
    # stalls re-plan, and the fast tier alone stalls after 60 steps as it did with hand-off
    assert loop_config(tmp_path)["run"]["runner"] == {
        "stalls_replan": True,
        "alone_stall_steps": 60,
    }
    # By today's rules (`peam curve --today`) what the loop did not save takes today's
    # defaults; what it saved stays.
    assert loop_config(tmp_path, as_played=False)["run"] == {
        "fast": {"unstick_after": 3, "unstick_blocked": True}
    }
