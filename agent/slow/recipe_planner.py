"""The offline slow tier: a planner that resolves Crafter's tech tree from the recipes.

It plans every one of Crafter's 22 achievements, and the whole game (a task whose verifier
is ``unlocked``): the next achievement not unlocked yet, in the order of :data:`CURRICULUM`,
skipping one it has already tried :data:`TRIES` times this episode.
"""

from __future__ import annotations

from collections import Counter

from crafter import constants

from envs.tasks import Task
from envs.text import TextView
from memory.records import CallStats, Failure, Subgoal

#: Inventory item (or drink) -> the world material that yields it.
SOURCES: dict[str, str] = {
    receive: material for material, rule in constants.collect.items() for receive in rule["receive"]
}
CURRICULUM: tuple[str, ...] = (
    "collect_wood", "place_table", "make_wood_pickaxe", "make_wood_sword", "collect_sapling",
    "place_plant", "collect_drink", "eat_cow", "collect_stone", "place_stone",
    "make_stone_pickaxe", "make_stone_sword", "collect_coal", "place_furnace", "wake_up",
    "defeat_zombie", "collect_iron", "make_iron_pickaxe", "make_iron_sword", "collect_diamond",
    "defeat_skeleton", "eat_plant",
)  # fmt: skip
"""The whole game's achievements, in the order the planner pursues them."""
TRIES = 3
"""Plans for one achievement per episode before the whole-game planner moves past it."""
STATIONS = ("table", "furnace")
#: A station this close (grid steps) in the view is reused instead of placing a new one.
STATION_REUSE_DISTANCE = 8
#: Creatures are fought with the best sword this plan can cheaply make: a skeleton
#: (3 health, arrows from afar) falls to one hit of a stone sword.
COMBAT_PREP: dict[str, tuple[str, ...]] = {"zombie": ("wood_sword",), "skeleton": ("stone_sword",)}
#: Goals past the first pickaxe take the player into mountains and through dusk, where
#: zombies come in numbers: a wood sword (three hits a zombie instead of five) comes first.
ARMED = frozenset({"stone", "coal", "iron", "diamond", "stone_pickaxe", "stone_sword",
                   "iron_pickaxe", "iron_sword", "furnace"})  # fmt: skip


class Resolver:
    """Simulates inventory and stations while emitting the subgoals that reach a goal."""

    def __init__(self, view: TextView):
        self.inventory = Counter(view.inventory)
        self.stations = {s for s in STATIONS if view.has_nearby(s, STATION_REUSE_DISTANCE)}
        self.plan: list[Subgoal] = []

    def emit(self, skill: str, target: str, count: int) -> None:
        self.plan.append(Subgoal(skill, target, count))

    def tools_for(self, item: str) -> None:
        """Obtain the tools needed to collect ``item`` (recursively)."""
        if item in SOURCES:
            for tool, amount in constants.collect[SOURCES[item]]["require"].items():
                self.obtain(tool, amount)

    def gather(self, needs: Counter[str]) -> None:
        """Hold at least the current inventory plus ``needs`` of each raw item."""
        for item in needs:
            self.tools_for(item)
        for item, amount in needs.items():
            if amount > 0:
                target = self.inventory[item] + amount
                self.emit("collect", item, target)
                self.inventory[item] = target

    def place(self, station: str) -> None:
        uses = Counter(constants.place[station]["uses"])
        self.gather(uses - self.inventory)
        self.inventory.subtract(uses)
        self.emit("place", station, 1)
        self.stations.add(station)

    def make(self, item: str, count: int) -> None:
        rule = constants.make[item]
        while self.inventory[item] < count:
            for use in rule["uses"]:
                self.tools_for(use)
            missing = [s for s in rule["nearby"] if s not in self.stations]
            needs = Counter(rule["uses"])
            for station in missing:
                needs.update(constants.place[station]["uses"])
            self.gather(needs - self.inventory)
            for station in missing:
                self.place(station)
            self.inventory.subtract(Counter(rule["uses"]))
            self.inventory[item] += rule["gives"]
            self.emit("make", item, self.inventory[item])

    def obtain(self, item: str, count: int) -> None:
        if self.inventory[item] >= count:
            return
        if item in constants.make:
            self.make(item, count)
        elif item in SOURCES:
            self.gather(Counter({item: count - self.inventory[item]}))
        else:
            raise ValueError(f"no recipe or source for item {item!r}")


