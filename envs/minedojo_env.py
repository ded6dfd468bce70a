"""MineDojo (real Minecraft) behind the same Gymnasium interface and schema as Crafter.

``peam/MineDojo-v0``: MineDojo's old-gym env (``reset() -> obs``, 4-tuple step)
adapted to Gymnasium (5-tuple, ``reset(seed=, options=)``, time limit as
truncation). Observation mapping (MineDojo keys from ``minedojo/sim/handlers``):

- ``rgb`` (3, H, W) uint8 -> (H, W, 3);
- the 36 ``inventory`` slots (names with spaces, float quantities) -> the common
  item counts (log/log2 -> wood, cobblestone -> stone, iron_ore + iron_ingot ->
  iron, wooden_pickaxe -> wood_pickaxe, ...); every Minecraft item by name in
  ``info["inventory"]`` too;
- ``life_stats`` -> status on Crafter's 0-9 scale (health = life * 9/20, food =
  food * 9/20; Minecraft has no thirst or fatigue: drink = energy = 9);
- ``location_stats.pos`` -> position.

``info`` keeps ``voxels``, ``rays`` (lidar), ``masks``, ``nearby_tools``, the raw
stats, plus what the verifiers read: ``inventory``, ``achievements``
(``make_<item>`` from MineDojo's ``delta_inv`` craft counts, ``place_<station>``
when a place action spent the item) and ``kills`` (``stat.kill_entity`` since
reset). The action space is the executor's vocabulary (``envs.minedojo_actions``).

The task is chosen per episode: ``reset(options={"task": {...}})`` with the
task's ``minedojo`` spec from ``configs/tasks/minedojo.yaml``. A new task or
seed makes a new MineDojo env (a Minecraft launch) unless ``reuse_world``.
When Minecraft/Malmo dies mid-episode, the step returns ``terminated`` with
``info["aborted"]`` = the reason (the runner records the episode as aborted)
and the next reset starts a fresh simulator.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections import Counter
from typing import Any, ClassVar

import gymnasium
import numpy as np
from gymnasium import spaces

from envs.minedojo_actions import VOCABULARY, encode, item_name
from envs.schema import KILLABLE, inventory_vector, observation_space, status_vector
from envs.text import Sighting

INSTALL = """MineDojo (real Minecraft) is not available here. To run it on a workstation:
  1. JDK 8: sudo apt install openjdk-8-jdk   (`java -version` must report 1.8)
  2. pip install setuptools==65.5.0 wheel==0.38.4
     pip install --no-build-isolation gym==0.21.0
     pip install -e '.[minedojo]'
  3. headless machines: sudo apt install xvfb && export MINEDOJO_HEADLESS=1
  4. python scripts/validate_minedojo.py
