"""The deliberate controller on fixed seeds, run through the real runner and verified by the env."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import envs
from agent.loop.runner import EpisodeRunner
from agent.slow.config import ControllerConfig
from agent.slow.controller import DeliberateController
from agent.slow.navigation import ID
from agent.slow.recipe_planner import RecipePlanner
from envs.crafter_env import ACTIONS
from envs.tasks import load_tasks
from memory.records import Subgoal
from memory.store import ExperienceStore

TASKS = load_tasks()


def _runner(tmp_path: Path, budget: int) -> EpisodeRunner:
    store = ExperienceStore(tmp_path / "store.sqlite")
    run_id = store.start_run("t", {})
    env = envs.make("crafter", max_episode_steps=budget)
    return EpisodeRunner(env, RecipePlanner(), DeliberateController(), store, run_id, "crafter")


@pytest.mark.parametrize(
    ("task_id", "seeds"),
    [
        ("place_table", [0, 1, 2]),
        ("collect_wood_4", [0, 1]),
        ("make_wood_pickaxe", [3]),
        ("collect_coal", [4]),
        ("make_stone_pickaxe", [5]),
        ("place_furnace", [6]),
        ("make_iron_pickaxe", [7]),
        ("defeat_zombie", [0]),
    ],
)
def test_controller_solves_task_on_fixed_seeds(tmp_path, task_id, seeds):
    task = TASKS[task_id]
    runner = _runner(tmp_path, task.budget)
    for seed in seeds:
        result = runner.run_episode(task, seed)
        assert result.success, f"{task_id} seed {seed}: {result.outcome}"
        assert result.steps < task.budget


def test_gives_up_with_reason_when_a_tool_is_missing():
    env = envs.make("crafter")
    obs, info = env.reset(seed=0)
    controller = DeliberateController()
    controller.begin(Subgoal("collect", "iron", 1))
    decision = controller.act(obs, info)
    assert decision.action is None
    assert decision.give_up.code == "missing_item"
    assert decision.give_up.data == {"item": "stone_pickaxe", "count": 1}


def test_gives_up_when_a_station_is_absent():
    env = envs.make("crafter")
    obs, info = env.reset(seed=0)
    info["inventory"] = dict(info["inventory"], wood=1)
    controller = DeliberateController()
    controller.begin(Subgoal("make", "wood_pickaxe", 1))
    decision = controller.act(obs, info)
    assert decision.give_up.code == "no_station"
    assert decision.give_up.data["stations"] == ["table"]


def test_the_guard_leaves_a_remembered_station_to_the_policy_when_configured():
    env = envs.make("crafter")
    obs, info = env.reset(seed=0)
    info["inventory"] = dict(info["inventory"], wood=1)
    px, py = (int(v) for v in info["player_pos"])
    memory = info["map"]
    memory.grid[px + 8, py] = memory.ground[px + 8, py] = ID["table"]  # seen, out of view now
    memory.last_seen[px + 8, py] = 0
    sg = Subgoal("make", "wood_pickaxe", 1)
    in_view = DeliberateController()
    in_view.begin(sg)
    assert in_view.guard(obs, info).give_up.code == "no_station"
    remembered = DeliberateController(ControllerConfig(guard_stations="remembered"))
    remembered.begin(sg)
    assert remembered.guard(obs, info) is None  # the policy walks back to the table
    memory.grid[px + 8, py] = memory.ground[px + 8, py] = ID["grass"]
    assert remembered.guard(obs, info).give_up.data["stations"] == ["table"]  # none known
    with pytest.raises(ValueError, match="in_view or remembered"):
        DeliberateController(ControllerConfig(guard_stations="anywhere"))


def test_drinks_when_thirsty():
    env = envs.make("crafter")
    obs, info = env.reset(seed=3)
    env.unwrapped._env._player.inventory["drink"] = 2
    controller = DeliberateController()
    controller.begin(Subgoal("collect", "wood", 9))
    for _ in range(60):
        decision = controller.act(obs, info)
        obs, *_, info = env.step(decision.action)
    assert info["status"]["drink"] >= 5


def test_roams_when_no_creature_to_fight_can_be_found():
    obs, info = envs.make("crafter", sees="world").reset(seed=0)
    world = info["map"].grid  # the oracle's map: the whole world
    world[world == ID["skeleton"]] = ID["path"]  # no skeleton anywhere: wait where they come
    controller = DeliberateController(ControllerConfig(sees="world"))
    controller.begin(Subgoal("defeat", "skeleton", 1))
    decision = controller.act(obs, info)
    assert decision.action is not None and decision.give_up is None
    # Any step onto open ground is as good as the one drawn: the label keeps them all.
    assert decision.action in controller.choices and len(controller.choices) >= 2


def test_turns_to_face_a_block_it_can_dig_instead_of_walking_around():
    import numpy as np

    from agent.slow.navigation import DIG, FREE, MOVE, route

    grid = np.full((5, 5), FREE, dtype=np.int8)
    grid[2, 1] = DIG  # stone above the player at (2, 2), who holds a pickaxe and faces right
    stone = {(2, 1)}

    def facing_stone(x, y, fx, fy):
        return (x + fx, y + fy) in stone

    path, first = route(grid, (2, 2), (1, 0), facing_stone, ties=True)
    assert path == [MOVE[(0, -1)]] and first == {MOVE[(0, -1)]}  # one turn, then `do`


def test_tops_up_drink_in_the_evening_but_not_in_the_morning():
    def first_step(daylights: list[float]) -> bool:
        env = envs.make("crafter")
        obs, info = env.reset(seed=3)
        info["status"]["drink"] = 7  # above drink_low, at dusk_drink
        controller = DeliberateController()
        controller.begin(Subgoal("collect", "wood", 9))
        for daylight in daylights:
            controller.act(obs, {**info, "daylight": daylight})
        return controller.reflexive

    assert first_step([0.9, 0.8])  # falling: evening, go to water first
    assert not first_step([0.7, 0.8])  # rising: morning, the subgoal goes on
    assert not first_step([0.9, 0.3])  # night: the burrow, not the water (none dug here)


def test_a_fight_within_reach_comes_before_a_drink_errand_unless_drink_is_urgent():
    from crafter import objects

    def reflexive(drink: int, reach: int) -> bool:
        env = envs.make("crafter")
        env.reset(seed=3)
        world = env.unwrapped._env._world
        player = env.unwrapped._env._player
        x, y = player.pos
        spot = next(
            (x + dx, y + dy)
            for dx, dy in ((3, 0), (-3, 0), (0, 3), (0, -3), (2, 1), (-2, 1))
            if world[x + dx, y + dy][1] is None and world[x + dx, y + dy][0] == "grass"
        )
        world.add(objects.Zombie(world, spot, player))
        obs, _, _, _, info = env.step(0)  # noop: the zombie is now in the info
        info["status"]["drink"] = drink
        controller = DeliberateController(ControllerConfig(finish_reach=reach))
        controller.begin(Subgoal("defeat", "zombie", 1))
        for daylight in (0.9, 0.8):  # evening: drink <= 7 would send it to water
            controller.act(obs, {**info, "daylight": daylight})
        return controller.reflexive

    assert not reflexive(drink=6, reach=8)  # the zombie first
    assert reflexive(drink=6, reach=0)  # rule off: the errand
    assert reflexive(drink=2, reach=8)  # urgent: water first


def _corridor(cow: bool):
    """The player at (10, 9) facing down a one-cell grass corridor walled by water to a tree
    at (10, 14), everything around it seen (nothing left to explore); a cow in the way."""
    import numpy as np

    from envs.map_memory import MapMemory

    obs, info = envs.make("crafter").reset(seed=0)
    window = np.full((9, 7), ID["water"], dtype=np.int16)  # cells (6..14, 8..14)
    window[4, 1:6] = ID["grass"]
    window[4, 1], window[4, 6] = ID["player"], ID["tree"]
    if cow:
        window[4, 3] = ID["cow"]  # the cell (10, 11)
    memory = MapMemory()
    memory.observe(window, (6, 8), step=0)
    info = {**info, "map": memory, "player_pos": np.array([10, 9]), "facing": (0, 1)}
    return obs, info


@pytest.mark.parametrize("past", [True, False])
def test_a_creature_in_the_only_way_is_waited_out_not_given_up(past):
    from agent.slow.navigation import MOVE

    controller = DeliberateController(ControllerConfig(past_creatures=past))
    controller.begin(Subgoal("collect", "wood", 1))
    decision = controller.act(*_corridor(cow=True))
    if past:  # along the corridor toward the cow (it moves on; or the player faces it)
        assert decision.give_up is None and decision.action == MOVE[(0, 1)]
    else:  # every run before the setting: no way to a tree, nothing to explore
        assert decision.give_up is not None and decision.give_up.code == "unreachable"
        assert "nothing left to explore" in decision.give_up.reason
    # Without the cow both settings walk the same way.
    controller.begin(Subgoal("collect", "wood", 1))
    assert controller.act(*_corridor(cow=False)).action == MOVE[(0, 1)]


def _by_the_table(cow: bool, player_y: int = 9):
    """The player at (10, ``player_y``) facing down a one-cell grass corridor walled by
    water from (10, 9) to (10, 13), the table at (9, 14) beside its end; the only free cell
    by the table is (10, 14) below the corridor's end, a cow standing on it. Stones in hand."""
    import numpy as np

    from envs.map_memory import MapMemory

    obs, info = envs.make("crafter").reset(seed=0)
    window = np.full((9, 7), ID["water"], dtype=np.int16)  # cells (6..14, 8..14)
    window[4, 1:7] = ID["grass"]
    window[4, player_y - 8], window[3, 6] = ID["player"], ID["table"]
    if cow:
        window[4, 6] = ID["cow"]
    memory = MapMemory()
    memory.observe(window, (6, 8), step=0)
    inventory = {**info["inventory"], "stone": 5}
    info = {**info, "map": memory, "player_pos": np.array([10, player_y]), "facing": (0, 1)}
    return obs, {**info, "inventory": inventory}