class RecipePlanner:
    """Plans by resolving the recipe tree from the current inventory; no LLM, no tokens."""

    name = "recipe"

    def __init__(self) -> None:
        self.last_call = CallStats()
        self._tried: Counter[str] = Counter()

    def begin_episode(self, task: Task) -> None:
        """A new episode: the whole-game planner forgets what it tried."""
        self._tried = Counter()

    def close(self) -> None:
        """Nothing to release (an LLM planner closes its response cache)."""

    def attempt_done(self, subgoal: Subgoal, failure: Failure | None) -> None:
        """Nothing to track: every plan is resolved from the current view."""

    def plan(self, task: Task, view: TextView) -> list[Subgoal]:
        self.last_call = CallStats()
        v = task.verifier
        if v.kind == "unlocked":
            return self._next_achievement(view)
        if v.kind == "kill":
            return self._achieve(f"defeat_{v.name}", v.count, view)
        if v.kind == "inventory":
            resolver = Resolver(view)
            if v.name in ARMED:
                resolver.obtain("wood_sword", 1)
            resolver.obtain(v.name, v.count)
            return resolver.plan
        return self._achieve(v.name, v.count, view)

    def _next_achievement(self, view: TextView) -> list[Subgoal]:
        """The first achievement of the curriculum not unlocked and not tried too often."""
        todo = [a for a in CURRICULUM if a not in view.unlocked]
        if todo and all(self._tried[a] >= TRIES for a in todo):
            self._tried = Counter()  # everything left was tried: another round
        for name in todo:
            if self._tried[name] < TRIES:
                self._tried[name] += 1
                return self._achieve(name, 1, view)
        return [Subgoal("sleep", "energy", 1)]  # all unlocked: rest (the episode ends)

    def _achieve(self, name: str, count: int, view: TextView) -> list[Subgoal]:
        """Subgoals that unlock achievement ``name`` ``count`` more times from ``view``."""
        resolver = Resolver(view)
        kind, _, target = name.partition("_")
        if kind == "defeat":
            for weapon in COMBAT_PREP.get(target, ("wood_sword",)):
                resolver.obtain(weapon, 1)
            resolver.emit("defeat", target, count)
        elif kind == "place":
            if target in ARMED:
                resolver.obtain("wood_sword", 1)
            if target not in constants.place:
                raise ValueError(f"the recipe planner cannot place {target!r}")
            for _ in range(count):
                resolver.stations.discard(target)
                resolver.place(target)
        elif name == "collect_drink":
            resolver.emit("collect", "drink", count)
        elif kind in ("make", "collect"):
            if target in ARMED:
                resolver.obtain("wood_sword", 1)
            resolver.obtain(target, resolver.inventory[target] + count)
        elif name == "eat_cow":
            resolver.emit("eat", "cow", count)
        elif name == "eat_plant":
            if not view.has_nearby("plant", STATION_REUSE_DISTANCE):
                resolver.place("plant")
            resolver.emit("eat", "plant", count)
        elif name == "wake_up":
            resolver.emit("sleep", "energy", count)
        else:
            raise ValueError(f"the recipe planner cannot plan achievement {name!r}")
        return resolver.plan

    def correct(self, subgoal: Subgoal, failure: Failure) -> list[Subgoal]:
        """Obtain what the failure says is missing, then retry the subgoal."""
        self.last_call = CallStats()
        if failure.view is None:
            return [subgoal]
        resolver = Resolver(failure.view)
        if failure.code == "missing_item":
            item, count = failure.data["item"], int(failure.data["count"])
            resolver.obtain(item, count)
        elif failure.code == "no_station":
            absent = set(failure.data["stations"])
            if subgoal.skill == "make":
                # The failure names what is absent; the item's other stations are there.
                # Gather the item's own uses with the stations' (a new table takes the
                # wood the pickaxe needs), place them, then make it.
                nearby = set(constants.make[subgoal.target]["nearby"])
                resolver.stations = (resolver.stations | nearby) - absent
                resolver.obtain(subgoal.target, subgoal.count)
                return resolver.plan or [subgoal]
            for station in failure.data["stations"]:
                resolver.stations.discard(station)
                resolver.place(station)
        elif subgoal.skill in ("collect", "make") and subgoal.target != "drink":
            # Re-resolve from what is held now: earlier steps may have been undone.
            resolver.obtain(subgoal.target, subgoal.count)
            return resolver.plan or [subgoal]
        return [*resolver.plan, subgoal]


def plannable(task: Task) -> str | None:
    """Why the recipe planner cannot plan ``task`` from an empty inventory, or None."""
    from envs.text import TextView

    try:
        RecipePlanner().plan(task, TextView({}, {}, ()))
    except (ValueError, KeyError) as err:
        return str(err.args[0] if err.args else err)
    return None
