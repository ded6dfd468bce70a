"""Every Crafter achievement can be planned; a task no planner can plan is refused before a
run writes anything; a planner that raises ends its episode, not the run; the score."""

from __future__ import annotations

import math

import numpy as np
import pytest
from crafter import constants

import envs
from agent.cli import main
from agent.compare.score import crafter_score, score_interval
from agent.loop.build import make_runner
from agent.loop.config import load_config
from agent.slow.navigation import DO, MOVE
from agent.slow.recipe_planner import CURRICULUM, RecipePlanner, plannable
from agent.slow.shelter import PLACE_STONE, Shelter, enclosed
from envs.map_memory import ID
from envs.tasks import load_tasks
from memory.store import EpisodeRecord, ExperienceStore

FULL = load_tasks("configs/tasks/crafter_full.yaml")


def test_the_full_suite_is_every_achievement_and_each_can_be_planned():
    assert sorted(FULL) == sorted(constants.achievements) == sorted(CURRICULUM)
    for task in FULL.values():
        assert plannable(task) is None, task.id


def test_an_unplannable_task_is_refused_before_anything_is_written(tmp_path, capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "tasks:\n  - {id: hoe, category: craft, budget: 9,"
        " verifier: {kind: achievement, name: make_diamond_hoe}}\n"
    )
    out = tmp_path / "run"
    assert main(["run", "--set", f"tasks_file={suite}", "--out", str(out)]) == 2
    assert "task 'hoe' cannot be planned: no recipe or source for item" in capsys.readouterr().err
    assert not out.exists()


def test_a_planner_error_fails_the_episode_with_its_reason(tmp_path):
    class Broken(RecipePlanner):
        def plan(self, task, view):
            raise KeyError("boom")

    cfg = load_config("configs/run/default.yaml")
    with ExperienceStore(tmp_path / "s.sqlite") as store:
        run = store.start_run("t", {})
        env = envs.make("crafter", max_episode_steps=50)
        result = make_runner(cfg, env, Broken(), store, run, None).run_episode(
            FULL["collect_wood"], 0
        )
        (episode,) = store.episodes()
    assert not result.success and episode.outcome == "planner error: KeyError: 'boom'"


@pytest.mark.parametrize(("task_id", "seed"), [("collect_sapling", 0), ("eat_cow", 1),
                                                ("collect_drink", 2), ("wake_up", 0)])  # fmt: skip
def test_the_fair_slow_tier_unlocks_survival_achievements(tmp_path, task_id, seed):
    cfg = load_config("configs/run/default.yaml")
    task = FULL[task_id]
    with ExperienceStore(tmp_path / "s.sqlite") as store:
        run = store.start_run("t", {})
        env = envs.make("crafter", max_episode_steps=task.budget)
        result = make_runner(cfg, env, RecipePlanner(), store, run, None).run_episode(task, seed)
        assert result.success, result.outcome
        assert task_id in store.episodes()[0].unlocked


def test_the_crafter_score_formula():
    none = dict.fromkeys(constants.achievements, 0.0)
    assert crafter_score(none) == pytest.approx(0.0)
    assert crafter_score(dict.fromkeys(constants.achievements, 1.0)) == pytest.approx(100.0)
    half = {a: (1.0 if i % 2 else 0.0) for i, a in enumerate(constants.achievements)}
    assert crafter_score(half) == pytest.approx(math.sqrt(101) - 1)


def _games(unlocked: list[tuple[str, ...]]) -> list[EpisodeRecord]:
    return [EpisodeRecord(i, "crafter_game", "game", i, "crafter", "done", None, 100, "died", u)
            for i, u in enumerate(unlocked)]  # fmt: skip


def test_the_score_interval_holds_the_score_and_narrows_with_more_games():
    wood, table = ("collect_wood",), ("collect_wood", "place_table")
    same = _games([table] * 5)
    score = crafter_score({"collect_wood": 1.0, "place_table": 1.0})
    assert score_interval(same) == pytest.approx((score, score))  # no spread, no interval
    few, many = _games([wood, table] * 5), _games([wood, table] * 50)
    point = crafter_score({"collect_wood": 1.0, "place_table": 0.5})
    lo, hi = score_interval(few)
    assert lo < point < hi
    lo2, hi2 = score_interval(many)
    assert lo < lo2 < point < hi2 < hi
    assert score_interval(many) == score_interval(many)  # seeded: the same every time
    # The same games finished in another order (more workers): the same interval.
    mixed = _games([wood] * 30 + [table] * 50 + [()] * 20)
    shuffled = [mixed[i] for i in np.random.default_rng(1).permutation(len(mixed))]
    assert score_interval(shuffled) == score_interval(mixed)


def test_a_burrow_is_found_in_stone_and_closes_the_player_in():
    world = np.full((12, 12), ID["grass"], dtype="int16")
    world[5:, :] = ID["stone"]  # a mountain below row 5
    shelter = Shelter()
    site = shelter._find(world, (3, 2))
    assert site is not None
    (ex, ey), (dx, dy) = site
    assert world[ex, ey] == ID["grass"] and world[ex + dx, ey + dy] == ID["stone"]
    # Dug and closed: the two mined cells are path, the entrance is stone again.
    s1, s2 = (ex + dx, ey + dy), (ex + 2 * dx, ey + 2 * dy)
    world[s1], world[s2], world[ex, ey] = ID["path"], ID["path"], ID["stone"]
    assert enclosed(world, s1, {s1, s2})
    world[ex, ey] = ID["grass"]
    assert not enclosed(world, s1, {s1, s2})


