"""The slow tier's deliberate controller: executes one subgoal by search over the map it knows.

Each call to :meth:`DeliberateController.act` looks at the agent's map memory
(``info["map"]``: what it has seen), keeps the player alive (fight an adjacent
monster, drink, eat, sleep when needed), then searches the cheapest action
sequence to the subgoal's next interaction and returns its first action. When
the target has not been seen yet it explores (``agent.slow.explore``) and turns
to the target once it is in sight. It never decides success: the runner verifies
every attempt in the environment. It only gives up, with a reason, when the
subgoal cannot be pursued (a missing item or station, nothing left to explore).
With ``sees: world`` it reads the whole world map instead (an all-seeing oracle); as a
privileged labelling teacher (``runner.teacher_sees: world``) it reads ``info["world"]``
while the agent's memory stays what it has seen.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
from crafter import constants

from agent.slow.config import ControllerConfig
from agent.slow.dodge import Dodge
from agent.slow.explore import Explorer, likely_near
from agent.slow.navigation import DO, ID, MOVE, NOOP, Goal, route, search, terrain
from agent.slow.recipe_planner import SOURCES
from agent.slow.shelter import NIGHT, Shelter, enclosed
from envs.crafter_env import ACTIONS
from envs.map_memory import VIEW
from envs.text import view
from memory.records import Decision, Failure, Subgoal

MONSTERS = frozenset(ID[n] for n in ("zombie", "skeleton"))
DUSK = 0.85
"""Falling daylight below which the evening top-up of drink and food applies."""
STONE_REACH = 12
"""Farthest stone (path cost) the evening stone errand (``dusk_stone``) walks to."""


def _inside(sem: np.ndarray, x: int, y: int) -> bool:
    return 0 <= x < sem.shape[0] and 0 <= y < sem.shape[1]


def _view_area(sem: np.ndarray, pos: tuple[int, int]) -> np.ndarray:
    x, y = pos
    return sem[max(x - VIEW[0], 0) : x + VIEW[0] + 1, max(y - VIEW[1], 0) : y + VIEW[1] + 1]


def _near(sem: np.ndarray, x: int, y: int, ids: set[int]) -> bool:
    """Is one of ``ids`` in the 3x3 area around (x, y) (Crafter's crafting range)?"""
    window = sem[max(x - 1, 0) : x + 2, max(y - 1, 0) : y + 2]
    return bool(np.isin(window, list(ids)).any())


class DeliberateController:
    """Executes subgoals in Crafter by search; one :meth:`act` per environment step."""

    name = "deliberate"

    def __init__(self, config: ControllerConfig | None = None):
        self.config = config or ControllerConfig()
        if self.config.guard_stations not in ("in_view", "remembered"):
            raise ValueError(
                f"controller.guard_stations {self.config.guard_stations!r}: in_view or remembered"
            )
        self.subgoal: Subgoal | None = None
        self._mode: str | None = None
        self._rng = np.random.default_rng(0)
        self._explorers: dict[str, Explorer] = {}
        """One per thing searched for (the subgoal's target, water, a cow), kept per subgoal."""
        self._memory: Any = None
        cfg = self.config
        self._shelter = Shelter(
            cfg.search_cost, cfg.pillbox, cfg.rest_health, cfg.morning, cfg.burrow_checks
        )
        self._dodge = Dodge() if self.config.dodge else None
        self._pos = (0, 0)
        """The player's cell at the last reflex check (the arrows were seen from there)."""
        self._daylight: float | None = None
        self._dusk = False
        """Daylight is falling (evening): top up drink and food before the night."""
        self.exploring = 0
        """Decisions spent exploring for something not seen yet (benchmarks read it)."""
        self.choices: frozenset[int] = frozenset()
        """The equally good actions at the last decision (its teacher label); empty when it
        gave up."""
        self._route: frozenset[int] | None = None
        self.reflexive = False
        """The last :meth:`act` was a survival reflex (a monster, shelter, thirst, hunger,
        sleep), not a step of the subgoal: the runner records it as the guard's, unlabelled."""

    def begin(self, subgoal: Subgoal) -> None:
        self.subgoal = subgoal
        self._rng = np.random.default_rng(zlib.crc32(subgoal.text.encode()))
        self._explorers = {}

    @property
    def fair(self) -> bool:
        return self.config.sees != "world"

    def _world(self, info: dict[str, Any]) -> np.ndarray:
        """The map the controller acts on: the map memory (an oracle's env fills it with the
        whole world: ``envs.make(..., sees="world")``); an all-seeing teacher beside a fair
        memory reads the world the env keeps for it (``info["world"]``)."""
        self._memory = info["map"]
        if not self.fair and "world" in info:
            return np.asarray(info["world"], dtype=np.int16)
        return self._memory.grid

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> Decision:
        self._route = None
        reflex = self._reflex(obs, info, in_view=False)
        self.reflexive = reflex is not None and reflex.give_up is None
        if reflex is not None:
            return self._label(reflex)
        decision = self.advise(obs, info)
        wait = None if decision.action is None else self.hold(int(decision.action))
        if wait is not None:
            self.reflexive = True  # held back: an arrow flies into that cell
            return self._label(wait)
        return decision

    def hold(self, action: int) -> Decision | None:
        """A wait instead of ``action`` when it steps in front of an arrow
        (``controller.dodge``), else None; the runner holds fast-tier steps back with it."""
        blocked = self._dodge is not None and self._dodge.blocks(self._pos, action)
        return Decision(NOOP) if blocked else None

    def advise(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> Decision:
        """What the controller would do for the subgoal here, reflexes aside (the teacher's
        answer at a fast-tier step the guard let through); sets :attr:`choices`."""
        self._route = None
        if self.subgoal is None:
            raise RuntimeError("DeliberateController used before begin(subgoal)")
        sem = self._world(info)
        pos = (int(info["player_pos"][0]), int(info["player_pos"][1]))
        decision = self._pursue(
            self.subgoal, obs, info, sem, pos, info["facing"], info["inventory"]
        )
        return self._label(decision)

    def _label(self, decision: Decision) -> Decision:
        if decision.action is None:
            self.choices = frozenset()
        elif self._route is not None and decision.action in self._route:
            self.choices = self._route
        else:
            self.choices = frozenset((int(decision.action),))
        return decision

    def guard(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> Decision | None:
        """What the slow tier insists on before a fast-tier step, or None (the policy acts).

        Keeps the player alive (sleeping, an adjacent monster, thirst, hunger,
        fatigue) and gives up when the subgoal cannot be done from here: an item
        is missing, or a needed station is not in view (the policy cannot find
        one it cannot see; the planner then places one).
        """
        return self._reflex(obs, info, in_view=self.config.guard_stations == "in_view")

    def _reflex(self, obs, info, in_view: bool) -> Decision | None:
        if self.subgoal is None:
            raise RuntimeError("DeliberateController used before begin(subgoal)")
        if info.get("sleeping"):
            return Decision(NOOP)
        sem = self._world(info)
        pos = self._pos = (int(info["player_pos"][0]), int(info["player_pos"][1]))
        facing = info["facing"]
        inv, status = info["inventory"], info["status"]
        daylight = float(info.get("daylight", 1.0))
        if self._daylight is not None and daylight != self._daylight:
            self._dusk = daylight < self._daylight
        self._daylight = daylight
        # Survival first: an adjacent monster, shelter at nightfall, thirst, hunger, fatigue.
        threat = self._adjacent_monster(sem, pos)
        aside = self._dodge.step(sem, pos) if self._dodge is not None else None  # every step
        if threat is not None:
            return Decision(DO if threat == facing else MOVE[threat])
        if aside is not None:
            return Decision(aside)
        if self.config.shelter and min(status["drink"], status["food"]) > 1:
            # A monster in view only matters to a sheltered player in the morning.
            seen = (
                self._shelter.active
                and daylight >= self.config.morning
                and self._monster_in_view(sem, pos)
            )
            hide = self._shelter.step(
                sem, pos, facing, inv, daylight, status["energy"], seen, status["health"]
            )
            if hide is not None:
                return Decision(hide)
        evening = self._dusk and NIGHT <= daylight < DUSK
        survival = self._survival(sem, pos, facing, inv, status, evening, daylight)
        if survival is not None:
            return Decision(survival)
        return self._precondition(self.subgoal, obs, info, sem, pos, inv, in_view)

    # -- survival ----------------------------------------------------------------

    @staticmethod
    def _adjacent_monster(sem: np.ndarray, pos: tuple[int, int]) -> tuple[int, int] | None:
        for d in MOVE:
            x, y = pos[0] + d[0], pos[1] + d[1]
            if _inside(sem, x, y) and int(sem[x, y]) in MONSTERS:
                return d
        return None

    @staticmethod
    def _monster_in_view(sem: np.ndarray, pos: tuple[int, int]) -> bool:
        return bool(np.isin(_view_area(sem, pos), list(MONSTERS)).any())

    def _target_near(self, sem, pos, facing, inv, status) -> bool:
        """The creature the subgoal is to defeat is within ``finish_reach`` path steps and
        no need is urgent (a new errand then waits: the fight comes first)."""
        cfg, sg = self.config, self.subgoal
        if cfg.finish_reach <= 0 or sg is None or sg.skill != "defeat" or sg.target not in ID:
            return False
        if min(status["drink"], status["food"], status["energy"]) <= cfg.urgent:
            return False
        goal = self._facing_id(sem, ID[sg.target])
        if goal(pos[0], pos[1], facing[0], facing[1]):
            return True
        grid = terrain(sem, inv)
        grid[pos] = 0
        return bool(search(grid, pos, facing, goal, cfg.finish_reach))

    def _survival(
        self, sem, pos, facing, inv, status, evening: bool, daylight: float
    ) -> int | None:
        """The survival reflex's action, or None; ``evening``: daylight is falling toward
        the night (drink and food are topped up before it)."""
        cfg = self.config
        # Out of a shelter (inside one, the shelter sleeps) a zombie strikes a sleeper for 7:
        # with ``open_sleep_daylight`` the tired player stays awake until that much daylight.
        may_sleep = daylight >= cfg.open_sleep_daylight or enclosed(sem, pos, {pos})
        if self._mode is None:
            if status["drink"] <= (cfg.dusk_drink if evening else cfg.drink_low):
                self._mode = "drink"
            elif status["food"] <= (cfg.dusk_food if evening else cfg.food_low):
                self._mode = "food"
            elif status["energy"] <= cfg.energy_low and may_sleep:
                self._mode = "sleep"
            elif evening and inv.get("stone", 0) < cfg.dusk_stone and inv.get("wood_pickaxe", 0):
                self._mode = "stone"
            if self._mode is not None and self._target_near(sem, pos, facing, inv, status):
                self._mode = None  # the fight first: the errand can wait
                return None
        if self._mode == "drink" and status["drink"] < 9:
            action = self._interact(sem, pos, facing, inv, self._facing_id(sem, ID["water"]), DO)
            if action is None and self.fair:
                action = self._search_for("water", sem, pos, facing, inv)
            if action is not None:
                return action
        elif self._mode == "food" and status["food"] < 6:
            action = self._interact(sem, pos, facing, inv, self._facing_id(sem, ID["cow"]), DO)
            if action is None and self.fair:
                action = self._search_for("cow", sem, pos, facing, inv)
            if action is not None:
                return action
        elif self._mode == "sleep" and status["energy"] < 9 and may_sleep:
            return ACTIONS.index("sleep")
        elif self._mode == "stone" and evening and inv.get("stone", 0) < cfg.dusk_stone:
            goal = self._facing_id(sem, ID["stone"])
            action = self._interact(sem, pos, facing, inv, goal, DO, STONE_REACH)
            if action is not None:
                return action
        self._mode = None
        return None

    # -- the subgoal ---------------------------------------------------------------

    def _precondition(self, sg, obs, info, sem, pos, inv, in_view: bool) -> Decision | None:
        """Give up when the subgoal's items are missing or its station is absent."""
        if sg.skill == "collect":
            material = SOURCES.get(sg.target)
            if material is None:
                return self._fail("unknown_target", f"nothing yields {sg.target!r}", obs, info)
            for tool, amount in constants.collect[material]["require"].items():
                if inv.get(tool, 0) < amount:
                    return self._missing(tool, amount, f"collecting {material}", obs, info)
        elif sg.skill in ("place", "make"):
            rule = (constants.place if sg.skill == "place" else constants.make)[sg.target]
            doing = f"placing a {sg.target}" if sg.skill == "place" else f"making a {sg.target}"
            for item, amount in rule["uses"].items():
                if inv.get(item, 0) < amount:
                    return self._missing(item, amount, doing, obs, info)
            area = _view_area(sem, pos) if in_view else sem
            absent = [s for s in rule.get("nearby", ()) if not (area == ID[s]).any()]
            if absent:
                where = "in view" if in_view else ("remembered" if self.fair else "in the world")
                return self._fail(
                    "no_station", f"no {' or '.join(absent)} {where}", obs, info, stations=absent
                )
        return None

    def _pursue(self, sg, obs, info, sem, pos, facing, inv) -> Decision:
        if sg.skill == "collect":
            material = SOURCES[sg.target]
            goal = self._facing_id(sem, ID[material])
            step = self._interact(sem, pos, facing, inv, goal, DO)
            if step is None and self.fair:
                step = self._search_for(material, sem, pos, facing, inv)
            if step is None and self.fair and self.config.past_creatures:
                step = self._past_creatures(material, pos, facing, inv)
            if step is None:
                why = f"no reachable {material}" + (
                    " and nothing left to explore" if self.fair else ""
                )
                return self._fail("unreachable", why, obs, info)
            return Decision(step)
        if sg.skill == "sleep":  # until rested (asleep, the reflex waits); awake at 9: wait
            return Decision(ACTIONS.index("sleep") if info["status"]["energy"] < 9 else NOOP)
        if sg.skill == "eat" and sg.target == "plant":
            # Face a known plant and keep trying: an unripe one is left as it is.
            step = self._interact(sem, pos, facing, inv, self._facing_id(sem, ID["plant"]), DO)
            if step is None:
                why = "no reachable plant " + ("remembered" if self.fair else "in the world")
                return self._fail("no_station", why, obs, info, stations=["plant"])
            return Decision(step)
        if sg.skill in ("defeat", "eat"):  # eat a cow: defeat it
            goal = self._facing_id(sem, ID[sg.target])
            step = self._interact(sem, pos, facing, inv, goal, DO)
            if step is None and self.fair:
                step = self._search_for(sg.target, sem, pos, facing, inv)
            # Creatures spawn over time (zombies on grass at night): roam and wait.
            return Decision(step if step is not None else self._roam(sem, pos))
        if sg.skill == "place":
            where = set(constants.place[sg.target]["where"])
            action = ACTIONS.index(f"place_{sg.target}")
            goal = self._place_goal(sem, where, sg.target)
            step = self._interact(sem, pos, facing, inv, goal, action)
            if step is None and self.fair and self.config.past_creatures:
                # A creature on the only free spot, or in the only way to one: the
                # remembered ground without the creatures in view (it moves on).
                ground = self._memory.ground
                goal = self._place_goal(ground, where, sg.target)
                step = self._interact(ground, pos, facing, inv, goal, action)
            if step is None:
                return self._fail("unreachable", "no free spot to place", obs, info)
            return Decision(step)
        # make
        rule = constants.make[sg.target]
        stations = {ID[s] for s in rule["nearby"]}

        def at_stations(x: int, y: int, fx: int, fy: int) -> bool:
            if self.config.edge_craft and (x < 1 or y < 1):
                return False  # Crafter slices its crafting area from x - 1: empty at 0
            return all(_near(sem, x, y, {s}) for s in stations)

        action = ACTIONS.index(f"make_{sg.target}")
        step = self._interact(sem, pos, facing, inv, at_stations, action)
        if step is None:
            # Stations exist but no reachable cell is next to all of them: place anew.
            return self._fail(
                "no_station",
                f"no reachable cell next to {' and '.join(rule['nearby'])}",
                obs,
                info,
                stations=[s for s in rule["nearby"] if s != "table"] or ["table"],
            )
        return Decision(step)

    def _search_for(self, target: str, sem, pos, facing, inv) -> int | None:
        """A step toward where ``target`` was last seen (a moving thing), else toward the
        unexplored edge where it is most likely; None when nothing is left to explore."""
        for sighting in self._memory.sightings(target) if self._memory is not None else []:
            cell = (sighting.x, sighting.y)
            if cell == pos or self._memory.in_view(*cell):
                continue  # seen there and gone, or right here
            grid = terrain(sem, inv)
            grid[pos] = 0
            grid[cell] = 0
            path = search(grid, pos, facing, lambda x, y, fx, fy, c=cell: (x, y) == c,
                          self.config.search_cost)  # fmt: skip
            if path:
                return path[0]
        explorer = self._explorers.get(target)
        if explorer is None:
            cfg = self.config
            gain = cfg.explore_gain if target in cfg.explore_gain_targets.split(",") else 0.0
            explorer = self._explorers[target] = Explorer(cfg.search_cost, gain)
        step = explorer.step(sem, self._memory.seen, pos, facing, inv, likely_near(target))
        self.exploring += step is not None
        return step

    def _past_creatures(self, material: str, pos, facing, inv) -> int | None:
        """A step toward ``material`` (or where it may be) on the remembered ground, the
        creatures in view taken away; None when the ground itself leaves no way. Called
        only where the search with them found none: they stand in the way for now."""
        ground = self._memory.ground
        step = self._interact(ground, pos, facing, inv, self._facing_id(ground, ID[material]), DO)
        if step is None:  # a fresh explorer: the subgoal's own keeps its state
            explorer = Explorer(self.config.search_cost)
            step = explorer.step(ground, self._memory.seen, pos, facing, inv, likely_near(material))
        return step

    def _roam(self, sem: np.ndarray, pos: tuple[int, int]) -> int:
        """A random step onto open ground, preferring grass (where zombies spawn); every such
        step is equally good (the label keeps them all)."""
        free = []
        for d, move in MOVE.items():
            x, y = pos[0] + d[0], pos[1] + d[1]
            if _inside(sem, x, y) and int(sem[x, y]) in (ID["grass"], ID["sand"], ID["path"]):
                free.extend([move] * (3 if int(sem[x, y]) == ID["grass"] else 1))
        self._route = frozenset(free) if free else None
        return int(self._rng.choice(free)) if free else NOOP

    # -- goals and search ----------------------------------------------------------

    @staticmethod
    def _facing_id(sem: np.ndarray, target: int) -> Goal:
        def goal(x: int, y: int, fx: int, fy: int) -> bool:
            tx, ty = x + fx, y + fy
            return _inside(sem, tx, ty) and int(sem[tx, ty]) == target

        return goal

    @staticmethod
    def _place_goal(sem: np.ndarray, where: set[str], station: str) -> Goal:
        where_ids = {ID[w] for w in where}
        # A furnace goes next to a table (iron tools need both within reach).
        anchor = {ID["table"]} if station == "furnace" and (sem == ID["table"]).any() else None

        def goal(x: int, y: int, fx: int, fy: int) -> bool:
            tx, ty = x + fx, y + fy
            if not _inside(sem, tx, ty) or int(sem[tx, ty]) not in where_ids:
                return False
            return anchor is None or _near(sem, x, y, anchor)

        return goal

    def _interact(
        self, sem, pos, facing, inv, goal: Goal, action: int, max_cost: int | None = None
    ) -> int | None:
        if goal(pos[0], pos[1], facing[0], facing[1]):
            return action
        grid = terrain(sem, inv)
        grid[pos] = 0
        cost = self.config.search_cost if max_cost is None else max_cost
        path, self._route = route(grid, pos, facing, goal, cost, ties=True)
        if not path:
            return None
        return path[0]

    def _missing(self, item: str, count: int, doing: str, obs, info) -> Decision:
        return self._fail(
            "missing_item", f"{doing} needs {count} {item}", obs, info, item=item, count=count
        )

    @staticmethod
    def _fail(code: str, reason: str, obs, info, **data: Any) -> Decision:
        return Decision(None, Failure(code=code, reason=reason, view=view(obs, info), data=data))
