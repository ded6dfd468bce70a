"""The player's body: inventory slots, and [vanilla] movement with gravity and collisions."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .rules import DRAG, GRAVITY, JUMP, MAX_STACK, SPRINT, TOOLS, UNSTACKABLE, WALK
from .world import World

HALF, HEIGHT = 0.3, 1.8  # [vanilla] EntityPlayer size 0.6 x 1.8


@dataclass
class Slot:
    name: str = "air"
    count: int = 0
    durability: int = -1


@dataclass
class Player:
    pos: np.ndarray
    yaw: float = 0.0
    pitch: float = 0.0
    vy: float = 0.0
    on_ground: bool = True
    #: 0-35 main inventory (0 = hotbar slot 0 = the main hand), 36-39 armor, 40 off hand.
    slots: list[Slot] = field(default_factory=lambda: [Slot() for _ in range(41)])

    def box(self) -> tuple[np.ndarray, np.ndarray]:
        return self.pos - np.array([HALF, 0, HALF]), self.pos + np.array([HALF, HEIGHT, HALF])

    @property
    def held(self) -> str:
        return self.slots[0].name

    def count(self, item: str, slots: int = 40) -> int:
        return sum(s.count for s in self.slots[:slots] if s.name == item)

    def add(self, item: str, n: int) -> int:
        """[vanilla] InventoryPlayer.addItemStackToInventory: stack onto the held slot, then
        onto equal stacks, then the first empty slot; returns what did not fit (lost)."""
        cap = 1 if item in UNSTACKABLE else MAX_STACK
        main = self.slots[:36]
        order = (
            [0]
            + [i for i in range(36) if main[i].name == item]
            + [i for i in range(36) if main[i].name == "air"]
        )
        for i in order:
            s = main[i]
            if n == 0:
                break
            if s.name == "air":
                s.name, s.count = item, 0
                s.durability = TOOLS[item][3] if item in TOOLS else -1
            if s.name == item and s.count < cap:
                take = min(cap - s.count, n)
                s.count, n = s.count + take, n - take
        return n

    def remove(self, item: str, n: int) -> None:
        """CraftingHelper.removeIngredientsFromPlayer: lowest slot index first
        (J/Utils/CraftingHelper.java:297-324)."""
        for s in self.slots[:40]:
            if n and s.name == item:
                take = min(s.count, n)
                s.count, n = s.count - take, n - take
                if s.count == 0:
                    s.name, s.durability = "air", -1

    # -- movement ------------------------------------------------------------------------

    def turn(self, d_pitch: float, d_yaw: float) -> None:
        """CameraCommandsImplementation.java:74-83 adds the deltas; [vanilla]
        setPositionAndRotation clamps pitch to [-90, 90] and keeps yaw % 360 (Java's fmod)."""
        self.pitch = max(-90.0, min(90.0, self.pitch + d_pitch))
        self.yaw = math.fmod(self.yaw + d_yaw, 360.0)

    def move(self, world: World, forward: int, strafe: int, jump: bool, sprint: bool) -> None:
        """One tick: walk (strafe > 0 = left) at [vanilla] walking/sprinting speed, jump,
        fall; each axis stops at a solid block (no stepping up a full block without a jump)."""
        y = math.radians(self.yaw)
        f = np.array([-math.sin(y), math.cos(y)])
        left = np.array([math.cos(y), math.sin(y)])
        v = forward * f + strafe * left
        n = float(np.linalg.norm(v))
        if n > 0:
            v = v / n * (SPRINT if sprint and forward > 0 else WALK)
        for axis, d in ((0, v[0]), (2, v[1])):
            if d:
                self._shift(world, axis, d)
        if jump and self.on_ground:
            self.vy = JUMP
        self.on_ground = False
        if not self._shift(world, 1, self.vy):
            if self.vy < 0:
                self.on_ground = True
            self.vy = 0.0
        self.vy = (self.vy - GRAVITY) * DRAG
        if self.on_ground:
            self.vy = 0.0

    def _shift(self, world: World, axis: int, d: float) -> bool:
        """Move along one axis; a collision stops it (landing on the block below).
        True if it moved freely."""
        pos = self.pos.copy()
        pos[axis] += d
        if not _collides(world, pos):
            self.pos = pos
            return True
        if axis == 1 and d < 0:  # land on top of the block below
            landing = math.floor(self.pos[1] + d) + 1.0
            if landing <= self.pos[1] + 1e-9:
                self.pos[1] = landing
        return False


def _collides(world: World, pos: np.ndarray) -> bool:
    lo = pos - np.array([HALF, 0, HALF])
    hi = pos + np.array([HALF, HEIGHT, HALF])
    for x in range(math.floor(lo[0]), math.floor(hi[0] - 1e-9) + 1):
        for y in range(math.floor(lo[1]), math.floor(hi[1] - 1e-9) + 1):
            for z in range(math.floor(lo[2]), math.floor(hi[2] - 1e-9) + 1):
                if world.solid((x, y, z)):
                    return True
    return False