@pytest.mark.parametrize("past", [True, False])
def test_a_creature_on_the_only_free_spot_is_waited_out_not_given_up(past):
    from agent.slow.navigation import MOVE

    controller = DeliberateController(ControllerConfig(past_creatures=past))
    controller.begin(Subgoal("place", "furnace", 1))
    decision = controller.act(*_by_the_table(cow=True))
    if past:  # down the corridor to face the cow's cell
        assert decision.give_up is None and decision.action == MOVE[(0, 1)]
    else:  # every run before: the planner re-issued the subgoal until the episode gave up
        assert decision.give_up is not None and decision.give_up.code == "unreachable"
        assert decision.give_up.reason == "no free spot to place"
    # Without the cow both settings walk the same way.
    controller.begin(Subgoal("place", "furnace", 1))
    assert controller.act(*_by_the_table(cow=False)).action == MOVE[(0, 1)]
    # At the corridor's end, facing the cow's cell: place (it lands once the cow moves on).
    controller.begin(Subgoal("place", "furnace", 1))
    decision = controller.act(*_by_the_table(cow=True, player_y=13))
    if past:
        assert decision.action == ACTIONS.index("place_furnace")
    else:
        assert decision.give_up is not None and decision.give_up.code == "unreachable"


@pytest.mark.parametrize("daylight", [0.3, 0.95])
def test_tired_out_of_a_shelter_sleeps_only_by_full_day_when_asked(daylight):
    sleep = ACTIONS.index("sleep")

    def action(open_sleep_daylight: float, walled: bool = False) -> int:
        env = envs.make("crafter")
        obs, info = env.reset(seed=3)  # no pickaxe: the shelter cannot dig in
        info["status"]["energy"] = 1  # at energy_low
        if walled:  # stone all round the player: shut in, a zombie cannot reach it
            memory = info["map"]
            x, y = (int(v) for v in info["player_pos"])
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                memory.grid[x + dx, y + dy] = ID["stone"]
        controller = DeliberateController(ControllerConfig(open_sleep_daylight=open_sleep_daylight))
        controller.begin(Subgoal("collect", "wood", 9))
        return controller.act(obs, {**info, "daylight": daylight}).action

    assert action(0.0) == sleep  # every run before the setting: tired, asleep anywhere
    if daylight < 0.9:  # dark, in the open: a zombie would strike the sleeper for 7
        assert action(0.9) != sleep
        assert action(0.9, walled=True) == sleep
    else:
        assert action(0.9) == sleep


