"""Scenes in the faithful MineDojo fake: a cleared patch of flat ground and a player to pose."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from envs.minedojo_actions import NOOP
from envs.minedojo_env import LIDAR_RAYS, VOXEL_SIZE

from .minedojo_fake import FakeMineDojo
from .minedojo_fake.world import GROUND

FUNCTIONAL = {"attack": 3, "craft": 4, "equip": 5, "place": 6}


def scene(
    start: dict[str, int] | None = None,
    setup: Callable[[FakeMineDojo], None] | None = None,
    **kwargs: Any,
) -> FakeMineDojo:
    """A fake reset with nothing but grass within 8 blocks of the player, at (0.5, 64, 0.5)
    facing +z (yaw 0) at level pitch, with the adapter's voxel cube and lidar fan; ``setup``
    adds to the scene after every reset."""

    def prepare(fake: FakeMineDojo) -> None:
        assert fake.world is not None
        fake.world.entities.clear()
        for x in range(-8, 9):
            for z in range(-8, 9):
                fake.world.set((x, GROUND, z), "grass")
                for y in range(GROUND + 1, GROUND + 12):
                    fake.world.set((x, y, z), "air")
        if setup is not None:
            setup(fake)

    kwargs = {"voxel_size": VOXEL_SIZE, "lidar_rays": LIDAR_RAYS, **kwargs}
    fake = FakeMineDojo(start=start, setup=prepare, **kwargs)
    fake.reset()
    return fake


def act(
    fake: FakeMineDojo,
    forward: bool = False,
    pitch: int = 0,
    yaw: int = 0,
    fn: str | None = None,
    arg: int = 0,
) -> dict[str, Any]:
    """One MultiDiscrete step: walk, turn the camera by 15-degree bins (pitch > 0 down, yaw > 0
    right), and a functional action with its argument (craft index or inventory slot)."""
    a = np.array(NOOP)
    a[0], a[3], a[4] = int(forward), 12 + pitch, 12 + yaw
    if fn is not None:
        a[5] = FUNCTIONAL[fn]
        a[6 if fn == "craft" else 7] = arg
    return fake.step(a)[0]


def slot(obs: dict[str, Any], name: str) -> int:
    return [str(n) for n in obs["inventory"]["name"]].index(name)
