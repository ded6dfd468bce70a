"""The path features of the subgoal's own target, picked out of the feature vector.

The vector (``envs.features`` + ``envs.paths``) holds the cheapest walk's first moves to
every kind of thing; which one matters depends on the subgoal, and the policy has to
learn that from the subgoal's text embedding. :func:`goal_vector` hands it over
directly: the row of the thing the subgoal acts on (collect wood: a tree; make a
pickaxe: where a table, and a furnace if needed, are within reach; place a table: open
ground), the frontier row leaning toward where that thing tends to be, and whether the
faced cell is that thing. Everything is read from the vector, so stored steps are given
it when they are loaded (``memory.transitions``) and the executor appends it as it acts.

Layouts nest: the base vector (:data:`BASE_DIM`) is a prefix of the full one
(:data:`VECTOR_DIM`), which is a prefix of the goal layout (:data:`GOAL_VECTOR_DIM`); a
trunk reads the first ``vector_dim`` values of whatever it is given.
"""

from __future__ import annotations

import numpy as np
from crafter import constants

from envs.crafter_env import SEMANTIC_NAMES
from envs.features import BASE_DIM, FACED_AT, N_MATERIALS, VECTOR_DIM
from envs.paths import PER_TARGET, TARGETS

GOAL_DIM = 2 * PER_TARGET + 1
GOAL_VECTOR_DIM = VECTOR_DIM + GOAL_DIM
"""The full vector followed by the subgoal's own rows (what new trunks read)."""
_ROW = {name: BASE_DIM + PER_TARGET * i for i, name in enumerate(TARGETS)}
"""Path target -> where its row starts in the vector."""
SOURCES = {receive: m for m, rule in constants.collect.items() for receive in rule["receive"]}
"""Item -> the material that yields it (collect wood: a tree)."""
EXPLORE_TOWARD = {
    "tree": "tree", "stone": "stone", "coal": "coal", "iron": "iron", "diamond": "diamond",
    "water": "water", "grass": "grass", "cow": "grass", "zombie": "grass", "plant": "grass",
    "skeleton": "tunnel",
}  # fmt: skip
"""Thing -> the frontier variant (``envs.paths.LIKELY``) the slow tier's explorer leans
toward when looking for it (``agent.slow.explore.LIKELY``; a test keeps them equal)."""


def goal_target(skill: str, target: str) -> tuple[str | None, str]:
    """(path target the subgoal ``skill target`` acts on or None, frontier variant)."""
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
    return thing, EXPLORE_TOWARD.get(thing or "", "plain")


def goal_vector(vectors: np.ndarray, subgoals: list[tuple[str, str]]) -> np.ndarray:
    """(N, GOAL_DIM) float32 from (N, VECTOR_DIM) vectors and each row's (skill, target)."""
    out = np.zeros((len(vectors), GOAL_DIM), dtype=np.float32)
    for i, (vector, (skill, target)) in enumerate(zip(vectors, subgoals, strict=True)):
        thing, group = goal_target(skill, target)
        rows = [thing, f"frontier_{group}"]
        for j, name in enumerate(rows):
            if name is None:
                continue
            at = _ROW[name]
            out[i, PER_TARGET * j : PER_TARGET * (j + 1)] = vector[at : at + PER_TARGET]
        if thing in SEMANTIC_NAMES:
            faced = vector[FACED_AT : FACED_AT + N_MATERIALS]
            out[i, -1] = faced[SEMANTIC_NAMES.index(thing) + 1]
    return out


def with_goal(vectors: np.ndarray, subgoals: list[tuple[str, str]]) -> np.ndarray:
    """(N, VECTOR_DIM) -> (N, GOAL_VECTOR_DIM) float32: each vector and its subgoal's rows."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != VECTOR_DIM:
        raise ValueError(f"goal rows are read from (N, {VECTOR_DIM}) vectors; got {vectors.shape}")
    return np.concatenate([vectors, goal_vector(vectors, subgoals)], axis=1)
