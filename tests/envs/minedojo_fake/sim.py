"""A stand-in for what ``minedojo.make`` returns, obeying Minecraft's rules as MineDojo applies
them (see ``rules.py`` for where each rule comes from).

``make(task_id, image_size, world_seed, seed, use_voxel, voxel_size, use_lidar, lidar_rays,
**task)`` takes MineDojo's own arguments. The env is the old-gym interface with MineDojo's
MultiDiscrete([3, 3, 4, 25, 25, 8, 244, 36]) action (W/ar_nn/nn_action_space_wrapper.py):
one step is one 50 ms tick, and drop/craft/equip/place/destroy run two extra no-op ticks
(same file, L276-279). Simplifications, all on the lenient side of nothing that the
controller relies on: flat terrain, creatures stand still and never attack, no hunger, no
liquids, items do not despawn. ``crash_at=k`` makes step k fail like a dead Malmo: ``raise``
(the bridge's RuntimeError) or ``silent`` (MineDojoSim's (prev obs, 0, done=True, info)).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from gymnasium import spaces

from envs.minedojo_env import make_arguments

from . import geometry as geo
from .observe import observe
from .player import Player
from .rules import (
    BLOCKS,
    BURN,
    COOK_TICKS,
    CRAFT,
    CRAFT_INDEX,
    DAMAGE,
    ENTITY_REACH,
    EYE,
    HAND,
    HEAD,
    HIT_DELAY,
    INDEX_ITEM,
    PICKUP_DELAY,
    REACH,
    SMELT,
    TABLE_END,
    TOOLS,
    break_ticks,
    harvests,
)  # fmt: skip
from .world import GROUND, Entity, World, generate

NVEC = (3, 3, 4, 25, 25, 8, 244, 36)
STATIONS = ("crafting_table", "furnace")
#: [vanilla] attack cooldown in ticks (20 / attack speed): fist 4.0, swords 1.6, pickaxes 1.2.
COOLDOWN = {"sword": 13, "pickaxe": 17}


def make(task_id: str = "open-ended", image_size: Any = 64, **kwargs: Any) -> FakeMineDojo:
    """``minedojo.make``'s signature."""
    size = image_size if isinstance(image_size, int) else image_size[0]
    return FakeMineDojo(size=size, task_id=task_id, **kwargs)


def factory(**extra: Any) -> Any:
    """A ``MineDojoEnv`` factory: the fake made with the arguments the adapter gives
    ``minedojo.make`` (``envs.minedojo_env.make_arguments``), plus ``extra``."""

    def build(spec: dict[str, Any], seed: int, size: int) -> FakeMineDojo:
        task_id, kwargs = make_arguments(spec, seed, size)
        return make(task_id, **kwargs, **extra)

    return build


