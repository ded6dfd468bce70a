"""The executor's action vocabulary on MineDojo, encoded into its MultiDiscrete action space.

MineDojo's action space (``minedojo/sim/wrappers/ar_nn/nn_action_space_wrapper.py``)
is ``MultiDiscrete([3, 3, 4, 25, 25, 8, 244, 36])``:

    [0] 0 noop, 1 forward, 2 back        [1] 0 noop, 1 left, 2 right
    [2] 0 noop, 1 jump, 2 sneak, 3 sprint
    [3] camera pitch delta = bin * 15 - 180 degrees (12 = none)   [4] yaw, same
    [5] functional: 0 noop, 1 use, 2 drop, 3 attack, 4 craft, 5 equip, 6 place, 7 destroy
    [6] craft/smelt item (index into MC.ALL_CRAFT_SMELT_ITEMS)    [7] inventory slot

The vocabulary names what an agent does (``forward``, ``camera_left``,
``craft:wooden_pickaxe``, ``equip:stone_pickaxe``, ``place:crafting_table``);
:func:`encode` turns a name into that vector for the current observation:
craft, equip and place are checked against the observation's action masks and
find their inventory slot, and an action the masks forbid becomes a no-op with
the reason (MineDojo raises on some of them, e.g. equipping an empty slot). The
masks check only an item's first recipe, so planks from ``log2`` logs are sent
although masked (Java crafts them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

NVEC = (3, 3, 4, 25, 25, 8, 244, 36)
NOOP = (0, 0, 0, 12, 12, 0, 0, 0)
FUNCTIONAL = ("noop", "use", "drop", "attack", "craft", "equip", "place", "destroy")

#: Indices in MC.ALL_CRAFT_SMELT_ITEMS (minedojo/sim/mc_meta/mc.py): 0-53 by hand,
#: 54-223 need a crafting table nearby, 224-243 are smelted (furnace nearby + fuel).
CRAFT_INDEX: dict[str, int] = {
    "crafting_table": 7,
    "planks": 29,
    "stick": 41,
    "torch": 48,
    "furnace": 119,
    "iron_pickaxe": 146,
    "iron_sword": 148,
    "stone_pickaxe": 207,
    "stone_sword": 212,
    "wooden_pickaxe": 219,
    "wooden_sword": 222,
    "iron_ingot": 239,
}
#: Tools, and coal: in the main hand (slot 0) it is the fuel a smelt burns first (Malmo's
#: CraftingHelper.burnInventory takes fuel from slot 0 upward, sticks and tools included).
EQUIPPABLE = (
    "coal",
    "wooden_pickaxe",
    "stone_pickaxe",
    "iron_pickaxe",
    "wooden_sword",
    "stone_sword",
    "iron_sword",
)
PLACEABLE = ("crafting_table", "furnace", "cobblestone", "dirt")

_MOVES: dict[str, dict[int, int]] = {
    "noop": {},
    "forward": {0: 1},
    "back": {0: 2},
    "left": {1: 1},
    "right": {1: 2},
    "jump": {2: 1},
    "forward_jump": {0: 1, 2: 1},
    "sprint_forward": {0: 1, 2: 3},
    "camera_left": {4: 11},
    "camera_right": {4: 13},
    "camera_up": {3: 11},
    "camera_down": {3: 13},
    "attack": {5: 3},
    "use": {5: 1},
}

VOCABULARY: tuple[str, ...] = (
    *_MOVES,
    *(f"craft:{item}" for item in CRAFT_INDEX),
    *(f"equip:{item}" for item in EQUIPPABLE),
    *(f"place:{item}" for item in PLACEABLE),
)


def item_name(raw: Any) -> str:
    """MineDojo's observation names items with spaces ("crafting table"); info uses underscores."""
    return str(raw).strip().replace(" ", "_")


def slot_of(obs: dict[str, Any], item: str) -> int | None:
    """The first inventory slot holding ``item`` (None when it holds none)."""
    names = obs["inventory"]["name"]
    quantity = obs["inventory"]["quantity"]
    for slot, (name, q) in enumerate(zip(names, quantity, strict=True)):
        if item_name(name) == item and q > 0:
            return slot
    return None


#: Items with a second recipe the masks ignore: they check only the first recipe
#: (``minedojo/sim/wrappers/utils.py`` L19-20) while Java crafts from any
#: (``CraftingHelper.getRecipesForRequestedOutput``): planks from ``log2`` (acacia, dark oak).
OTHER_RECIPES: dict[str, str] = {"planks": "log2"}


def _other_recipe(item: str, obs: dict[str, Any]) -> bool:
    """``item`` can be crafted from its second recipe and a slot is free for it."""
    source = OTHER_RECIPES.get(item)
    names = [item_name(n) for n in obs["inventory"]["name"]]
    return source is not None and source in names and "air" in names


def encode(action: str | int, obs: dict[str, Any]) -> tuple[np.ndarray, str | None]:
    """``action`` (a name or index into :data:`VOCABULARY`) -> (MultiDiscrete vector, why it
    became a no-op or None)."""
    name = VOCABULARY[action] if isinstance(action, int | np.integer) else action
    vector = np.array(NOOP, dtype=np.int64)
    if name in _MOVES:
        for index, value in _MOVES[name].items():
            vector[index] = value
        return vector, None
    kind, _, item = name.partition(":")
    masks = obs.get("masks", {})
    if kind == "craft":
        if item not in CRAFT_INDEX:
            raise ValueError(f"cannot craft {item!r}; valid: {', '.join(CRAFT_INDEX)}")
        index = CRAFT_INDEX[item]
        masked = not bool(masks["action_type"][4]) or not bool(masks["craft_smelt"][index])
        if masked and _other_recipe(item, obs):
            masked = False
        if masked:
            where = "a crafting table" if 54 <= index < 224 else "a furnace" if index >= 224 else ""
            need = f" (needs its ingredients{' and ' + where + ' nearby' if where else ''})"
            return np.array(NOOP, dtype=np.int64), f"craft {item} is masked{need}"
        vector[5], vector[6] = 4, index
        return vector, None
    if kind in ("equip", "place"):
        slot = slot_of(obs, item)
        if slot is None:
            return np.array(NOOP, dtype=np.int64), f"{kind} {item}: none in the inventory"
        if kind == "equip" and slot == 0:
            return np.array(NOOP, dtype=np.int64), f"equip {item}: already in the main hand"
        functional = FUNCTIONAL.index(kind)
        if not bool(masks["action_type"][functional]) or not bool(masks[kind][slot]):
            return np.array(NOOP, dtype=np.int64), f"{kind} {item} is masked at slot {slot}"
        vector[5], vector[7] = functional, slot
        return vector, None
    raise ValueError(f"unknown MineDojo action {name!r}; valid: {', '.join(VOCABULARY)}")