The first start builds Malmo with Gradle and downloads Minecraft and Forge (internet needed)."""

#: Common item -> the Minecraft items counted as it.
COMMON_ITEMS: dict[str, tuple[str, ...]] = {
    "sapling": ("sapling",),
    "wood": ("log", "log2"),
    "stone": ("cobblestone",),
    "coal": ("coal",),
    "iron": ("iron_ore", "iron_ingot"),
    "diamond": ("diamond",),
    "wood_pickaxe": ("wooden_pickaxe",),
    "stone_pickaxe": ("stone_pickaxe",),
    "iron_pickaxe": ("iron_pickaxe",),
    "wood_sword": ("wooden_sword",),
    "stone_sword": ("stone_sword",),
    "iron_sword": ("iron_sword",),
}
#: Minecraft item -> the Crafter achievement suffix (make_<x>, place_<x>).
ACHIEVEMENT_NAMES = {
    "wooden_pickaxe": "wood_pickaxe",
    "wooden_sword": "wood_sword",
    "crafting_table": "table",
}
#: Voxel/lidar block names (Minecraft's display names, lower-cased:
#: ``block.getLocalizedName().toLowerCase()``, JSONWorldDataHelper.java:398; a log is
#: "wood", planks are "wooden planks") -> the text view's names. Matched exactly: a
#: substring match on "stone" would also catch sandstone and redstone ore.
BLOCK_NAMES = {
    "wood": "tree",
    "coal ore": "coal",
    "iron ore": "iron",
    "diamond ore": "diamond",
    "crafting table": "table",
    "furnace": "furnace",
    "stone": "stone",
    "cobblestone": "stone",
    "water": "water",
    "lava": "lava",
}
#: The voxel cube the adapter asks for, relative to the block at the feet (bounds inclusive):
#: arrays of shape (5, 4, 5) indexed [x - xmin, y - ymin, z - zmin] (voxel_lidar.py L84-99).
VOXEL_SIZE = dict(xmin=-2, ymin=-1, zmin=-2, xmax=2, ymax=2, zmax=2)
#: Default lidar: rays fanned over yaw -60..60 and pitch -30..30 degrees, 12 blocks long.
LIDAR_RAYS = [
    (np.deg2rad(p), np.deg2rad(y), 12.0) for p in (-30, 0, 30) for y in range(-60, 61, 30)
]
META_TASKS = ("harvest", "combat", "techtree", "open-ended", "survival")


class MineDojoUnavailable(RuntimeError):
    """minedojo or Java is missing; the message holds the install steps."""


class SimulatorCrash(RuntimeError):
    """MineDojo could not be (re)started after its restarts."""


def check_available() -> Any:
    """The ``minedojo`` module, or :class:`MineDojoUnavailable` naming the install steps."""
    try:
        import minedojo
    except ImportError as err:
        raise MineDojoUnavailable(f"minedojo is not installed ({err}).\n{INSTALL}") from err
    if shutil.which("java") is None:
        raise MineDojoUnavailable("java is not on PATH.\n" + INSTALL)
    return minedojo


def world_seed(seed: int) -> int:
    """The Minecraft world seed an episode seed plays: ``seed + 1``. MineDojo turns a world
    seed of 0 into a *random* world (``minedojo/sim/sim.py``: ``world_seed = world_seed or
    ""``; Malmo's DefaultWorldGeneratorImplementation also treats "0" as random), so episode
    seed 0 must not become world seed 0."""
    if seed < 0:
        raise ValueError(f"MineDojo episode seeds must be >= 0 (got {seed})")
    return seed + 1


def make_arguments(spec: dict[str, Any], seed: int, size: int) -> tuple[str, dict[str, Any]]:
    """(task id, keyword arguments) of the ``minedojo.make`` call for a task spec."""
    spec = dict(spec)
    task_id = spec.pop("task_id", "open-ended")
    kwargs: dict[str, Any] = {
        "image_size": (size, size),
        "world_seed": world_seed(seed),
        "seed": seed,
    }
    if task_id.lower() in META_TASKS:  # programmatic ids fix voxels/lidar themselves
        kwargs.update(use_voxel=True, voxel_size=VOXEL_SIZE, use_lidar=True, lidar_rays=LIDAR_RAYS)
    kwargs.update(spec)
    return task_id, kwargs


def default_factory(spec: dict[str, Any], seed: int, size: int) -> Any:
    """``minedojo.make`` for a task spec (imported lazily; a clear error when absent)."""
    minedojo = check_available()
    task_id, kwargs = make_arguments(spec, seed, size)
    return minedojo.make(task_id=task_id, **kwargs)


class MineDojoEnv(gymnasium.Env):
    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(
        self,
        size: int = 64,
        task: dict[str, Any] | None = None,
        factory: Any = None,
        restarts: int = 2,
        reuse_world: bool = False,
    ):
        self.size = size
        self.default_task = dict(task or {"task_id": "open-ended"})
        self.factory = factory or default_factory
        self.restarts = restarts
        self.reuse_world = reuse_world
        self.observation_space = observation_space(size, size)
        self.action_space = spaces.Discrete(len(VOCABULARY))
        self.launches = 0
        """Simulators started (the first, then one per restart or new world)."""
        self._inner: Any = None
        self._key: tuple[str, int | None] | None = None
        self._dead: str | None = None
        self._raw: dict[str, Any] = {}
        self._achievements: Counter[str] = Counter()
        self._kills0: dict[str, int] = {}
        self._voxel_size = VOXEL_SIZE

    # -- gymnasium ------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        spec = dict((options or {}).get("task") or self.default_task)
        key = (json.dumps(spec, sort_keys=True), None if self.reuse_world else seed)
        last: Exception | None = None
        for _ in range(self.restarts + 1):
            try:
                if self._inner is None or self._dead is not None or key != self._key:
                    self._close_inner()
                    self.launches += 1
                    self._inner = self.factory(spec, int(seed or 0), self.size)
                    self._key, self._dead = key, None
                raw = self._inner.reset()
                break
            except MineDojoUnavailable:
                raise
            except Exception as err:  # Minecraft/Malmo failed to start or died: restart it
                last, self._dead = err, f"{type(err).__name__}: {err}"
        else:
            raise SimulatorCrash(
                f"MineDojo failed {self.restarts + 1} times to reset: {self._dead}; see the"
                " Minecraft logs (MINEDOJO_DEBUG_LOG=1 prints them)"
            ) from last
        self._raw = raw
        self._voxel_size = spec.get("voxel_size", VOXEL_SIZE)
        self._achievements = Counter()
        self._kills0 = {}
        return self._obs(raw), self._info(raw, {})

    def step(self, action: int):
        if self._inner is None:
            raise RuntimeError("step() before reset()")
        name = VOCABULARY[int(action)]
        vector, invalid = encode(name, self._raw)
        before = self._raw
        try:
            raw, reward, done, inner_info = self._inner.step(vector)
        except Exception as err:
            return self._abort(f"{type(err).__name__}: {err}")
        if done and not getattr(self._inner, "is_successful", True):
            return self._abort(
                "the simulator ended the episode without task success"
                " (Minecraft/Malmo stopped responding)"
            )
        self._count_achievements(name, before, raw)
        self._raw = raw
        info = self._info(raw, inner_info)
        if invalid is not None:
            info["invalid_action"] = invalid
        return self._obs(raw), float(reward), bool(done), False, info

    def close(self) -> None:
        self._close_inner()

    # -- mapping --------------------------------------------------------------------

    def _abort(self, reason: str):
        self._dead = reason
        info = self._info(self._raw, {})
        info["aborted"] = reason
        return self._obs(self._raw), 0.0, True, False, info

    def _close_inner(self) -> None:
        if self._inner is not None:
            with contextlib.suppress(Exception):  # a dead simulator may fail to close
                self._inner.close()
            self._inner = None

    def _obs(self, raw: dict[str, Any]) -> dict[str, np.ndarray]:
        rgb = np.asarray(raw["rgb"], dtype=np.uint8).transpose(1, 2, 0)
        if rgb.shape[:2] != (self.size, self.size):
            ys = np.linspace(0, rgb.shape[0] - 1, self.size).astype(int)
            xs = np.linspace(0, rgb.shape[1] - 1, self.size).astype(int)
            rgb = rgb[ys][:, xs]
        life = raw["life_stats"]
        status = {
            "health": float(np.ravel(life["life"])[0]) * 9 / 20,
            "food": float(np.ravel(life["food"])[0]) * 9 / 20,
            "drink": 9.0,
            "energy": 9.0,
        }
        return {
            "rgb": np.ascontiguousarray(rgb),
            "inventory": inventory_vector(common_inventory(raw)),
            "status": status_vector(status),
            "position": np.asarray(raw["location_stats"]["pos"], dtype=np.float32).copy(),
        }

    def _info(self, raw: dict[str, Any], inner_info: dict[str, Any]) -> dict[str, Any]:
        stats = inner_info.get("stat", {}).get("kill_entity", {}) if inner_info else {}
        if not self._kills0 and stats:
            self._kills0 = {k: int(stats.get(k, 0)) for k in KILLABLE}
        kills = {k: int(stats.get(k, 0)) - self._kills0.get(k, 0) for k in KILLABLE}
        info: dict[str, Any] = {
            "inventory": {**minecraft_inventory(raw), **common_inventory(raw)},
            "achievements": dict(self._achievements),
            "kills": kills,
            "nearby": sightings(raw, self._voxel_size),
            "masks": raw.get("masks"),
            "nearby_tools": raw.get("nearby_tools"),
            "equipment": raw.get("equipment"),
            "voxel_size": dict(self._voxel_size),
            "life_stats": raw.get("life_stats"),
            "location_stats": raw.get("location_stats"),
        }
        for key in ("voxels", "rays"):
            if key in raw:
                info[key] = raw[key]
        return info

    def _count_achievements(self, name: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        delta = after.get("delta_inv", {})
        for item, q in zip(
            np.ravel(delta.get("inc_name_by_craft", [])),
            np.ravel(delta.get("inc_quantity_by_craft", [])),
            strict=False,
        ):
            item = item_name(item)
            if item != "air" and q > 0:
                self._achievements[f"make_{ACHIEVEMENT_NAMES.get(item, item)}"] += 1
        if name.startswith("place:"):
            item = name.split(":", 1)[1]
            if minecraft_inventory(after).get(item, 0) < minecraft_inventory(before).get(item, 0):
                self._achievements[f"place_{ACHIEVEMENT_NAMES.get(item, item)}"] += 1


def minecraft_inventory(raw: dict[str, Any]) -> dict[str, int]:
    """Item name (underscores) -> count over the 36 slots."""
    counts: Counter[str] = Counter()
    inv = raw.get("inventory")
    if inv is None:
        return {}
    for name, q in zip(inv["name"], inv["quantity"], strict=True):
        name = item_name(name)
        if name != "air":
            counts[name] += int(q)
    return dict(counts)


def common_inventory(raw: dict[str, Any]) -> dict[str, int]:
    mc = minecraft_inventory(raw)
    return {k: sum(mc.get(m, 0) for m in names) for k, names in COMMON_ITEMS.items()}


def ray_hits(
    rays: dict[str, Any], fan: list[tuple[float, float, float]] = LIDAR_RAYS
) -> list[bool]:
    """Per lidar ray: did it meet a block? A ray that met none reports the distance of its
    *relative* end point from the eyes (JSONWorldDataHelper.java:339-340), a number far beyond
    its length, so a hit is a distance within the ray's length (and a block's width)."""
    lengths = [r[2] for r in fan]
    distances = rays.get("block_distance", [])
    return [i < len(lengths) and float(d) <= lengths[i] + 1 for i, d in enumerate(distances)]


def _text_name(block: str) -> str | None:
    return BLOCK_NAMES.get(str(block).lower())


def sightings(raw: dict[str, Any], voxel_size: dict[str, int] = VOXEL_SIZE) -> dict[str, Sighting]:
    """The nearest notable block (voxels) or creature (lidar) of each kind, for the text view.

    Voxel offsets are blocks from the feet (x -> dx, z -> dy), from the cube's bounds; a lidar
    hit is reported at its distance straight ahead (dx 0). A ray that met no block reports a
    meaningless distance (MineDojo measures its end from the world origin) and is skipped."""
    found: dict[str, Sighting] = {}

    def keep(name: str | None, s: Sighting) -> None:
        if name is not None and (name not in found or s.distance < found[name].distance):
            found[name] = s

    voxels = raw.get("voxels")
    if voxels is not None:
        names = np.asarray(voxels["block_name"])
        lo = (voxel_size["xmin"], voxel_size["ymin"], voxel_size["zmin"])
        for (x, y, z), block in np.ndenumerate(names):
            dx, dy, dz = x + lo[0], y + lo[1], z + lo[2]
            keep(_text_name(block), Sighting(abs(dx) + abs(dz) + abs(dy), dx, dz))
    rays = raw.get("rays")
    if rays is not None:
        hits = ray_hits(rays)
        lengths = [r[2] for r in LIDAR_RAYS]
        for entity, dist, length in zip(
            rays.get("entity_name", []), rays.get("entity_distance", []), lengths, strict=False
        ):
            entity = str(entity).lower()
            if entity in ("zombie", "skeleton", "cow", "sheep", "pig") and float(dist) <= length:
                keep(entity, Sighting(round(float(dist)), 0, -round(float(dist))))
        for block, dist, hit in zip(
            rays.get("block_name", []), rays.get("block_distance", []), hits, strict=False
        ):
            if hit:
                keep(_text_name(block), Sighting(round(float(dist)), 0, -round(float(dist))))
    return found