class FakeMineDojo:
    def __init__(
        self,
        size: int = 64,
        start: dict[str, int] | None = None,
        crash_at: int | None = None,
        crash_mode: str = "raise",
        world_seed: Any = 1,
        seed: int | None = None,
        task_id: str = "open-ended",
        use_voxel: bool = True,
        voxel_size: dict[str, int] | None = None,
        use_lidar: bool = True,
        lidar_rays: list[tuple[float, float, float]] | None = None,
        specified_biome: str | None = None,
        initial_inventory: Any = None,
        setup: Any = None,
        **task: Any,
    ):
        self.size = size
        self.start = dict(start or {})
        self.crash_at, self.crash_mode = crash_at, crash_mode
        self.world_seed, self.biome, self.task = world_seed, specified_biome, task
        # sim.py L164-169: the defaults when the task does not set them.
        self.voxel_size = voxel_size or dict(xmin=-1, ymin=-1, zmin=-1, xmax=1, ymax=1, zmax=1)
        self.lidar_rays = list(lidar_rays or [(0.0, 0.0, 10.0)])
        self.use_voxel, self.use_lidar = use_voxel, use_lidar
        self.action_space = spaces.MultiDiscrete(NVEC)
        self.is_successful = False
        self.steps = 0
        self.closed = False
        self.world: World | None = None
        self.setup = setup  # called with the fake after every reset (test scenes)

    # -- the old-gym interface ----------------------------------------------------------

    def reset(self) -> dict[str, Any]:
        self.world = generate(self.world_seed, self.biome, self.task)
        self.player = Player(np.array([0.5, GROUND + 1.0, 0.5]))
        for item, n in self.start.items():
            self.player.add(item, n)
        self.stations: list[tuple[str, tuple[int, int, int]]] = []  # placed this episode
        self.kills: Counter[str] = Counter()
        self.dig: tuple[tuple[int, int, int] | None, int] = (None, 0)
        self.hit_delay, self.since_attack, self.fuel = 0, 100, 0
        if self.setup is not None:
            self.setup(self)
        self.last = observe(self, None, None)
        return self.last

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, dict[str, Any]]:
        action = np.asarray(action)
        assert action.shape == (8,) and self.action_space.contains(action), action
        self.steps += 1
        if self.crash_at is not None and self.steps >= self.crash_at:
            if self.crash_mode == "raise":
                raise RuntimeError("Attempted to step an environment server with done=True")
            return self.last, 0.0, True, {}
        before = [(s.name, s.count) for s in self.player.slots[:36]]
        fn, arg, slot = int(action[5]), int(action[6]), int(action[7])
        self.player.turn(int(action[3]) * 15 - 180, int(action[4]) * 15 - 180)
        if fn in (5, 6, 7) and self.player.slots[slot].name == "air":  # L115-147 strict check
            verb = {5: "equip", 6: "place", 7: "destroy"}[fn]
            raise ValueError(f"Trying to {verb} air")
        if fn == 4:
            self._craft(INDEX_ITEM.get(arg))
        elif fn == 5:
            self._equip(self.player.slots[slot].name)
        elif fn == 6:
            self._place(self.player.slots[slot].name)
        elif fn == 7:
            self.player.slots[slot].name, self.player.slots[slot].count = "air", 0
        elif fn == 2:
            self._drop()
        forward = {0: 0, 1: 1, 2: -1}[int(action[0])]
        strafe = {0: 0, 1: 1, 2: -1}[int(action[1])]
        self._tick(forward, strafe, int(action[2]) == 1, int(action[2]) == 3, fn == 3)
        if fn in (2, 4, 5, 6, 7):  # nn_action_space_wrapper.py L276-279: two no-op ticks
            for _ in range(2):
                self._tick(0, 0, False, False, False)
        self.last = observe(self, before, action)
        info = {"stat": {"kill_entity": dict(self.kills)}}
        return self.last, 0.0, False, info

    def close(self) -> None:
        self.closed = True

    # -- what the player sees ---------------------------------------------------------------

    def eye(self) -> np.ndarray:
        return self.player.pos + np.array([0, EYE, 0])

    def look(self) -> np.ndarray:
        return geo.look_vector(self.player.yaw, self.player.pitch)

    def crosshair(self) -> tuple[Any, Any, float] | None:
        """[vanilla] objectMouseOver: the block within reach, unless a creature within 3 blocks
        is nearer (then ("entity", it, distance))."""
        assert self.world is not None
        eye, look = self.eye(), self.look()
        hit = geo.raycast(eye, look, REACH, self.world.solid)
        best = (hit[0], hit[1], hit[2]) if hit else None
        for e in self.world.entities:
            if e.kind == "item":
                continue
            lo, hi = e.box()
            d = geo.ray_box(eye, look, lo - 0.1, hi + 0.1)
            if d is not None and d <= ENTITY_REACH and (best is None or d < best[2]):
                best = ("entity", e, d)
        return best

    def station_near(self, kind: str) -> bool:
        """nearby_tools: a station placed this episode, 5 blocks from the head, in view."""
        head = self.player.pos + np.array([0, HEAD, 0])
        return any(
            k == kind and geo.in_view(head, self.look(), cell, self.size, self.size)
            for k, cell in self.stations
        )

    # -- one tick ----------------------------------------------------------------------------

    def _tick(self, forward: int, strafe: int, jump: bool, sprint: bool, attack: bool) -> None:
        assert self.world is not None
        self.player.move(self.world, forward, strafe, jump, sprint)
        self.since_attack += 1
        if attack:
            self._attack()
        else:
            self.dig = (None, 0)  # [vanilla] releasing the button resets the progress
        self._items()

    def _attack(self) -> None:
        assert self.world is not None
        if self.hit_delay > 0:
            self.hit_delay -= 1
            return
        target = self.crosshair()
        if target is None:
            self.dig = (None, 0)
            return
        if target[0] == "entity":
            self.dig = (None, 0)
            self._hit(target[1])
            return
        cell = target[0]
        block = self.world.get(cell)
        if BLOCKS[block].hardness < 0:
            return
        ticks = self.dig[1] + 1 if self.dig[0] == cell else 1
        self.dig = (cell, ticks)
        if ticks < break_ticks(block, self.player.held):
            return
        self.world.set(cell, "air")
        self.dig, self.hit_delay = (None, 0), HIT_DELAY
        self.stations = [(k, c) for k, c in self.stations if c != cell]  # BreakEvent
        drop = BLOCKS[block].drop
        if drop is not None and harvests(block, self.player.held):
            pos = np.asarray(cell, dtype=float) + np.array([0.5, 0.25, 0.5])
            self.world.entities.append(Entity("item", pos, item=drop, count=1, delay=PICKUP_DELAY))
        held = self.player.slots[0]
        if held.name in TOOLS:  # [vanilla] ItemTool.onBlockDestroyed: 1 durability (sword 2)
            held.durability -= 2 if TOOLS[held.name][0] == "sword" else 1
            if held.durability <= 0:
                held.name, held.count, held.durability = "air", 0, -1

    def _hit(self, mob: Entity) -> None:
        assert self.world is not None
        held = self.player.held
        cooldown = COOLDOWN.get(TOOLS[held][0], 5) if held in TOOLS else 5
        scale = 0.2 + 0.8 * min(1.0, self.since_attack / cooldown) ** 2  # [vanilla] 1.9+ cooldown
        self.since_attack = 0
        mob.health -= DAMAGE.get(held, 1.0) * scale
        if mob.health <= 0:
            self.world.entities.remove(mob)
            self.kills[mob.kind] += 1

    def _items(self) -> None:
        """Dropped items fall, wait out their pickup delay, then go into the inventory when
        they touch the player's box grown by (1, 0.5, 1) ([vanilla] EntityPlayer.onLivingUpdate)."""
        assert self.world is not None
        lo, hi = self.player.box()
        lo, hi = lo - np.array([1.0, 0.5, 1.0]), hi + np.array([1.0, 0.5, 1.0])
        for e in [e for e in self.world.entities if e.kind == "item"]:
            x, z = int(np.floor(e.pos[0])), int(np.floor(e.pos[2]))
            if not self.world.solid((x, int(np.floor(e.pos[1] - 0.01)), z)):  # falls
                e.vy -= 0.04
                y = e.pos[1] + e.vy
                if self.world.solid((x, int(np.floor(y)), z)):
                    y, e.vy = np.floor(y) + 1.0, 0.0
                e.pos[1] = y
            if e.delay > 0:
                e.delay -= 1
                continue
            ilo, ihi = e.box()
            if (ilo <= hi).all() and (ihi >= lo).all():
                left = self.player.add(e.item, e.count)
                if left == 0:
                    self.world.entities.remove(e)
                else:
                    e.count = left

    # -- functional actions ----------------------------------------------------------------

    def _craft(self, item: str | None) -> None:
        """craft (hand list, no table check: SimpleCraftCommandsImplementation.java:72-93),
        craftNearby (table list: a table placed this episode within 5 blocks and in view,
        NearbyCraftCommandsImplementation.java:198-219), smeltNearby (a furnace likewise, the
        input and fuel for 200 ticks, NearbySmelt...java:206-218 + CraftingHelper.java:607-632).
        Every failure is silent, as in Java."""
        if item is None:
            return
        index = CRAFT_INDEX[item]
        if index >= TABLE_END:
            if self.station_near("furnace"):
                self._smelt(item)
            return
        if index >= HAND and not self.station_near("crafting_table"):
            return
        p = self.player
        for needs, out in CRAFT[item]:  # the first recipe the player can pay for
            if all(p.count(k) >= n for k, n in needs.items()):
                for k, n in needs.items():
                    p.remove(k, n)
                p.add(item, out)  # no free-slot check in Java: what does not fit is lost
                return

    def _smelt(self, item: str) -> None:
        p, source = self.player, SMELT[item]
        total = self.fuel + sum(s.count * BURN.get(s.name, 0) for s in p.slots[:36])
        if p.count(source) < 1 or total < COOK_TICKS:
            return
        p.remove(source, 1)
        self.fuel -= COOK_TICKS  # burnInventory (CraftingHelper.java:257-289): slot 0 upward
        while self.fuel < 0:
            fuel = next((s for s in p.slots[:36] if BURN.get(s.name, 0) > 0 and s.count), None)
            if fuel is None:
                break
            self.fuel += BURN[fuel.name]
            _take(fuel)
        p.add(item, 1)

    def _equip(self, name: str) -> None:
        """EquipCommandsImplementation.java:59-68: the lowest slot holding the item swaps with
        the main hand (slot 0)."""
        slots = self.player.slots
        match = next(i for i, s in enumerate(slots) if s.name == name)
        slots[0], slots[match] = slots[match], slots[0]

    def _place(self, name: str) -> None:
        """PlaceCommandsImplementation.java:150-191: the crosshair must be on a block (within
        [vanilla] reach); the block goes on the face hit, unless a creature or the player is in
        that cell; whatever was there is overwritten; the first slot holding the item pays;
        crafting tables and furnaces are remembered (PlaceEvent). Failures are silent."""
        assert self.world is not None
        target = self.crosshair()
        if target is None or target[0] == "entity" or name not in BLOCKS:
            return
        cell = tuple(int(c) for c in np.add(target[0], target[1]))
        lo, hi = np.asarray(cell, dtype=float), np.asarray(cell, dtype=float) + 1
        bodies = [self.player.box()] + [e.box() for e in self.world.entities if e.kind != "item"]
        if any((a < hi).all() and (b > lo).all() for a, b in bodies):
            return
        self.world.set(cell, name)
        self.player.remove(name, 1)
        if name in STATIONS:
            self.stations.append((name, cell))

    def _drop(self) -> None:
        assert self.world is not None
        held = self.player.slots[0]
        if held.name == "air":
            return
        pos = self.eye() - np.array([0, 0.3, 0]) + 0.3 * self.look()
        self.world.entities.append(Entity("item", pos, item=held.name, count=1, delay=40))
        self.player.remove(held.name, 1)


def _take(slot: Any) -> None:
    slot.count -= 1
    if slot.count == 0:
        slot.name, slot.durability = "air", -1
