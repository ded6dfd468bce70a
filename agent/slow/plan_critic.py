"""The plan critic: an answered plan is checked against the game's rules before anything acts.

The plan is simulated from the planner's view (inventory, stations the map memory knows
nearby): a ``collect`` needs its tool, a ``place`` its materials, a ``make`` its materials
and stations, and the plan must reach its goal. A subgoal that failed earlier in the
episode (an item or a station missing) may be retried only after the plan fixes that
cause. Every problem is a sentence the repair round shows the model, naming the fix.

The rules are the backend's own data (Crafter: ``crafter.constants``, the same tables the
recipe planner resolves); :func:`complete` lets the recipe planner fill exactly the
prerequisites a rejected plan is missing (and the weapons it arms the player with first),
keeping what the model planned.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from crafter import constants

from agent.slow.recipe_planner import (
    ARMED,
    COMBAT_PREP,
    SOURCES,
    STATION_REUSE_DISTANCE,
    STATIONS,
    Resolver,
)
from envs.tasks import Task
from envs.text import TextView
from memory.records import Failure, Subgoal


@dataclass
class PlanState:
    """Inventory and stations as the plan so far would leave them."""

    inventory: Counter[str]
    stations: set[str]
    placed: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, view: TextView) -> PlanState:
        near = {s for s in STATIONS if view.has_nearby(s, STATION_REUSE_DISTANCE)}
        return cls(Counter(view.inventory), near)


def goal_of(task: Task) -> Subgoal | None:
    """The subgoal whose verification is the task's (None for the whole game)."""
    v = task.verifier
    if v.kind == "inventory":
        return Subgoal("make" if v.name in constants.make else "collect", v.name, v.count)
    if v.kind == "kill":
        return Subgoal("defeat", v.name, v.count)
    if v.kind == "achievement":
        if v.name == "wake_up":
            return Subgoal("sleep", "energy", v.count)
        skill, _, target = v.name.partition("_")
        if skill in ("collect", "place", "make", "eat", "defeat"):
            return Subgoal(skill, target, v.count)
    return None


def holds(goal: Subgoal, state: PlanState, plan: list[Subgoal]) -> bool:
    """Whether ``plan`` (ending in ``state``) reaches ``goal``."""
    if goal.skill in ("collect", "make") and goal.target != "drink":
        return state.inventory[goal.target] >= goal.count
    return any((s.skill, s.target) == (goal.skill, goal.target) for s in plan)


