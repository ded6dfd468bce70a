"""The slow tier's deliberate controller on MineDojo: scripted skills under Minecraft's rules.

Same contract as ``agent.slow.controller.DeliberateController`` (``begin(subgoal)``,
``act(obs, info) -> Decision``, give-ups with a reason the planner can fix), acting in the
MineDojo vocabulary (``envs.minedojo_actions``). It reads only what MineDojo shows the agent:
the 5x4x5 voxel cube, the lidar fan, the inventory, ``nearby_tools`` and its own pose.

- collect: equip the tool the block needs, aim the crosshair at the block with the voxel
  cube (``agent.slow.minedojo_aim``), hold attack until it breaks (a log takes 60 ticks by
  hand), then walk onto the drop until it is picked up; with none in the cube, turn toward a
  lidar ray that meets it (a ray's positive yaw is to the LEFT) and walk; else explore.
- place: look at a floor block whose top is free and outside the player's body, place, and
  level the view again afterwards (the next skill starts level).
- make: Minecraft's recipes (log -> planks -> sticks -> tools); a table-only recipe needs a
  table placed this episode within 5 blocks and in view (``nearby_tools``): aim at one in the
  cube, or place the one held; smelting also needs fuel for 200 ticks in the inventory, and a
  missing fuel is a ``missing_item`` give-up for coal. A missing material is a
  ``missing_item`` give-up (wood, stone, iron), a missing station ``no_station``.
- defeat: turn toward the lidar ray that meets the creature; attack it within 3 blocks.

What it cannot do: dig down to ores, path around obstacles beyond a jump, survive on
purpose. It has met the faithful fake (``tests/envs/minedojo_fake``), never Minecraft.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agent.slow.minedojo_aim import Aim, View
from envs.minedojo_actions import VOCABULARY
from envs.minedojo_env import ray_hits
from envs.text import view as text_view
from memory.records import Decision, Failure, Subgoal

#: Minecraft recipes the controller crafts: item -> (ingredients, output count, station).
RECIPES: dict[str, tuple[dict[str, int], int, str | None]] = {
    "planks": ({"log": 1}, 4, None),
    "stick": ({"planks": 2}, 4, None),
    "crafting_table": ({"planks": 4}, 1, None),
    "wooden_pickaxe": ({"planks": 3, "stick": 2}, 1, "table"),
    "wooden_sword": ({"planks": 2, "stick": 1}, 1, "table"),
    "stone_pickaxe": ({"cobblestone": 3, "stick": 2}, 1, "table"),
    "stone_sword": ({"cobblestone": 2, "stick": 1}, 1, "table"),
    "furnace": ({"cobblestone": 8}, 1, "table"),
    "iron_pickaxe": ({"iron_ingot": 3, "stick": 2}, 1, "table"),
    "iron_sword": ({"iron_ingot": 2, "stick": 1}, 1, "table"),
    "iron_ingot": ({"iron_ore": 1}, 1, "furnace"),
}
#: Crafter names (the subgoal vocabulary) -> Minecraft items.
TO_MC = {
    "wood_pickaxe": "wooden_pickaxe",
    "wood_sword": "wooden_sword",
    "table": "crafting_table",
    "stone_pickaxe": "stone_pickaxe",
    "stone_sword": "stone_sword",
    "furnace": "furnace",
    "iron_pickaxe": "iron_pickaxe",
    "iron_sword": "iron_sword",
}
#: Raw Minecraft materials -> the common item a collect subgoal names.
RAW = {"log": "wood", "cobblestone": "stone", "iron_ore": "iron"}
#: Collect targets -> the exact voxel/lidar block names that yield them.
BLOCKS = {
    "wood": ("wood",),
    "stone": ("stone", "cobblestone"),
    "coal": ("coal ore",),
    "iron": ("iron ore",),
    "diamond": ("diamond ore",),
}
#: The item a mined block drops (what the inventory must gain).
DROPS = {"wood": ("log", "log2"), "stone": ("cobblestone",), "coal": ("coal",),
         "iron": ("iron_ore",), "diamond": ("diamond",)}  # fmt: skip
NEEDS_TOOL = {"stone": "wood_pickaxe", "coal": "wood_pickaxe", "iron": "stone_pickaxe",
              "diamond": "iron_pickaxe"}  # fmt: skip
#: Fuel the controller spends (Minecraft's TileEntityFurnace.getItemBurnTime, ticks); a smelt
#: needs 200. Planks and sticks burn too, but recipes need them.
BURN = {"coal": 1600, "log": 300, "log2": 300}
STATION_BLOCK = {"table": ("crafting table", "crafting_table"), "furnace": ("furnace", "furnace")}
SWORDS = ("iron_sword", "stone_sword", "wooden_sword")
ENTITY_REACH = 3.0
LEVEL_YAW = np.deg2rad(10)
PICKUP_WAIT = 40  # ticks to stand by a drop (10 of pickup delay, then walk onto it)


class MineDojoController:
    name = "slow"

    def __init__(self) -> None:
        self._subgoal: Subgoal | None = None
        self._t = 0
        self._drop: tuple[float, float, int, int] | None = None  # x, z, drops held, since
        self._mining: tuple[Any, int] | None = None  # the block being broken, drops held
        self._fuel = 0  # fuel ticks left in the furnace's cache (counted this subgoal)
        self._smelting: dict[str, int] | None = None  # fuel held when the last smelt was sent
        self._turning = 0
        self._last_pos: np.ndarray | None = None
        self._still = 0

    def begin(self, subgoal: Subgoal) -> None:
        self._subgoal, self._t, self._drop, self._turning = subgoal, 0, None, 0
        self._mining = None
        self._fuel, self._smelting = 0, None

    def guard(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> Decision | None:
        """No reflexes before a fast attempt's decisions in Minecraft yet."""
        return None

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> Decision:
        if self._subgoal is None:
            raise RuntimeError("MineDojoController.act() before begin(subgoal)")
        self._t += 1
        v = View(info)
        self._track_motion(v)
        s = self._subgoal
        if s.skill == "place":
            return self._place(TO_MC.get(s.target, s.target), v, obs, info)
        if s.skill == "make":
            return self._craft(TO_MC.get(s.target, s.target), v, obs, info, depth=0)
        if s.skill == "collect":
            return self._collect(s.target, v, obs, info)
        return self._defeat(s.target, v, obs, info)

    # -- crafting and placing ---------------------------------------------------------------

    def _place(self, item: str, v: View, obs: Any, info: dict[str, Any]) -> Decision:
        inv = info["inventory"]
        if inv.get(item, 0) < 1:
            return self._craft(item, v, obs, info, depth=0)

        def floor_free_above(cell: Any, face: Any) -> bool:
            top = (cell[0] + face[0], cell[1] + face[1], cell[2] + face[2])
            return face == (0, 1, 0) and v.block(top) == "air" and not v.body_overlaps(top)

        aim = v.aim(floor_free_above)
        if aim is None:
            return self._explore(v)
        if aim.steps:
            return _turn(aim)
        return _do(f"place:{item}")

    def _craft(self, item: str, v: View, obs: Any, info: dict[str, Any], depth: int) -> Decision:
        inv = dict(info["inventory"])  # Minecraft item names (and the common ones)
        if item not in RECIPES:
            common = RAW.get(item, item)
            return self._give_up(
                "missing_item", f"crafting needs {common}", obs, info, item=common, count=1
            )
        ingredients, _, station = RECIPES[item]
        for ingredient, n in ingredients.items():
            have = inv.get(ingredient, 0) + (inv.get("log2", 0) if ingredient == "log" else 0)
            if have < n:
                if ingredient in RECIPES and depth < 4:
                    return self._craft(ingredient, v, obs, info, depth + 1)
                common = RAW.get(ingredient, ingredient)
                need = n - have
                if ingredient == "log":  # each log makes 4 planks
                    need = max(1, int(np.ceil(need / 4)))
                return self._give_up(
                    "missing_item",
                    f"{item} needs {need} more {common}",
                    obs,
                    info,
                    item=common,
                    count=info["inventory"].get(common, 0) + need,
                )
        if station == "furnace":
            self._count_burnt(inv)
            fuel = self._fuel + sum(
                n * BURN.get(name, 0) for name, n in inv.items() if name in BURN
            )
            if fuel < 200:  # Minecraft smelts only with 200 ticks of fuel in the inventory
                return self._give_up(
                    "missing_item", f"smelting {item} needs fuel", obs, info, item="coal", count=1
                )
            if inv.get("coal", 0) > 0 and _held(info) != "coal":
                return _do("equip:coal")  # the furnace burns from slot 0 up: coal, not sticks
        if station is not None and not bool(
            np.asarray((info.get("nearby_tools") or {}).get(station, False))
        ):
            return self._reach_station(station, v, obs, info)
        if station == "furnace":
            self._smelting = {k: inv.get(k, 0) for k in BURN}
        return _do(f"craft:{item}")

    def _count_burnt(self, inv: dict[str, int]) -> None:
        """The furnace keeps what a burnt fuel item gives beyond a smelt (Malmo's fuel cache,
        not observed): credit it for this subgoal from the fuel the last smelt took."""
        if self._smelting is None:
            return
        burnt = sum((n - inv.get(k, 0)) * BURN[k] for k, n in self._smelting.items())
        self._fuel = max(0, self._fuel + burnt - 200)
        self._smelting = None

    def _reach_station(self, station: str, v: View, obs: Any, info: dict[str, Any]) -> Decision:
        """A table-only recipe needs the station placed this episode, within 5 blocks and in
        view: look at one in the cube; if it still does not count (not ours, or far), place
        the one held; else give up for the planner to place one."""
        block, item = STATION_BLOCK[station]
        aim = v.aim(lambda cell, _: v.block(cell) == block)
        if aim is not None and aim.steps:
            return _turn(aim)
        if info["inventory"].get(item, 0) > 0:
            return self._place(item, v, obs, info)
        return self._give_up("no_station", f"no {station} nearby", obs, info, stations=[station])

    # -- harvesting and fighting ------------------------------------------------------------

    def _collect(self, target: str, v: View, obs: Any, info: dict[str, Any]) -> Decision:
        inv = info["inventory"]
        tool = NEEDS_TOOL.get(target)
        if tool is not None and inv.get(tool, 0) < 1:
            return self._give_up(
                "missing_item", f"mining {target} needs a {tool}", obs, info, item=tool, count=1
            )
        if tool is not None and _held(info) != TO_MC[tool]:
            return _do(f"equip:{TO_MC[tool]}")
        drops = DROPS.get(target, (target,))
        if self._mining is not None and v.block(self._mining[0]) == "air":  # it broke
            cell, had = self._mining
            self._mining = None
            self._drop = (cell[0] + 0.5, cell[2] + 0.5, had, self._t)
        if self._drop is not None:
            x, z, had, since = self._drop
            got = sum(inv.get(d, 0) for d in drops)
            if got > had or self._t - since > PICKUP_WAIT:
                self._drop = None
            else:
                return self._walk_to(v, x, z)
        names = BLOCKS.get(target, (target,))
        aim = v.aim(lambda cell, _: v.block(cell) in names)
        if aim is not None:
            if aim.steps:
                return _turn(aim)
            self._mining = (aim.cell, sum(inv.get(d, 0) for d in drops))
            return _do("attack")  # held until the block breaks
        return self._seek(v, info, lambda block, _: str(block) in names)

    def _defeat(self, target: str, v: View, obs: Any, info: dict[str, Any]) -> Decision:
        sword = next((s for s in SWORDS if info["inventory"].get(s, 0) > 0), None)
        if sword is not None and _held(info) != sword:
            return _do(f"equip:{sword}")
        rays = info.get("rays") or {}
        for entity, dist, yaw, pitch in zip(
            rays.get("entity_name", []),
            rays.get("entity_distance", []),
            rays.get("ray_yaw", []),
            rays.get("ray_pitch", []),
            strict=False,
        ):
            ahead = abs(float(yaw)) < 1e-6 and abs(float(pitch)) < 1e-6  # the crosshair's ray
            if str(entity) == target and ahead and float(dist) <= ENTITY_REACH:
                return _do("attack")
        return self._seek(v, info, lambda _, entity: str(entity) == target)

    # -- moving -----------------------------------------------------------------------------

    def _seek(self, v: View, info: dict[str, Any], wanted: Any) -> Decision:
        """Turn toward the nearest-to-centre lidar ray that meets what is wanted (positive ray
        yaw = to the LEFT) and walk; else explore."""
        rays = info.get("rays") or {}
        blocks = rays.get("block_name", [])
        hits = ray_hits(rays)
        entities = rays.get("entity_name", ["null"] * len(blocks))
        yaws = rays.get("ray_yaw", [0.0] * len(blocks))
        best: float | None = None
        for block, entity, yaw, hit in zip(blocks, entities, yaws, hits, strict=False):
            seen = (hit and wanted(block, "null")) or wanted("air", entity)
            if seen and (best is None or abs(float(yaw)) < abs(best)):
                best = float(yaw)
        if best is not None:
            if abs(best) > LEVEL_YAW:
                return _do("camera_left" if best > 0 else "camera_right")
            return self._forward(v)
        return self._explore(v)

    def _walk_to(self, v: View, x: float, z: float) -> Decision:
        if np.hypot(x - v.pos[0], z - v.pos[2]) < 0.6:
            return _do("noop")  # on it: the pickup delay runs out
        turn = v.yaw_to(x, z)
        if abs(turn) > 10:
            return _do("camera_right" if turn > 0 else "camera_left")
        return self._forward(v)

    def _forward(self, v: View) -> Decision:
        """Walk on; jump onto a one-block step; break leaves in the way; turn at a wall."""
        feet, head, above = v.ahead()
        leaves = [c for c in (feet, head) if v.block(c) == "leaves"]
        if leaves and self._still > 2:
            aim = v.aim(lambda cell, _: cell in leaves)
            if aim is not None:
                return _turn(aim) if aim.steps else _do("attack")
        if abs(v.pitch) >= 15:  # walk with a level view (the lidar fan looks ahead)
            return _do("camera_up" if v.pitch > 0 else "camera_down")
        blocked = v.solid(head) or (v.solid(feet) and v.solid(above))
        if blocked or self._still > 8:  # a wall or stuck: turn away
            self._turning, self._still = 6, 0
            return _do("camera_right")
        return _do("forward_jump" if v.solid(feet) else "forward")

    def _explore(self, v: View) -> Decision:
        if self._turning > 0:
            self._turning -= 1
            return _do("camera_right")
        if self._t % 80 == 0:
            self._turning = 5
        return self._forward(v)

    def _track_motion(self, v: View) -> None:
        if self._last_pos is not None and np.allclose(self._last_pos, v.pos, atol=0.02):
            self._still += 1
        else:
            self._still = 0
        self._last_pos = v.pos.copy()

    @staticmethod
    def _give_up(code: str, reason: str, obs: Any, info: Any, **data: Any) -> Decision:
        return Decision(
            None, Failure(code=code, reason=reason, view=text_view(obs, info), data=data)
        )


def _held(info: dict[str, Any]) -> str:
    """The item in the main hand (inventory slot 0)."""
    equipment = info.get("equipment")
    if equipment is None:
        return "air"
    return str(np.asarray(equipment["name"])[0]).replace(" ", "_")


def _turn(aim: Aim) -> Decision:
    if aim.yaw_steps:
        return _do("camera_right" if aim.yaw_steps > 0 else "camera_left")
    return _do("camera_down" if aim.pitch_steps > 0 else "camera_up")


def _do(name: str) -> Decision:
    return Decision(VOCABULARY.index(name))
