"""The fake obeys Minecraft's rules as MineDojo applies them: one test per rule that made the
old fake too easy (issue 18). Each fails if its rule is taken out of the fake
(``tests/envs/minedojo_fake``)."""

from __future__ import annotations

import types

import numpy as np
import pytest

from envs import minedojo_env
from envs.minedojo_actions import CRAFT_INDEX, encode
from envs.minedojo_env import VOXEL_SIZE, MineDojoEnv, world_seed

from . import minedojo_fake
from .minedojo_fake import FakeMineDojo
from .minedojo_fake.world import GROUND, Entity
from .minedojo_scene import act, scene, slot

FEET = GROUND + 1


def voxel(obs, key, cell, pos=(0, FEET, 0)):
    i = np.subtract(cell, pos) - [VOXEL_SIZE["xmin"], VOXEL_SIZE["ymin"], VOXEL_SIZE["zmin"]]
    return obs["voxels"][key][tuple(i)]


def test_look_angle_is_measured_to_the_block_corner_not_its_centre():
    fake = scene()
    fake.world.set((0, FEET + 1, 1), "log")  # head height, straight ahead (+z)
    fake.world.set((0, FEET + 1, -1), "log")  # straight behind
    fake.world.set((-1, FEET + 1, -2), "log")
    obs = act(fake)
    assert voxel(obs, "cos_look_vec_angle", (0, FEET + 1, 1)) == pytest.approx(0.532, abs=1e-3)
    obs = act(fake, yaw=12)  # yaw 180: facing -z
    assert float(obs["location_stats"]["yaw"][0]) == 180.0
    assert voxel(obs, "cos_look_vec_angle", (0, FEET + 1, -1)) == pytest.approx(0.883, abs=1e-3)
    # a block *not* under the crosshair scores above 0.8 too: the angle cannot aim
    assert voxel(obs, "cos_look_vec_angle", (-1, FEET + 1, -2)) > 0.8
    assert fake.crosshair()[0] == (0, FEET + 1, -1)


def test_lidar_rays_exist_and_a_positive_yaw_points_left():
    fake = scene(lidar_rays=[(0.0, 0.5236, 10.0), (0.0, -0.5236, 10.0), (0.5, 0.0, 10.0)])
    left = np.array([0.5 + 3 * np.tan(0.5236), FEET, 3.5])  # facing +z, +x is on the left
    fake.world.entities.append(Entity("zombie", left, 20.0))
    rays = act(fake)["rays"]
    assert len(rays) == 16 and rays["block_name"].shape == (3,)
    assert list(rays["entity_name"]) == ["zombie", "null", "null"]
    assert rays["entity_distance"][0] == pytest.approx(3.3, abs=0.3)
    # a ray that meets no block reports the distance of its *relative* end from the eye
    assert rays["block_name"][2] == "air" and rays["block_distance"][2] > 20


def test_a_log_takes_60_ticks_by_hand_and_its_drop_has_to_be_walked_to():
    fake = scene()
    fake.world.set((0, FEET + 1, 2), "log")  # under the crosshair, 1.5 blocks away
    for _ in range(30):
        act(fake, fn="attack")
    act(fake)  # releasing the button resets the progress
    for _ in range(59):
        act(fake, fn="attack")
    assert fake.world.get((0, FEET + 1, 2)) == "log"
    obs = act(fake, fn="attack")
    assert fake.world.get((0, FEET + 1, 2)) == "air"
    for _ in range(20):
        obs = act(fake)
    assert slot_count(obs, "log") == 0  # on the ground 2 blocks away, not in the inventory
    for _ in range(6):
        obs = act(fake, forward=True)
    assert slot_count(obs, "log") == 1