def apply(sg: Subgoal, state: PlanState, failed: dict[tuple[str, str], Failure]) -> list[str]:
    """Problems of ``sg`` in ``state``; then apply its effect to ``state``."""
    problems: list[str] = []
    inv = state.inventory
    cause = failed.get((sg.skill, sg.target))
    if cause is not None and cause.code == "no_station":
        for station in cause.data.get("stations", ()):
            if station not in state.placed:
                problems.append(
                    f"'{sg.text}' failed before ({cause.reason}): add place {station} before"
                    " retrying it"
                )
    if sg.skill == "collect" and sg.target != "drink":
        tools = constants.collect[SOURCES[sg.target]]["require"] if sg.target in SOURCES else {}
        for tool, n in tools.items():
            if inv[tool] < n:
                problems.append(f"collect {sg.target} needs a {tool}: add make {tool} before it")
        inv[sg.target] = max(inv[sg.target], sg.count)
    elif sg.skill == "place" and sg.target in constants.place:
        for _ in range(sg.count):
            for item, n in constants.place[sg.target]["uses"].items():
                if inv[item] < n:
                    problems.append(
                        f"place {sg.target} uses {n} {item} and the plan holds {inv[item]}"
                        f" there: add collect {item} x{n} before it"
                    )
                inv[item] = max(inv[item] - n, 0)
        state.stations.add(sg.target)
        state.placed.add(sg.target)
    elif sg.skill == "make":
        rule = constants.make[sg.target]
        crafts = -(-max(sg.count - inv[sg.target], 0) // rule["gives"])
        if crafts:
            for station in rule["nearby"]:
                if station not in state.stations:
                    problems.append(
                        f"make {sg.target} needs a {station} nearby: add place {station} before it"
                    )
            for item, n in rule["uses"].items():
                if inv[item] < n * crafts:
                    problems.append(
                        f"make {sg.target} uses {n * crafts} {item} and the plan holds"
                        f" {inv[item]} there: add collect {item} x{n * crafts} before it"
                    )
                inv[item] = max(inv[item] - n * crafts, 0)
            inv[sg.target] += crafts * rule["gives"]
    elif cause is not None and cause.code == "missing_item":
        item, n = cause.data.get("item"), int(cause.data.get("count", 1))
        if item and inv[item] < n:
            problems.append(
                f"'{sg.text}' failed before ({cause.reason}): obtain {n} {item} before retrying it"
            )
    return problems


def check(
    plan: list[Subgoal],
    view: TextView,
    goal: Subgoal | None,
    failed: dict[tuple[str, str], Failure] | None = None,
) -> list[str]:
    """Every rule the plan breaks, simulated from ``view``; [] when it may be carried out."""
    state, problems = PlanState.of(view), []
    for sg in plan:
        problems += apply(sg, state, failed or {})
    if goal is not None and not holds(goal, state, plan):
        problems.append(f"the plan never reaches the goal '{goal.text}': end it with that")
    return list(dict.fromkeys(problems))


def _preparation(goal: Subgoal) -> tuple[str, ...]:
    """Weapons the recipe planner obtains before ``goal`` (its strategy, not a rule)."""
    if goal.skill == "defeat":
        return COMBAT_PREP.get(goal.target, ("wood_sword",))
    return ("wood_sword",) if goal.target in ARMED else ()


def trim(plan: list[Subgoal], view: TextView, goal: Subgoal | None) -> list[Subgoal]:
    """``plan`` up to the subgoal that reaches ``goal``: what follows would never run (the
    episode, or the correction, ends there)."""
    if goal is None:
        return plan
    state = PlanState.of(view)
    for i, sg in enumerate(plan):
        apply(sg, state, {})
        if holds(goal, state, plan[: i + 1]):
            return plan[: i + 1]
    return plan


def complete(
    plan: list[Subgoal], view: TextView, goal: Subgoal | None
) -> tuple[list[Subgoal], list[bool]]:
    """``plan`` with the recipe planner's subgoals inserted wherever a rule is broken (and
    appended when the goal is not reached); per subgoal, True when the model planned it."""
    resolver = Resolver(view)
    out: list[Subgoal] = []
    by_model: list[bool] = []

    def take(sg: Subgoal | None) -> None:
        """Move what the resolver emitted to ``out``; a subgoal like ``sg`` is the model's."""
        emitted, resolver.plan = resolver.plan, []
        for e in emitted:
            out.append(e)
            by_model.append(sg is not None and (e.skill, e.target) == (sg.skill, sg.target))

    if goal is not None:  # arm first, as the recipe planner does for the same goal
        for weapon in _preparation(goal):
            if not any(s.target == weapon for s in plan):
                resolver.obtain(weapon, 1)
        take(None)
    for sg in plan:
        if sg.skill == "make":
            resolver.make(sg.target, sg.count)  # prerequisites, then the make itself
            if not resolver.plan:  # already held: harmless, the runner skips it
                resolver.plan.append(sg)
        elif sg.skill == "place" and sg.target in constants.place:
            for _ in range(sg.count):
                uses = Counter(constants.place[sg.target]["uses"])
                resolver.gather(uses - resolver.inventory)
                resolver.inventory.subtract(uses)
            resolver.stations.add(sg.target)
            resolver.plan.append(sg)
        else:
            if sg.skill == "collect":
                resolver.tools_for(sg.target)
                resolver.inventory[sg.target] = max(resolver.inventory[sg.target], sg.count)
            resolver.plan.append(sg)
        take(sg)
        resolver.inventory = +resolver.inventory
    if goal is not None:
        state = PlanState(Counter(resolver.inventory), set(resolver.stations))
        if not holds(goal, state, out):
            if goal.skill in ("collect", "make") and goal.target != "drink":
                resolver.obtain(goal.target, goal.count)
            elif goal.skill == "place":
                resolver.place(goal.target)
            else:
                resolver.emit(goal.skill, goal.target, goal.count)
            take(None)
    return out, by_model
