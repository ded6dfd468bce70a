from __future__ import annotations

from collections import Counter

import pytest
from crafter import constants

from agent.slow.recipe_planner import SOURCES, RecipePlanner
from envs.tasks import load_tasks
from envs.text import Sighting, TextView
from memory.records import Failure, Subgoal

TASKS = load_tasks()
EMPTY = TextView(inventory={}, status={}, position=(0.0, 0.0, 0.0), nearby={})


def _execute_symbolically(plan: list[Subgoal], inventory: Counter, stations: set[str]):
    """Play a plan on the recipe rules alone; fail loudly on any infeasible step."""
    placed: Counter = Counter()
    for sg in plan:
        if sg.skill == "collect":
            for tool, n in constants.collect[SOURCES[sg.target]]["require"].items():
                assert inventory[tool] >= n, f"{sg.text} without {tool}"
            inventory[sg.target] = max(inventory[sg.target], sg.count)
        elif sg.skill == "place":
            for item, n in constants.place[sg.target]["uses"].items():
                assert inventory[item] >= n, f"{sg.text} without {n} {item}"
                inventory[item] -= n
            stations.add(sg.target)
            placed[sg.target] += 1
        elif sg.skill == "make":
            rule = constants.make[sg.target]
            assert set(rule["nearby"]) <= stations, f"{sg.text} without {rule['nearby']}"
            for item, n in rule["uses"].items():
                assert inventory[item] >= n, f"{sg.text} without {n} {item}"
                inventory[item] -= n
            inventory[sg.target] += rule["gives"]
    return inventory, placed


@pytest.mark.parametrize("task_id", [t for t in TASKS if TASKS[t].category != "combat"])
def test_plan_is_feasible_and_reaches_the_goal(task_id):
    task = TASKS[task_id]
    plan = RecipePlanner().plan(task, EMPTY)
    inventory, placed = _execute_symbolically(plan, Counter(), set())
    v = task.verifier
    if v.kind == "inventory":
        assert inventory[v.name] >= v.count
    elif v.name.startswith("place_"):
        assert placed[v.name.removeprefix("place_")] >= v.count
    else:
        assert inventory[v.name.removeprefix("make_")] >= v.count


@pytest.mark.parametrize("creature", ["zombie", "skeleton"])
def test_combat_plan_arms_then_defeats(creature):
    plan = RecipePlanner().plan(TASKS[f"defeat_{creature}"], EMPTY)
    inventory, _ = _execute_symbolically(plan[:-1], Counter(), set())
    sword = {"zombie": "wood_sword", "skeleton": "stone_sword"}[creature]
    assert inventory[sword] == 1  # one hit fells a skeleton with a stone sword
    assert plan[-1] == Subgoal("defeat", creature, 1, "combat")


def test_plan_reuses_what_is_held_and_nearby():
    view = TextView({"wood": 5, "wood_pickaxe": 1}, {}, (0, 0, 0), {"table": Sighting(2, 1, 1)})
    plan = RecipePlanner().plan(TASKS["make_stone_pickaxe"], view)
    # A wood sword first (past the first pickaxe the player meets zombies), at that table.
    assert [s.text for s in plan] == [
        "make wood_sword x1",
        "collect stone x1",
        "make stone_pickaxe x1",
    ]


def test_categories_follow_skills():
    plan = RecipePlanner().plan(TASKS["make_iron_pickaxe"], EMPTY)
    assert {s.category for s in plan if s.skill == "collect"} == {"gather"}
    assert {s.category for s in plan if s.skill in ("make", "place")} == {"craft"}


def test_correct_missing_item_obtains_it_then_retries():
    planner = RecipePlanner()
    failed = Subgoal("collect", "stone", 1)
    failure = Failure(
        "missing_item", "needs wood_pickaxe", EMPTY, {"item": "wood_pickaxe", "count": 1}
    )
    fixed = planner.correct(failed, failure)
    assert fixed[-1] == failed
    assert Subgoal("make", "wood_pickaxe", 1) in fixed


TOOLS = {"wood_pickaxe": 1, "stone_pickaxe": 1}


def test_correct_no_station_places_it_then_retries():
    view = TextView({"wood": 1, "coal": 1, "iron": 1, "stone": 4, **TOOLS}, {}, (0, 0, 0), {})
    failed = Subgoal("make", "iron_pickaxe", 1)
    failure = Failure("no_station", "no furnace", view, {"stations": ["furnace"]})
    fixed = RecipePlanner().correct(failed, failure)
    assert fixed == [Subgoal("place", "furnace", 1), failed]


def test_correct_no_table_gathers_the_wood_the_table_would_take():
    # A new table takes both logs: the pickaxe still needs one, so three are gathered
    # first, and the make follows the placing at once (no walk to a tree in between).
    view = TextView({"wood": 1, "stone": 1, **TOOLS}, {}, (0, 0, 0), {})
    failed = Subgoal("make", "stone_pickaxe", 2)
    failure = Failure("no_station", "no table in view", view, {"stations": ["table"]})
    fixed = RecipePlanner().correct(failed, failure)
    assert fixed == [Subgoal("collect", "wood", 3), Subgoal("place", "table", 1), failed]
    _execute_symbolically(fixed, Counter(view.inventory), set())


def test_correct_after_budget_re_resolves_from_current_inventory():
    view = TextView({"wood": 0}, {}, (0, 0, 0), {})
    failed = Subgoal("make", "wood_pickaxe", 1)
    fixed = RecipePlanner().correct(failed, Failure("budget", "ran out", view))
    assert fixed[-1] == failed and fixed[0].skill == "collect"