def _closed_burrow():
    world = np.full((12, 12), ID["grass"], dtype="int16")
    world[5:, :] = ID["stone"]
    shelter = Shelter()
    shelter.active, shelter.site = True, ((4, 3), (1, 0))  # entrance (4, 3), dug rightward
    world[5, 3], world[6, 3], world[4, 3] = ID["path"], ID["path"], ID["stone"]
    return world, shelter


def test_a_burrow_with_a_wall_opened_is_given_up_not_closed_again_and_again():
    """``controller.burrow_checks``: the way in mined through a side of the burrow leaves it
    open there. Before, the player stood at ``s1`` facing the entrance it had closed and
    placed the closing stone on it step after step until morning (ten games of the slow
    tier on seeds 0-399, nine of them lost); now it shelters anew."""
    leaky = ((4, 3), (1, 0))
    night = ((5, 3), (-1, 0), {"wood_pickaxe": 1, "stone": 3}, 0.1, 9)
    world, _ = _closed_burrow()
    world[5, 4] = ID["path"]  # a side of s1, mined on the way in
    assert not enclosed(world, (5, 3), {(5, 3), (6, 3)})
    for checks, closes in ((False, True), (True, False)):
        shelter = Shelter(checks=checks)
        shelter.active, shelter.site = True, leaky
        actions = [shelter.step(world, *night) for _ in range(3)]
        if closes:  # onto the stone already there, and again
            assert actions == [PLACE_STONE] * 3 and shelter.site == leaky
        else:  # another burrow, walls and all, and the way to it
            assert PLACE_STONE not in actions and shelter.site not in (None, leaky)
    # An intact burrow is closed as before: the entrance open, the player at s1 facing it.
    world, _ = _closed_burrow()
    world[4, 3] = ID["grass"]
    shelter = Shelter(checks=True)
    shelter.active, shelter.site = True, leaky
    assert shelter.step(world, *night) == PLACE_STONE and shelter.site == leaky


def test_a_zombie_in_the_burrow_is_struck_not_walked_into():
    """``controller.burrow_checks``: at ``s2`` the player steps back to ``s1`` to close the
    entrance; a zombie standing in ``s1`` blocks the step. Before, it walked into the
    zombie step after step (seed 28: 37 steps, at night); now it strikes it."""
    world, _ = _closed_burrow()
    world[4, 3], world[5, 3] = ID["grass"], ID["zombie"]  # entrance open, a zombie in s1
    night = ((6, 3), (-1, 0), {"wood_pickaxe": 1, "stone": 3}, 0.1, 9)  # at s2, facing s1
    for checks, action in ((False, MOVE[(-1, 0)]), (True, DO)):
        shelter = Shelter(checks=checks)
        shelter.active, shelter.site = True, ((4, 3), (1, 0))
        assert shelter.step(world, *night) == action


def test_a_zombie_in_the_doorway_leaves_the_burrow_open():
    world, _ = _closed_burrow()
    assert enclosed(world, (5, 3), {(5, 3), (6, 3)})
    world[4, 3] = ID["zombie"]  # the stone was never placed: a zombie stands there
    assert not enclosed(world, (5, 3), {(5, 3), (6, 3)})


def test_a_sapling_beside_the_burrow_leaves_it_open():
    """A zombie, skeleton or cow next to a sapling destroys it: not a wall (as in a pocket)."""
    world, _ = _closed_burrow()
    world[5, 2] = ID["plant"]  # beside s1, where the mountain's stone was
    assert not enclosed(world, (5, 3), {(5, 3), (6, 3)})


def test_with_nowhere_to_shelter_the_same_map_is_not_searched_again(monkeypatch):
    world = np.full((12, 12), ID["grass"], dtype="int16")  # no stone anywhere
    shelter = Shelter()
    searched = []
    find = shelter._find
    monkeypatch.setattr(shelter, "_find", lambda w, p: searched.append(p) or find(w, p))
    night = ((3, 3), (0, 1), {"wood_pickaxe": 1}, 0.1, 9)
    assert shelter.step(world, *night) is None and searched == [(3, 3)]
    assert shelter.step(world, *night) is None and searched == [(3, 3)]  # the same: skipped
    world[8:, :] = ID["stone"]  # a mountain seen since: searched again, and a burrow found
    assert shelter.step(world, *night) is not None and searched == [(3, 3), (3, 3)]


def test_a_sheltered_player_waits_in_the_morning_while_a_monster_is_in_view():
    world, shelter = _closed_burrow()
    night = shelter.step(world, (5, 3), (-1, 0), {"wood_pickaxe": 1}, 0.1, 9)
    assert night is not None  # inside at night: waits
    assert shelter.step(world, (5, 3), (-1, 0), {}, 0.7, 9, monster_in_view=True) is not None
    assert shelter.active
    assert shelter.step(world, (5, 3), (-1, 0), {}, 0.95, 9, monster_in_view=True) is None
    world, shelter = _closed_burrow()
    assert shelter.step(world, (5, 3), (-1, 0), {}, 0.7, 9, monster_in_view=False) is None


def test_a_later_morning_keeps_the_sheltered_player_in_until_that_much_daylight():
    """``controller.morning``: with no monster in view the player comes out at that
    daylight, not before; in full daylight (0.9) it comes out regardless."""
    world, shelter = _closed_burrow()
    shelter.morning = 0.85
    assert shelter.step(world, (5, 3), (-1, 0), {}, 0.7, 9) is not None  # still waits
    assert shelter.step(world, (5, 3), (-1, 0), {}, 0.8, 9) is not None
    assert shelter.step(world, (5, 3), (-1, 0), {}, 0.86, 9) is None  # out
    world, shelter = _closed_burrow()
    shelter.morning = 0.95
    assert shelter.step(world, (5, 3), (-1, 0), {}, 0.92, 9) is None  # full day: out anyway
