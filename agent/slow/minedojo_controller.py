"""The slow tier's deliberate controller on MineDojo: scripted primitives over voxels and lidar.

Same contract as ``agent.slow.controller.DeliberateController`` (``begin(subgoal)``,
``act(obs, info) -> Decision``, give-ups with a reason the planner can fix),
acting in the MineDojo vocabulary (``envs.minedojo_actions``):

- make / place: MineDojo's craft action through the recipe chain (log ->
  planks -> sticks -> tools), placing a crafting table or furnace from the
  inventory when a recipe needs one nearby; a missing raw material is a
  ``missing_item`` give-up (wood, stone, iron) that the planner turns into a
  collect subgoal, a missing station a ``no_station`` give-up.
- collect: attack the target block when a voxel in front holds it; steer
  toward it when a lidar ray hits it; otherwise explore (forward, jump, turn).
- defeat: attack the creature when a lidar ray meets it within reach, else
  turn and walk toward it, else explore.

What it cannot do: plan paths (no map: Minecraft has no semantic map; voxels
cover a 5x4x5 cube, lidar a fan of 15 rays), dig down to ores, or survive on
purpose. It has only met the contract fake here, never Minecraft.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.minedojo_actions import CRAFT_INDEX, VOCABULARY
from envs.text import view
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
#: Collect targets -> substrings of the block names that yield them.
BLOCKS = {
    "wood": ("wood", "log"),
    "stone": ("stone",),
    "coal": ("coal ore",),
    "iron": ("iron ore",),
    "diamond": ("diamond ore",),
    "sapling": ("grass",),
}
NEEDS_TOOL = {
    "stone": "wood_pickaxe",
    "coal": "wood_pickaxe",
    "iron": "stone_pickaxe",
    "diamond": "iron_pickaxe",
}
REACH = 3.0


class MineDojoController:
    name = "slow"

    def __init__(self) -> None:
        self._subgoal: Subgoal | None = None
        self._t = 0
        self._looked_down = 0

    def begin(self, subgoal: Subgoal) -> None:
        self._subgoal, self._t, self._looked_down = subgoal, 0, 0

    def guard(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> Decision | None:
        """No reflexes before a fast attempt's decisions in Minecraft yet."""
        return None

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> Decision:
        if self._subgoal is None:
            raise RuntimeError("MineDojoController.act() before begin(subgoal)")
        self._t += 1
        s = self._subgoal
        if s.skill in ("make", "place"):
            return self._make(TO_MC.get(s.target, s.target), obs, info, place=s.skill == "place")
        if s.skill == "collect":
            return self._collect(s.target, obs, info)
        return self._defeat(s.target, obs, info)

    # -- crafting -------------------------------------------------------------------

    def _make(self, item: str, obs: Any, info: dict[str, Any], place: bool) -> Decision:
        inv = dict(info["inventory"])  # Minecraft item names (and the common ones)
        if place and inv.get(item, 0) > 0:
            if self._looked_down < 2:  # face the floor in front: 30 degrees down
                self._looked_down += 1
                return _do("camera_down")
            return _do(f"place:{item}")
        return self._craft(item, inv, obs, info, depth=0)

    def _craft(self, item: str, inv: dict[str, int], obs: Any, info: Any, depth: int) -> Decision:
        if item not in RECIPES:
            common = RAW.get(item, item)
            return self._give_up(
                "missing_item", f"crafting needs {common}", obs, info, item=common, count=1
            )
        ingredients, _, station = RECIPES[item]
        for ingredient, n in ingredients.items():
            if inv.get(ingredient, 0) < n:
                if ingredient in RECIPES and depth < 4:
                    return self._craft(ingredient, inv, obs, info, depth + 1)
                common = RAW.get(ingredient, ingredient)
                need = n - inv.get(ingredient, 0)
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
        tools = info.get("nearby_tools") or {}
        if station is not None and not bool(np.asarray(tools.get(station, False))):
            held = {"table": "crafting_table", "furnace": "furnace"}[station]
            if inv.get(held, 0) > 0:
                return _do(f"place:{held}")
            return self._give_up(
                "no_station", f"no {station} nearby for {item}", obs, info, stations=[station]
            )
        masks = info.get("masks") or {}
        if "craft_smelt" in masks and not bool(masks["craft_smelt"][CRAFT_INDEX[item]]):
            return self._give_up(
                "missing_item",
                f"MineDojo masks craft {item}",
                obs,
                info,
                item=RAW.get(item, item),
                count=1,
            )
        return _do(f"craft:{item}")

    # -- harvesting and fighting ----------------------------------------------------

    def _collect(self, target: str, obs: Any, info: dict[str, Any]) -> Decision:
        tool = NEEDS_TOOL.get(target)
        if tool is not None and info["inventory"].get(tool, 0) < 1:
            return self._give_up(
                "missing_item", f"mining {target} needs a {tool}", obs, info, item=tool, count=1
            )
        if tool is not None and self._t == 1:
            return _do(f"equip:{TO_MC[tool]}")
        names = BLOCKS.get(target, (target,))
        voxels = info.get("voxels")
        if voxels is not None:
            blocks = np.asarray(voxels["block_name"])
            facing = np.asarray(voxels.get("cos_look_vec_angle", np.zeros(blocks.shape)))
            hit = np.vectorize(lambda b: any(n in str(b).lower() for n in names))(blocks)
            if (hit & (facing > 0.8)).any():
                return _do("attack")
        return self._steer(info, lambda block, _: any(n in str(block).lower() for n in names))

    def _defeat(self, target: str, obs: Any, info: dict[str, Any]) -> Decision:
        rays = info.get("rays") or {}
        for entity, dist in zip(
            rays.get("entity_name", []), rays.get("entity_distance", []), strict=False
        ):
            if str(entity).lower() == target and float(dist) <= REACH:
                return _do("attack")
        return self._steer(info, lambda _, entity: str(entity).lower() == target)

    def _steer(self, info: dict[str, Any], wanted: Any) -> Decision:
        """Turn toward the lidar ray that sees what is wanted and walk; else explore."""
        rays = info.get("rays") or {}
        blocks = rays.get("block_name", [])
        entities = rays.get("entity_name", ["null"] * len(blocks))
        yaws = rays.get("ray_yaw", [0.0] * len(blocks))
        for block, entity, yaw in zip(blocks, entities, yaws, strict=False):
            if wanted(block, entity):
                yaw = float(yaw)
                if abs(yaw) > np.deg2rad(10):
                    return _do("camera_right" if yaw > 0 else "camera_left")
                return _do("forward_jump")
        return _do("camera_right" if self._t % 12 == 0 else "forward_jump")

    @staticmethod
    def _give_up(code: str, reason: str, obs: Any, info: Any, **data: Any) -> Decision:
        return Decision(None, Failure(code=code, reason=reason, view=view(obs, info), data=data))


def _do(name: str) -> Decision:
    return Decision(VOCABULARY.index(name))