def test_stone_needs_a_pickaxe_to_drop_and_the_tool_to_be_fast():
    fake = scene(start={"wooden_pickaxe": 1})
    fake.world.set((0, FEET + 1, 2), "stone")
    fake.player.slots[0], fake.player.slots[5] = fake.player.slots[5], fake.player.slots[0]
    for _ in range(149):  # by hand: 1.5 * 100 ticks, and nothing drops
        act(fake, fn="attack")
    assert fake.world.get((0, FEET + 1, 2)) == "stone"
    act(fake, fn="attack")
    assert fake.world.get((0, FEET + 1, 2)) == "air" and not fake.world.entities
    fake.world.set((0, FEET + 1, 2), "stone")
    obs = act(fake, fn="equip", arg=5)
    assert str(obs["equipment"]["name"][0]) == "wooden pickaxe"
    for _ in range(5 + 22):  # the hit delay after a break, then 1.5 * 30 / 2 = 23 ticks
        act(fake, fn="attack")
    assert fake.world.get((0, FEET + 1, 2)) == "stone"
    act(fake, fn="attack")
    assert fake.world.get((0, FEET + 1, 2)) == "air"
    assert [e.item for e in fake.world.entities] == ["cobblestone"]


def test_place_needs_a_block_under_the_crosshair_and_room_outside_the_player():
    fake = scene(start={"crafting_table": 2})
    obs = act(fake, fn="place", arg=0)  # level view over flat ground: nothing in reach
    assert slot_count(obs, "crafting table") == 2
    obs = act(fake, pitch=6)  # straight down: the cell is the player's own
    obs = act(fake, fn="place", arg=0)
    assert slot_count(obs, "crafting table") == 2 and fake.stations == []
    obs = act(fake, pitch=-3)  # 45 degrees down: the floor two blocks ahead
    obs = act(fake, fn="place", arg=0)
    assert slot_count(obs, "crafting table") == 1
    assert fake.world.get((0, FEET, 2)) == "crafting_table"
    assert fake.stations == [("crafting_table", (0, FEET, 2))]


def test_table_crafting_needs_a_table_placed_this_episode_near_and_in_view():
    fake = scene(start={"planks": 8, "stick": 4, "crafting_table": 1})
    fake.world.set((0, FEET, 2), "crafting_table")  # part of the world, never placed
    obs = act(fake, pitch=3)
    assert not obs["nearby_tools"]["table"]
    obs = act(fake, fn="craft", arg=CRAFT_INDEX["wooden_pickaxe"])
    assert slot_count(obs, "wooden pickaxe") == 0  # silently nothing
    fake.world.set((0, FEET, 2), "air")
    obs = act(fake, fn="place", arg=slot(obs, "crafting table"))
    assert obs["nearby_tools"]["table"] and obs["masks"]["craft_smelt"][219]
    obs = act(fake, yaw=12)  # the table behind: out of view
    assert not obs["nearby_tools"]["table"] and not obs["masks"]["craft_smelt"][219]
    obs = act(fake, fn="craft", arg=CRAFT_INDEX["wooden_pickaxe"])
    assert slot_count(obs, "wooden pickaxe") == 0
    obs = act(fake, yaw=12)
    obs = act(fake, fn="craft", arg=CRAFT_INDEX["wooden_pickaxe"])
    assert slot_count(obs, "wooden pickaxe") == 1
    fake.player.pos = np.array([0.5, FEET, -4.5])  # in view but 6.7 blocks from the head
    assert not act(fake)["nearby_tools"]["table"]


def test_smelting_needs_fuel_and_burns_from_the_first_slot():
    fake = scene(start={"wooden_pickaxe": 1, "iron_ore": 2, "furnace": 1})
    obs = act(fake, pitch=3)
    obs = act(fake, fn="place", arg=slot(obs, "furnace"))
    assert obs["nearby_tools"]["furnace"] and obs["masks"]["craft_smelt"][239]  # no fuel check
    fake.player.remove("wooden_pickaxe", 1)
    obs = act(fake, fn="craft", arg=CRAFT_INDEX["iron_ingot"])
    assert slot_count(obs, "iron ingot") == 0 and slot_count(obs, "iron ore") == 2
    fake.player.add("wooden_pickaxe", 1)  # slot 0 again
    fake.player.add("coal", 1)
    obs = act(fake, fn="craft", arg=CRAFT_INDEX["iron_ingot"])
    assert slot_count(obs, "iron ingot") == 1
    assert slot_count(obs, "wooden pickaxe") == 0 and slot_count(obs, "coal") == 1  # slot 0 burnt


