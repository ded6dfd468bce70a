"""The fake's world: a 64 x 64 column of blocks from a seed, with trees, stone outcrops (ores
in them), dropped items and a few creatures.

The terrain is a toy (flat ground at y=63, trees on it, stone boulders with coal and iron
ore on the surface so that the scripted tasks have what they need); what acting in it costs
is Minecraft's. World seed 0, None or "" makes a *random* world, as in MineDojo
(``minedojo/sim/sim.py`` L180/L191: ``world_seed = world_seed or ""``; Java
DefaultWorldGeneratorImplementation.java:51-69 also treats "0" as random).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .rules import BLOCKS

IDS = {name: i for i, name in enumerate(BLOCKS)}
NAMES = list(BLOCKS)
LO = np.array([-32, 40, -32])  # world x, y, z of array index 0
SHAPE = (64, 48, 64)
GROUND = 63  # top solid layer (grass)
#: [vanilla] entity boxes (width, height) and health.
MOBS = {"zombie": (0.6, 1.95, 20.0), "skeleton": (0.6, 1.99, 20.0), "cow": (0.9, 1.4, 10.0),
        "pig": (0.9, 0.9, 10.0), "sheep": (0.9, 1.3, 8.0)}  # fmt: skip


@dataclass(eq=False)
class Entity:
    kind: str  # "zombie", ... or "item" (an EntityItem)
    pos: np.ndarray  # feet (x, y, z)
    health: float = 1.0
    item: str = ""
    count: int = 0
    delay: int = 0  # ticks before an item can be picked up
    vy: float = 0.0

    def box(self) -> tuple[np.ndarray, np.ndarray]:
        w, h = (0.25, 0.25) if self.kind == "item" else MOBS[self.kind][:2]
        return self.pos - np.array([w / 2, 0, w / 2]), self.pos + np.array([w / 2, h, w / 2])


@dataclass
class World:
    blocks: np.ndarray
    entities: list[Entity] = field(default_factory=list)

    def get(self, cell: tuple[int, int, int]) -> str:
        i = np.asarray(cell) - LO
        if (i < 0).any() or (i >= SHAPE).any():
            return "bedrock"  # the world's edge is a wall
        return NAMES[int(self.blocks[tuple(i)])]

    def set(self, cell: tuple[int, int, int], name: str) -> None:
        i = np.asarray(cell) - LO
        if not ((i < 0).any() or (i >= SHAPE).any()):
            self.blocks[tuple(i)] = IDS[name]

    def solid(self, cell: tuple[int, int, int]) -> bool:
        return BLOCKS[self.get(cell)].solid


def generate(world_seed: Any, biome: str | None, spec: dict[str, Any]) -> World:
    rng = np.random.default_rng(int(world_seed) if world_seed else None)
    blocks = np.full(SHAPE, IDS["air"], dtype=np.int8)
    g = GROUND - LO[1]
    blocks[:, : g - 12, :] = IDS["bedrock"]
    blocks[:, g - 12 : g - 3, :] = IDS["stone"]
    blocks[:, g - 3 : g, :] = IDS["dirt"]
    blocks[:, g, :] = IDS["grass"]
    world = World(blocks)
    trees, rocks = {"forest": (14, 3), "extreme_hills": (5, 7), "plains": (3, 2)}.get(
        biome or "forest", (8, 4)
    )
    log = "log2" if biome == "savanna" else "log"
    for _ in range(rocks):
        _boulder(world, rng, _spot(rng, 4, 14))
    for _ in range(trees):
        _tree(world, rng, _spot(rng, 3, 16), log)
    for name in spec.get("initial_mobs") or []:
        lo = np.asarray(spec.get("initial_mob_spawn_range_low", [-7, 1, -7]), dtype=float)
        hi = np.asarray(spec.get("initial_mob_spawn_range_high", [7, 1, 7]), dtype=float)
        off = rng.uniform(lo, hi)
        x, z = int(np.floor(0.5 + off[0])), int(np.floor(0.5 + off[2]))
        y = next(y for y in range(GROUND + 8, 0, -1) if world.solid((x, y - 1, z)))
        world.entities.append(Entity(name, np.array([x + 0.5, y, z + 0.5]), MOBS[name][2]))
    return world


def _spot(rng: np.random.Generator, near: int, far: int) -> tuple[int, int]:
    r, a = rng.uniform(near, far), rng.uniform(0, 2 * np.pi)
    return round(r * np.cos(a)), round(r * np.sin(a))


def _tree(world: World, rng: np.random.Generator, at: tuple[int, int], log: str) -> None:
    x, z = at
    if world.get((x, GROUND, z)) != "grass" or world.get((x, GROUND + 1, z)) != "air":
        return
    top = GROUND + int(rng.integers(4, 7))
    for y in range(top - 2, top + 2):
        r = 2 if y < top else 1
        for dx in range(-r, r + 1):
            for dz in range(-r, r + 1):
                if abs(dx) + abs(dz) <= r + 1 and world.get((x + dx, y, z + dz)) == "air":
                    world.set((x + dx, y, z + dz), "leaves")
    for y in range(GROUND + 1, top + 1):
        world.set((x, y, z), log)


def _boulder(world: World, rng: np.random.Generator, at: tuple[int, int]) -> None:
    x0, z0 = at
    for dx in range(-2, 3):
        for dz in range(-2, 3):
            if dx * dx + dz * dz > 5:
                continue
            cell = (x0 + dx, GROUND, z0 + dz)
            world.set(cell, "stone")
            if dx * dx + dz * dz <= 2:
                roll = rng.random()
                ore = "coal_ore" if roll < 0.25 else "iron_ore" if roll < 0.35 else "stone"
                world.set((cell[0], GROUND + 1, cell[2]), ore)
