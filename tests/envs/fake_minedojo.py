"""A stand-in for the env ``minedojo.make`` returns, built from MineDojo's documented spec.

Observation keys, shapes and dtypes follow MineDojo's handlers and wrappers
(``minedojo/sim/handlers/agent/observations/*``, ``sim/wrappers/ar_nn/*``):
rgb (3, H, W) uint8; 36 inventory slots with names spelled with spaces and
float32 quantities; life/location stats as (1,) float32; voxels (3, 3, 3);
masks (action_type 8, equip/place/destroy 36, craft_smelt 244). The world is a
toy: attacking a log voxel in front yields a log every second attack; crafting
follows Minecraft's first recipes for the items the controller uses; equipping
or placing an empty slot raises ValueError as MineDojo's strict check does.
``crash_at=k`` makes step k fail like a dead Malmo: ``raise`` (the bridge's
RuntimeError) or ``silent`` (MineDojoSim's (prev obs, 0, done=True, info)).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from envs.minedojo_actions import CRAFT_INDEX, NVEC

RECIPES = {  # item -> (ingredients, output count, station)
    "planks": ({"log": 1}, 4, None),
    "stick": ({"planks": 2}, 4, None),
    "crafting_table": ({"planks": 4}, 1, None),
    "wooden_pickaxe": ({"planks": 3, "stick": 2}, 1, "table"),
    "wooden_sword": ({"planks": 2, "stick": 1}, 1, "table"),
}
PLACEABLE = {"crafting_table", "furnace", "cobblestone", "dirt"}
INDEX_TO_ITEM = {v: k for k, v in CRAFT_INDEX.items()}


def f32(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32)


class FakeMineDojo:
    def __init__(
        self,
        size: int = 64,
        start: dict[str, int] | None = None,
        crash_at: int | None = None,
        crash_mode: str = "raise",
    ):
        self.size = size
        self.start = dict(start or {})
        self.crash_at = crash_at
        self.crash_mode = crash_mode
        self.action_space = spaces.MultiDiscrete(NVEC)
        self.is_successful = False
        self.steps = 0
        self.closed = False
        self.kills = 0

    # -- the old-gym interface ------------------------------------------------------

    def reset(self) -> dict[str, Any]:
        self.slots: list[tuple[str, int]] = [("air", 0)] * 36
        for item, n in self.start.items():
            self._add(item, n)
        self.table_near = False
        self.attacks = 0
        self.crafted: tuple[str, int] = ("air", 0)
        self.last = self._obs()
        return self.last

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, dict[str, Any]]:
        action = np.asarray(action)
        assert action.shape == (8,) and self.action_space.contains(action), action
        self.steps += 1
        if self.crash_at is not None and self.steps >= self.crash_at:
            if self.crash_mode == "raise":
                raise RuntimeError("Attempted to step an environment server with done=True")
            return self.last, 0.0, True, {}
        self.crafted = ("air", 0)
        fn, arg, slot = int(action[5]), int(action[6]), int(action[7])
        masks = self.last["masks"]
        if fn == 3:
            self.attacks += 1
            if self.attacks % 2 == 0:
                self._add("log", 1)
        elif fn == 4:
            if not masks["craft_smelt"][arg]:
                raise AssertionError(f"craft {INDEX_TO_ITEM.get(arg, arg)} sent against its mask")
            item = INDEX_TO_ITEM[arg]
            needs, out, _ = RECIPES[item]
            for ingredient, n in needs.items():
                self._remove(ingredient, n)
            self._add(item, out)
            self.crafted = (item, out)
        elif fn in (5, 6):
            name, n = self.slots[slot]
            if name == "air":
                raise ValueError(f"strict check: slot {slot} is empty")
            if fn == 6:
                self._remove(name, 1)
                self.table_near = self.table_near or name == "crafting_table"
        self.last = self._obs()
        return self.last, 0.0, False, {"stat": {"kill_entity": {"zombie": self.kills}}}

    def close(self) -> None:
        self.closed = True

    # -- the world ------------------------------------------------------------------

    def count(self, item: str) -> int:
        return sum(n for name, n in self.slots if name == item)

    def _add(self, item: str, n: int) -> None:
        for i, (name, have) in enumerate(self.slots):
            if name == item or name == "air":
                self.slots[i] = (item, have + n if name == item else n)
                return

    def _remove(self, item: str, n: int) -> None:
        for i, (name, have) in enumerate(self.slots):
            if name == item:
                take = min(have, n)
                self.slots[i] = (item, have - take) if have > take else ("air", 0)
                n -= take
                if n == 0:
                    return

    def _craftable(self) -> np.ndarray:
        mask = np.zeros(244, dtype=bool)
        for item, (needs, _, station) in RECIPES.items():
            ok = all(self.count(k) >= n for k, n in needs.items())
            mask[CRAFT_INDEX[item]] = ok and (station is None or self.table_near)
        return mask

    def _obs(self) -> dict[str, Any]:
        h = w = self.size
        rgb = np.zeros((3, h, w), dtype=np.uint8)
        rgb[0], rgb[1], rgb[2] = 10, 20, 30  # channel-first, as MineDojo's pov handler gives
        names = np.array([n.replace("_", " ") for n, _ in self.slots])
        quantity = np.array([q for _, q in self.slots], dtype=np.float32)
        occupied = names != "air"
        craft = self._craftable()
        voxel_names = np.full((3, 3, 3), "air", dtype="<U32")
        voxel_names[1, 1, 2] = "oak wood"  # a log right in front
        voxel_names[:, 0, :] = "grass"
        look = np.zeros((3, 3, 3), dtype=np.float32)
        look[1, 1, 2] = 1.0
        bools = {
            k: np.zeros((3, 3, 3), dtype=bool)
            for k in (
                "is_collidable",
                "is_tool_not_required",
                "blocks_movement",
                "is_liquid",
                "is_solid",
                "can_burn",
                "blocks_light",
            )
        }
        slot_fields = {
            "name": names,
            "quantity": quantity,
            "variant": np.zeros(36, dtype=np.int64),
            "cur_durability": np.full(36, -1.0, dtype=np.float32),
            "max_durability": np.full(36, -1.0, dtype=np.float32),
        }
        crafted, n = self.crafted
        return {
            "rgb": rgb,
            "inventory": slot_fields,
            "equipment": {k: v[:6].copy() for k, v in slot_fields.items()},
            "life_stats": {
                "life": f32(20.0),
                "oxygen": f32(300.0),
                "armor": f32(0.0),
                "food": f32(18.0),
                "saturation": f32(5.0),
                "xp": f32(0.0),
                "is_sleeping": np.array(False),
            },
            "location_stats": {
                "pos": f32(10.5, 64.0, -3.5),
                "yaw": f32(0.0),
                "pitch": f32(0.0),
                "biome_id": np.array(4),
                "rainfall": f32(0.8),
                "temperature": f32(0.7),
                "can_see_sky": np.array(True),
                "is_raining": np.array(False),
                "light_level": f32(15.0),
                "sky_light_level": f32(1.0),
                "sun_brightness": f32(1.0),
                "sea_level": f32(63.0),
            },
            "nearby_tools": {"table": np.array(self.table_near), "furnace": np.array(False)},
            "voxels": {
                "block_name": voxel_names,
                "block_meta": np.zeros((3, 3, 3), np.int64),
                "cos_look_vec_angle": look,
                **bools,
            },
            "masks": {
                "action_type": np.array(
                    [
                        True,
                        True,
                        occupied[0],
                        True,
                        craft.any(),
                        occupied[1:].any(),
                        occupied.any(),
                        occupied.any(),
                    ]
                ),
                "action_arg": np.array([[0], [0], [0], [0], [1], [1], [1], [1]], dtype=bool),
                "equip": occupied & np.array([i > 0 for i in range(36)]),
                "place": occupied & np.isin([n.replace(" ", "_") for n in names], list(PLACEABLE)),
                "destroy": occupied.copy(),
                "craft_smelt": craft,
            },
            "delta_inv": {
                "inc_name_by_craft": np.array([crafted]),
                "inc_quantity_by_craft": f32(n),
                "dec_name_by_craft": np.array(["air"] * 4),
                "dec_quantity_by_craft": f32(0, 0, 0, 0),
                "inc_name_by_other": np.array(["air"]),
                "inc_quantity_by_other": f32(0),
                "dec_name_by_other": np.array(["air"] * 4),
                "dec_quantity_by_other": f32(0, 0, 0, 0),
            },
        }
