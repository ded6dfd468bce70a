"""Minecraft 1.11.2's rules as MineDojo (commit 2731bc2) exposes them: blocks, items, recipes,
fuel. Each table names where it comes from.

Paths: ``J/`` = ``minedojo/sim/Malmo/Minecraft/src/main/java/com/microsoft/Malmo/``,
``W/`` = ``minedojo/sim/wrappers/``, ``MC`` = ``minedojo/sim/mc_meta/mc.py``,
``CONST`` = ``minedojo/sim/mc_meta/mc_constants.json``. [vanilla] = Minecraft 1.11.2 code,
not in MineDojo's repository.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    name: str
    """What voxels and lidar report: ``block.getLocalizedName().toLowerCase()``
    (J/Utils/JSONWorldDataHelper.java:398, 442): the display name, e.g. a log is "wood"."""
    hardness: float  # CONST (log L8140, stone L6001, coal_ore L8958, ...)
    tool_not_required: bool  # CONST needsNoTool; [vanilla] Material.isToolNotRequired
    tool: str | None  # [vanilla] the tool class that digs it faster
    level: int  # [vanilla] Forge harvest level a pickaxe needs (wood 0, stone 1, iron 2)
    drop: str | None  # [vanilla] the item it drops when harvested
    solid: bool = True  # blocks movement and the crosshair


BLOCKS: dict[str, Block] = {
    "air": Block("air", 0.0, True, None, 0, None, solid=False),
    "grass": Block("grass block", 0.6, True, "shovel", 0, "dirt"),
    "dirt": Block("dirt", 0.5, True, "shovel", 0, "dirt"),
    "stone": Block("stone", 1.5, False, "pickaxe", 0, "cobblestone"),
    "cobblestone": Block("cobblestone", 2.0, False, "pickaxe", 0, "cobblestone"),
    "log": Block("wood", 2.0, True, "axe", 0, "log"),
    "log2": Block("wood", 2.0, True, "axe", 0, "log2"),
    "planks": Block("wooden planks", 2.0, True, "axe", 0, "planks"),
    "leaves": Block("leaves", 0.2, True, None, 0, None),
    "coal_ore": Block("coal ore", 3.0, False, "pickaxe", 0, "coal"),
    "iron_ore": Block("iron ore", 3.0, False, "pickaxe", 1, "iron_ore"),
    "crafting_table": Block("crafting table", 2.5, True, "axe", 0, "crafting_table"),
    "furnace": Block("furnace", 3.5, False, "pickaxe", 0, "furnace"),
    "bedrock": Block("bedrock", -1.0, False, None, 0, None),
}
#: [vanilla] ItemTool: class, dig speed on its class's blocks, harvest level, durability
#: (durability also CONST: wooden_pickaxe 59 L14602, stone_pickaxe 131, iron_pickaxe 250).
TOOLS: dict[str, tuple[str, float, int, int]] = {
    "wooden_pickaxe": ("pickaxe", 2.0, 0, 59),
    "stone_pickaxe": ("pickaxe", 4.0, 1, 131),
    "iron_pickaxe": ("pickaxe", 6.0, 2, 250),
    "wooden_sword": ("sword", 1.0, 0, 59),
    "stone_sword": ("sword", 1.0, 1, 131),
    "iron_sword": ("sword", 1.0, 2, 250),
}
#: [vanilla] attack damage of a held item (fist 1).
DAMAGE = {"wooden_sword": 4.0, "stone_sword": 5.0, "iron_sword": 6.0}
#: Items placed as blocks: MC ``PLACEABLE_ITEM_NAMES`` = items with "block": true in CONST
#: (184 names; these are the ones this world has).
PLACEABLE = ("log", "log2", "planks", "cobblestone", "stone", "dirt", "crafting_table",
             "furnace", "coal_ore", "iron_ore")  # fmt: skip
#: Crafting recipes by output, in CraftingManager order (CONST; MC keeps the first for masks,
#: W/utils.py:19-20; Java tries them all, J/Utils/CraftingHelper.java:333-351):
#: output -> [(ingredients, count)].
CRAFT: dict[str, list[tuple[dict[str, int], int]]] = {
    "planks": [({"log": 1}, 4), ({"log2": 1}, 4)],
    "stick": [({"planks": 2}, 4)],
    "crafting_table": [({"planks": 4}, 1)],
    "torch": [({"coal": 1, "stick": 1}, 4)],
    "furnace": [({"cobblestone": 8}, 1)],
    "wooden_pickaxe": [({"planks": 3, "stick": 2}, 1)],
    "wooden_sword": [({"planks": 2, "stick": 1}, 1)],
    "stone_pickaxe": [({"cobblestone": 3, "stick": 2}, 1)],
    "stone_sword": [({"cobblestone": 2, "stick": 1}, 1)],
    "iron_pickaxe": [({"iron_ingot": 3, "stick": 2}, 1)],
    "iron_sword": [({"iron_ingot": 2, "stick": 1}, 1)],
}
#: Smelting: output -> inputs. MC's mask uses the first (coal's is ``log``); Java smelts only
#: an input whose output matches with meta 0 (J/Utils/CraftingHelper.java:385-398), and
#: [vanilla] a log smelts into charcoal (coal meta 1), so only coal ore gives "coal".
SMELT_MASK: dict[str, str] = {"coal": "log", "iron_ingot": "iron_ore"}
SMELT: dict[str, str] = {"coal": "coal_ore", "iron_ingot": "iron_ore"}
COOK_TICKS = 200  # [vanilla] TileEntityFurnace.getCookTime; J/.../NearbySmelt...java:73
#: [vanilla] TileEntityFurnace.getItemBurnTime, in ticks.
BURN: dict[str, int] = {
    "coal": 1600, "log": 300, "log2": 300, "planks": 300, "crafting_table": 300,
    "stick": 100, "wooden_pickaxe": 200, "wooden_sword": 200,
}  # fmt: skip
#: [vanilla] items that do not stack.
UNSTACKABLE = set(TOOLS)
MAX_STACK = 64
#: Indices in MC ALL_CRAFT_SMELT_ITEMS: 0-53 by hand, 54-223 table only, 224-243 smelted.
CRAFT_INDEX: dict[str, int] = {
    "crafting_table": 7, "planks": 29, "stick": 41, "torch": 48, "furnace": 119,
    "iron_pickaxe": 146, "iron_sword": 148, "stone_pickaxe": 207, "stone_sword": 212,
    "wooden_pickaxe": 219, "wooden_sword": 222, "coal": 227, "iron_ingot": 239,
}  # fmt: skip
INDEX_ITEM = {v: k for k, v in CRAFT_INDEX.items()}
HAND, TABLE_END, N_CRAFT = 54, 224, 244

REACH = 4.5  # [vanilla] PlayerControllerMP.getBlockReachDistance in survival
ENTITY_REACH = 3.0  # [vanilla] EntityRenderer.getMouseOver: entities within 3 in survival
EYE = 1.62  # [vanilla] EntityPlayer.getEyeHeight (J/Utils/JSONWorldDataHelper.java:277)
HEAD = 1.6  # the head point of the nearby-table test (J/.../NearbyCraftCommandsImplementation:158)
STATION_DISTANCE = 5.0  # squareDistanceTo(table centre) <= 25 (same file, line 163)
FOV = 70.0  # [vanilla] fovSetting for options.txt "fov:0.0" (minedojo/sim/Malmo/Minecraft/run)
PICKUP_DELAY = 10  # [vanilla] EntityItem.setDefaultPickupDelay after a block breaks
HIT_DELAY = 5  # [vanilla] PlayerControllerMP.blockHitDelay after a block breaks
WALK, SPRINT = 0.2159, 0.2806  # [vanilla] blocks per tick on the ground
GRAVITY, DRAG, JUMP = 0.08, 0.98, 0.42  # [vanilla] EntityLivingBase.moveEntityWithHeading


def break_ticks(block: str, held: str) -> int:
    """[vanilla] ForgeHooks.blockStrength: progress per tick = speed / hardness / (30 if the
    block can be harvested with ``held`` else 100); the block breaks when it reaches 1."""
    b = BLOCKS[block]
    tool_class, speed, _, _ = TOOLS.get(held, (None, 1.0, -1, 0))
    if tool_class is None or tool_class != b.tool:
        speed = 1.0
    divisor = 30 if harvests(block, held) else 100
    return int(-(-b.hardness * divisor // speed))  # ceil


def harvests(block: str, held: str) -> bool:
    """[vanilla] ForgeHooks.canHarvestBlock: no tool needed, or the right tool of the level."""
    b = BLOCKS[block]
    if b.tool_not_required:
        return True
    tool_class, _, level, _ = TOOLS.get(held, (None, 1.0, -1, 0))
    return tool_class == b.tool and level >= b.level
