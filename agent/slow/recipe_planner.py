"""The offline slow tier: a planner that resolves Crafter's tech tree from the recipes."""

from __future__ import annotations

from collections import Counter

from crafter import constants

from envs.tasks import Task
from envs.text import TextView
from memory.records import CallStats, Failure, Subgoal

#: Inventory item -> the world material that yields it.
SOURCES: dict[str, str] = {
    receive: material
    for material, rule in constants.collect.items()
    for receive in rule["receive"]
    if receive not in ("drink", "sapling")
}
STATIONS = ("table", "furnace")
#: A station this close (grid steps) in the view is reused instead of placing a new one.
STATION_REUSE_DISTANCE = 8
#: Creatures are fought with the best sword this plan can cheaply make.
COMBAT_PREP = ("wood_sword",)


class _Resolver:
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

    def close(self) -> None:
        """Nothing to release (an LLM planner closes its response cache)."""

    def plan(self, task: Task, view: TextView) -> list[Subgoal]:
        self.last_call = CallStats()
        v = task.verifier
        resolver = _Resolver(view)
        if v.kind == "kill" or v.name.startswith("defeat_"):
            creature = v.name.removeprefix("defeat_")
            for weapon in COMBAT_PREP:
                resolver.obtain(weapon, 1)
            resolver.emit("defeat", creature, v.count)
        elif v.kind == "achievement" and v.name.startswith("place_"):
            station = v.name.removeprefix("place_")
            for _ in range(v.count):
                resolver.stations.discard(station)
                resolver.place(station)
        elif v.kind == "achievement" and v.name.startswith(("make_", "collect_")):
            item = v.name.split("_", 1)[1]
            resolver.obtain(item, resolver.inventory[item] + v.count)
        elif v.kind == "inventory":
            resolver.obtain(v.name, v.count)
        else:
            raise ValueError(f"the recipe planner cannot plan for verifier {v.to_dict()}")
        return resolver.plan

    def correct(self, subgoal: Subgoal, failure: Failure) -> list[Subgoal]:
        """Obtain what the failure says is missing, then retry the subgoal."""
        self.last_call = CallStats()
        if failure.view is None:
            return [subgoal]
        resolver = _Resolver(failure.view)
        if failure.code == "missing_item":
            item, count = failure.data["item"], int(failure.data["count"])
            resolver.obtain(item, count)
        elif failure.code == "no_station":
            for station in failure.data["stations"]:
                resolver.stations.discard(station)
                resolver.place(station)
        elif subgoal.skill in ("collect", "make"):
            # Re-resolve from what is held now: earlier steps may have been undone.
            resolver.obtain(subgoal.target, subgoal.count)
            return resolver.plan or [subgoal]
        return [*resolver.plan, subgoal]