def test_voxels_have_the_adapters_shape_and_the_text_view_counts_from_the_feet():
    fake = scene()
    fake.world.set((0, FEET, 1), "log")  # at the feet, one block ahead
    obs = act(fake)
    assert obs["voxels"]["block_name"].shape == (5, 4, 5)
    assert voxel(obs, "block_name", (0, FEET - 1, 0)) == "grass block"
    assert voxel(obs, "block_name", (0, FEET, 1)) == "wood"
    tree = minedojo_env.sightings(obs)["tree"]
    assert (tree.distance, tree.dx, tree.dy) == (1, 0, 1)


def test_masks_follow_minedojos_rules():
    fake = scene(start={"log2": 1})
    obs = act(fake)
    assert not obs["masks"]["craft_smelt"][CRAFT_INDEX["planks"]]  # first recipe only: log
    vector, why = encode("craft:planks", obs)  # Java crafts from log2: the adapter sends it
    assert why is None
    obs = fake.step(vector)[0]
    assert slot_count(obs, "planks") == 4 and obs["masks"]["place"][slot(obs, "planks")]
    assert not obs["masks"]["equip"][0]  # the main hand is never an equip target for tools
    fake = scene(start={"log": 1, **{f"x{i}": 1 for i in range(35)}})
    obs = act(fake)
    assert obs["masks"]["craft_smelt"][CRAFT_INDEX["planks"]]
    assert not obs["masks"]["action_type"][4]  # no free slot: no craft


def test_block_names_are_minecrafts_display_names_matched_exactly():
    fake = scene()
    fake.world.set((1, FEET, 1), "planks")
    obs = act(fake)
    assert voxel(obs, "block_name", (1, FEET, 1)) == "wooden planks"
    shown = ("wood", "wooden planks", "sandstone", "redstone ore", "cobblestone")
    names = {n: minedojo_env.BLOCK_NAMES.get(n) for n in shown}
    assert names == {"wood": "tree", "wooden planks": None, "sandstone": None,
                     "redstone ore": None, "cobblestone": "stone"}  # fmt: skip


def test_world_seed_zero_is_a_random_world_so_the_adapter_never_sends_it(monkeypatch):
    worlds = [FakeMineDojo(world_seed=s) for s in (0, 0, 5, 5)]
    blocks = [w.reset() and w.world.blocks.copy() for w in worlds]
    assert not np.array_equal(blocks[0], blocks[1]) and np.array_equal(blocks[2], blocks[3])
    assert world_seed(0) == 1 and world_seed(41) == 42
    with pytest.raises(ValueError, match=">= 0"):
        world_seed(-1)
    module = types.SimpleNamespace(make=minedojo_fake.make)
    monkeypatch.setattr(minedojo_env, "check_available", lambda: module)
    env = MineDojoEnv(size=16)
    _, info = env.reset(seed=0, options={"task": {"task_id": "harvest", "target_names": "log"}})
    assert env._inner.world_seed == 1
    assert info["voxels"]["block_name"].shape == (5, 4, 5) and info["rays"]["ray_yaw"].shape == (
        15,
    )


def test_every_observation_key_is_there_with_minedojos_layout():
    fake = scene(start={"wooden_pickaxe": 1})
    obs = act(fake)
    assert list(obs) == ["rgb", "inventory", "equipment", "life_stats", "location_stats",
                         "nearby_tools", "damage_source", "voxels", "rays", "masks",
                         "delta_inv"]  # fmt: skip
    assert obs["rgb"].shape == (3, 64, 64) and obs["inventory"]["name"].shape == (36,)
    assert obs["equipment"]["name"].shape == (6,)  # slots 0, 36-40: main hand, armor, off hand
    assert list(obs["equipment"]["name"]) == ["wooden pickaxe"] + ["air"] * 5
    assert obs["equipment"]["max_durability"][0] == 59
    assert sorted(obs["damage_source"]) == list(obs["damage_source"]) and not any(
        np.any(v) for v in obs["damage_source"].values()
    )


def slot_count(obs, name: str) -> int:
    return int(sum(q for n, q in zip(obs["inventory"]["name"], obs["inventory"]["quantity"],
                                     strict=True) if str(n) == name))  # fmt: skip