@pytest.mark.parametrize("edge_craft", [False, True])
def test_makes_nothing_on_the_world_edge_where_crafter_finds_no_table(edge_craft):
    """Crafter slices a player's crafting area from the cell before it: on row or column 0
    it is empty, and a make there does nothing (seed 231: 35 make actions in a row). With
    ``controller.edge_craft`` the player steps one cell in first."""
    obs, info = envs.make("crafter").reset(seed=0)
    memory = info["map"]
    x = int(info["player_pos"][0])
    memory.grid[x - 2 : x + 3, 0:4] = memory.ground[x - 2 : x + 3, 0:4] = ID["grass"]
    memory.grid[x, 1] = memory.ground[x, 1] = ID["table"]  # below a player on the top row
    info["player_pos"] = np.array([x, 0])
    info["inventory"] = dict(info["inventory"], wood=1, stone=1)
    controller = DeliberateController(ControllerConfig(edge_craft=edge_craft))
    controller.begin(Subgoal("make", "stone_sword", 1))
    decision = controller.act(obs, info)
    make = ACTIONS.index("make_stone_sword")
    assert decision.give_up is None
    if edge_craft:  # a step along the edge or away from it, to a cell beside the table
        assert decision.action in {ACTIONS.index(a) for a in ("move_left", "move_right")}
    else:
        assert decision.action == make
