"""The observation dict MineDojo's wrapped env returns, with every key, shape and dtype
(keys in MineDojo's order: rgb, inventory, equipment, life_stats, location_stats,
nearby_tools, damage_source, voxels, rays, masks, delta_inv; ``minedojo/sim/sim.py``
L208-226, W/ar_nn/ar_masks_wrapper.py L142-152, delta_inventory_wrapper.py L392)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import geometry as geo
from .rules import (
    BLOCKS,
    CRAFT,
    CRAFT_INDEX,
    HAND,
    N_CRAFT,
    PLACEABLE,
    SMELT_MASK,
    TABLE_END,
    TOOLS,
)

BURNS = {"log", "log2", "planks", "leaves", "crafting_table"}  # [vanilla] Material.getCanBurn
TRANSLUCENT = {"air", "leaves"}  # [vanilla] Material.blocksLight is false
#: Names that count first for delta_inv: MC ALL_ITEMS is sorted, so alphabetical order.


def f32(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32)


def observe(sim: Any, before: list[tuple[str, int]] | None, action: Any) -> dict[str, Any]:
    p = sim.player
    main = p.slots[:36]
    names = np.array([s.name.replace("_", " ") for s in main])  # true_flat_inventory.py L67-71
    obs: dict[str, Any] = {
        # pov.py L62-64: (3, H, W) uint8
        "rgb": np.broadcast_to(
            np.array([10, 20, 30], np.uint8)[:, None, None], (3, sim.size, sim.size)
        ).copy(),
        "inventory": _slots(p.slots[:36]),
        # true_flat_inventory.py L74-79: raw slots 0, 36, 37, 38, 39, 40
        "equipment": _slots([p.slots[i] for i in (0, 36, 37, 38, 39, 40)]),
        "life_stats": {  # lifestats.py, keys sorted
            "armor": f32(0.0),
            "food": f32(20.0),
            "is_sleeping": np.array(False),
            "life": f32(20.0),
            "oxygen": f32(300.0),
            "saturation": f32(5.0),
            "xp": f32(0.0),
        },
        "location_stats": {  # location_stats.py, keys sorted; pos = feet, angles in degrees
            "biome_id": np.array(4),
            "can_see_sky": np.array(True),
            "is_raining": np.array(False),
            "light_level": f32(15.0),
            "pitch": f32(p.pitch),
            "pos": np.asarray(p.pos, dtype=np.float32).copy(),
            "rainfall": f32(0.8),
            "sea_level": f32(63.0),
            "sky_light_level": f32(1.0),
            "sun_brightness": f32(1.0),
            "temperature": f32(0.7),
            "yaw": f32(p.yaw),
        },
        "nearby_tools": {
            "table": np.array(sim.station_near("crafting_table")),
            "furnace": np.array(sim.station_near("furnace")),
        },
        # damage_source.py: Python reads top-level keys Java nests (ObservationFromDamage
        # Implementation.java:155), so they are always zero / False.
        "damage_source": {
            **{
                k: f32(0.0)
                for k in (
                    "damage_amount",
                    "damage_distance",
                    "damage_pitch",
                    "damage_yaw",
                    "hunger_damage",
                )
            },
            **{
                k: np.array(False)
                for k in (
                    "is_explosion",
                    "is_fire_damage",
                    "is_magic_damage",
                    "is_projectile",
                    "is_unblockable",
                )
            },
        },
    }
    if sim.use_voxel:
        obs["voxels"] = _voxels(sim)
    if sim.use_lidar:
        obs["rays"] = _rays(sim)
    obs["masks"] = _masks(sim, names, obs["nearby_tools"])
    obs["delta_inv"] = _delta(sim, before, action, obs["masks"])
    return obs


def _slots(slots: list[Any]) -> dict[str, np.ndarray]:
    return {
        "name": np.array([s.name.replace("_", " ") for s in slots]),
        "quantity": np.array([s.count for s in slots], dtype=np.float32),
        "variant": np.zeros(len(slots), dtype=np.int64),
        "cur_durability": np.array([s.durability for s in slots], dtype=np.float32),
        "max_durability": np.array(
            [TOOLS[s.name][3] if s.name in TOOLS else -1 for s in slots], dtype=np.float32
        ),
    }


def _voxels(sim: Any) -> dict[str, np.ndarray]:
    """voxel_lidar.py L70-99 + JSONWorldDataHelper.java:276-319: shape (nx, ny, nz), [i, j, k]
    = the block at floor(feet) + (xmin + i, ymin + j, zmin + k)."""
    v = sim.voxel_size
    shape = (v["xmax"] - v["xmin"] + 1, v["ymax"] - v["ymin"] + 1, v["zmax"] - v["zmin"] + 1)
    origin = np.floor(sim.player.pos).astype(int)
    eye, look = sim.eye(), sim.look()
    out: dict[str, Any] = {
        "block_name": np.empty(shape, dtype="<U32"),
        "block_meta": np.zeros(shape, dtype=np.int64),
        **{
            k: np.zeros(shape, dtype=bool)
            for k in (
                "is_collidable",
                "is_tool_not_required",
                "blocks_movement",
                "is_liquid",
                "is_solid",
                "can_burn",
                "blocks_light",
            )
        },
        "cos_look_vec_angle": np.zeros(shape, dtype=np.float32),
    }
    for i, j, k in np.ndindex(*shape):
        offset = np.array([v["xmin"] + i, v["ymin"] + j, v["zmin"] + k])
        cell = tuple(int(c) for c in origin + offset)
        block = sim.world.get(cell)
        b = BLOCKS[block]
        out["block_name"][i, j, k] = b.name
        out["is_collidable"][i, j, k] = b.solid
        out["is_tool_not_required"][i, j, k] = b.tool_not_required
        out["blocks_movement"][i, j, k] = b.solid
        out["is_solid"][i, j, k] = b.solid
        out["can_burn"][i, j, k] = block in BURNS
        out["blocks_light"][i, j, k] = block not in TRANSLUCENT
        out["cos_look_vec_angle"][i, j, k] = geo.corner_cosine(cell, eye, look)
    return out


def _rays(sim: Any) -> dict[str, np.ndarray]:
    """JSONWorldDataHelper.java:325-347, 411-464; voxel_lidar.py L193-252: 16 keys per ray."""
    eye, look = sim.eye(), sim.look()
    rows = []
    for pitch, yaw, distance in sim.lidar_rays:
        d = geo.lidar_direction(look, pitch, yaw)
        ray = d * distance
        hit = geo.raycast(eye, d, distance, sim.world.solid)
        if hit is not None:
            cell, block_distance = hit[0], hit[2]
        else:  # the quirk: hitVec = the *relative* ray, so its "distance" is |ray - eye|
            cell = tuple(int(c) for c in np.floor(eye + ray))
            block_distance = float(np.linalg.norm(ray - eye))
        entity, entity_distance = "null", block_distance
        for e in sim.world.entities:
            lo, hi = e.box()
            t = geo.ray_box(eye, d, lo - 0.1, hi + 0.1)
            if t is not None and t < entity_distance:
                entity, entity_distance = e.kind, t
        block = sim.world.get(cell)
        b = BLOCKS[block]
        rows.append(
            (
                b.name,
                block_distance,
                0,
                b.level if b.tool else -1,
                b.tool_not_required,
                b.solid,
                False,
                b.solid,
                block in BURNS,
                entity,
                entity_distance,
                pitch,
                yaw,
                *cell,
            )
        )
    keys = (
        "block_name",
        "block_distance",
        "block_meta",
        "harvest_level",
        "is_tool_not_required",
        "blocks_movement",
        "is_liquid",
        "is_solid",
        "can_burn",
        "entity_name",
        "entity_distance",
        "ray_pitch",
        "ray_yaw",
        "traced_block_x",
        "traced_block_y",
        "traced_block_z",
    )
    dtypes = (
        None,
        np.float32,
        np.int64,
        np.int64,
        bool,
        bool,
        bool,
        bool,
        bool,
        None,
        np.float32,
        np.float32,
        np.float32,
        np.float32,
        np.float32,
        np.float32,
    )
    return {
        k: np.array([r[i] for r in rows], dtype=t)
        for i, (k, t) in enumerate(zip(keys, dtypes, strict=True))
    }


def _counts(sim: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in sim.player.slots[:36]:  # W/utils.py L33-40: the 36 slots by name
        if s.name != "air":
            counts[s.name] = counts.get(s.name, 0) + s.count
    return counts


def _masks(sim: Any, names: np.ndarray, tools: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """W/ar_nn/ar_masks_wrapper.py L63-149: craft_smelt checks only the *first* recipe
    (W/utils.py:19-20) and ANDs the table and furnace ranges with nearby_tools (no fuel
    check); craft needs a free slot; place = a block item; equip never slot 0 for tools."""
    have = _counts(sim)
    craft = np.zeros(N_CRAFT, dtype=bool)
    for item, index in CRAFT_INDEX.items():
        if index >= TABLE_END:
            needs = {SMELT_MASK[item]: 1}
            ok = bool(tools["furnace"])
        else:
            needs = CRAFT[item][0][0]
            ok = index < HAND or bool(tools["table"])
        craft[index] = ok and all(have.get(k, 0) >= n for k, n in needs.items())
    occupied = names != "air"
    place = occupied & np.isin([n.replace(" ", "_") for n in names], PLACEABLE)
    equip = occupied.copy()
    equip[0] = False  # slot 0 only for armor/shield (NON_MAINHAND_ITEM_NAMES): none here
    return {
        "action_type": np.array(
            [
                True,
                True,
                bool(occupied[0]),
                True,
                bool(craft.any() and not occupied.all()),
                bool(equip.any()),
                bool(place.any()),
                bool(occupied.any()),
            ]
        ),
        "action_arg": np.array([[0], [0], [0], [0], [1], [1], [1], [1]], dtype=bool),
        "equip": equip,
        "place": place,
        "destroy": occupied.copy(),
        "craft_smelt": craft,
    }


def _delta(sim: Any, before: Any, action: Any, masks: Any) -> dict[str, np.ndarray]:
    """delta_inventory_wrapper.py L120-391: the first increased item and four decreased ones
    in ALL_ITEMS (alphabetical) order; "by craft" only if this step crafted and the previous
    mask allowed that item."""
    out = {
        "inc_name_by_craft": np.array(["air"]),
        "inc_quantity_by_craft": f32(0),
        "dec_name_by_craft": np.array(["air"] * 4),
        "dec_quantity_by_craft": f32(0, 0, 0, 0),
        "inc_name_by_other": np.array(["air"]),
        "inc_quantity_by_other": f32(0),
        "dec_name_by_other": np.array(["air"] * 4),
        "dec_quantity_by_other": f32(0, 0, 0, 0),
    }
    if before is None:
        return out
    old: dict[str, int] = {}
    for name, n in before:
        if name != "air":
            old[name] = old.get(name, 0) + n
    new = _counts(sim)
    delta = {k: new.get(k, 0) - old.get(k, 0) for k in sorted(set(old) | set(new))}
    inc = [k for k, d in delta.items() if d > 0][:1]
    dec = [k for k, d in delta.items() if d < 0][:4]
    crafted = None
    if int(action[5]) == 4 and bool(sim.last["masks"]["craft_smelt"][int(action[6])]):
        crafted = next((k for k, i in CRAFT_INDEX.items() if i == int(action[6])), None)
    by_inc = "craft" if crafted is not None and crafted in inc else "other"
    needs = (
        set(CRAFT.get(crafted, [({}, 0)])[0][0])
        if crafted in CRAFT
        else {SMELT_MASK.get(crafted or "", "")}
    )
    by_dec = "craft" if crafted is not None and needs <= set(dec) else "other"
    if inc:
        out[f"inc_name_by_{by_inc}"] = np.array(inc)
        out[f"inc_quantity_by_{by_inc}"] = f32(abs(delta[inc[0]]))
    if dec:
        out[f"dec_name_by_{by_dec}"] = np.array(dec + ["air"] * (4 - len(dec)))
        out[f"dec_quantity_by_{by_dec}"] = f32(*[abs(delta[k]) for k in dec], *[0] * (4 - len(dec)))
    return out
