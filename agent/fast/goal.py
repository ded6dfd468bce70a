"""The path features of the subgoal's own target, picked out of the feature vector.

The vector (``envs.features`` + ``envs.paths``) holds the cheapest walk's first moves to
every kind of thing; which one matters depends on the subgoal, and the policy has to
learn that from the subgoal's text embedding. :func:`goal_vector` hands it over
directly: the row of the thing the subgoal acts on (collect wood: a tree; make a
pickaxe: where a table, and a furnace if needed, are within reach; place a table: open
ground), the frontier row leaning toward where that thing tends to be, and whether the
faced cell is that thing. Everything is read from the vector, so stored steps can be
given it after the fact.
"""

from __future__ import annotations

import numpy as np
from crafter import constants

from agent.slow.explore import LIKELY as EXPLORE_LIKELY
from agent.slow.recipe_planner import SOURCES
from envs.crafter_env import SEMANTIC_NAMES
from envs.features import BASE_DIM, KINDS, N_MATERIALS
from envs.paths import LIKELY, PER_TARGET, TARGETS
from memory.records import Subgoal

GOAL_DIM = 2 * PER_TARGET + 1
_FACED = 4 * (len(KINDS) + 1) + 4
"""Where the faced cell's one-hot material starts in the base vector."""
_GROUP_OF = {tuple(v): k for k, v in LIKELY.items()}


def goal_target(subgoal: Subgoal) -> tuple[str | None, str]:
    """(path target the subgoal acts on or None, frontier variant to explore toward)."""
    skill, target = subgoal.skill, subgoal.target
    if skill == "collect":
        thing = SOURCES.get(target)
    elif skill in ("defeat", "eat"):
        thing = target
    elif skill == "make":
        needs = constants.make.get(target, {}).get("nearby", ())
        thing = "near_table_furnace" if "furnace" in needs else "near_table"
    elif skill == "place":
        thing = "near_table" if target == "furnace" else "grass"
    else:
        thing = None
    if thing not in TARGETS:
        thing = None
    group = _GROUP_OF.get(tuple(EXPLORE_LIKELY.get(thing or "", ())), "plain")
    return thing, group


def goal_vector(vectors: np.ndarray, subgoals: list[Subgoal]) -> np.ndarray:
    """(N, GOAL_DIM) float32 from (N, VECTOR_DIM) vectors and each row's subgoal."""
    out = np.zeros((len(vectors), GOAL_DIM), dtype=np.float32)
    for i, (vector, subgoal) in enumerate(zip(vectors, subgoals, strict=True)):
        thing, group = goal_target(subgoal)
        rows = [thing, f"frontier_{group}"]
        for j, name in enumerate(rows):
            if name is None:
                continue
            at = BASE_DIM + PER_TARGET * TARGETS.index(name)
            out[i, PER_TARGET * j : PER_TARGET * (j + 1)] = vector[at : at + PER_TARGET]
        if thing in SEMANTIC_NAMES:
            faced = vector[_FACED : _FACED + N_MATERIALS]
            out[i, -1] = faced[SEMANTIC_NAMES.index(thing) + 1]
    return out
