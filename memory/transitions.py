"""Training transitions read from an experience store: labelled steps of a category, as arrays.

Every step stores the policy's input (``envs.features``) and, where the slow
controller was asked, its label: the set of actions it rates equally best there
(on its own steps, and on every fast-tier step: DAgger). Behaviour cloning learns
those labels, never the fast tier's own samples or the guard's reflexes. Each
transition carries the subgoal it served, so the policy is conditioned on the
subgoal's text embedding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from envs.features import VECTOR_DIM, decode
from envs.goal import with_goal
from memory.labels import split
from memory.store import AttemptRecord, ExperienceStore


class NoTrainingDataError(RuntimeError):
    """The store holds no verified steps matching the request."""


@dataclass
class Transitions:
    grids: np.ndarray
    """(N, 2, crop, crop) uint8: the map-memory crop each action was chosen on."""
    vectors: np.ndarray
    """(N, vector_dim) float32: the feature vector at that step (``envs.features``), followed
    by its subgoal's own path rows (``envs.goal``; steps recorded before the path features
    have the base vector alone). A trunk reads the first ``vector_dim`` values."""
    text_ids: np.ndarray
    """(N,) int64 index into :attr:`texts`: the subgoal being pursued."""
    texts: list[str]
    actions: np.ndarray
    """(N,) int64: the action taken (by the actor)."""
    labels: np.ndarray
    """(N,) int64 bitmask: the teacher's equally good actions (never 0 here)."""
    actors: np.ndarray
    """(N,) str: who took the action (slow, fast)."""
    categories: np.ndarray
    """(N,) str: the subgoal's category."""
    episodes: np.ndarray
    """(N,) int64: a key of the episode the step came from (store index * 2**32 + id)."""
    attempts: np.ndarray
    """(N,) int64: a key of the attempt the step belongs to (store index * 2**32 + id)."""
    success: np.ndarray
    """(N,) bool: the attempt was verified."""
    episode_names: np.ndarray
    """(N,) int64: the episode's task and seed as a number (``episode_name``): the same
    whichever order a worker pool stored episodes in. The validation split reads it."""
    unseen: np.ndarray
    """(N,) bool: the label came from a privileged teacher and depends on what the memory
    has not seen (``memory.labels``)."""

    def __len__(self) -> int:
        return len(self.actions)

    def subset(self, mask: np.ndarray) -> Transitions:
        return Transitions(**{
            f.name: getattr(self, f.name) if f.name == "texts" else getattr(self, f.name)[mask]
            for f in fields(self)
        })  # fmt: skip

    def concat(self, other: Transitions) -> Transitions:
        """Both sets in one (``other``'s subgoal texts re-indexed into this one's)."""
        texts = list(self.texts)
        index = {t: i for i, t in enumerate(texts)}
        remap = np.array([index.setdefault(t, len(index)) for t in other.texts], dtype=np.int64)
        texts = list(index)
        out = {}
        for f in fields(self):
            if f.name == "texts":
                out[f.name] = texts
            elif f.name == "text_ids":
                ids = remap[other.text_ids] if len(other) else other.text_ids
                out[f.name] = np.concatenate([self.text_ids, ids])
            else:
                out[f.name] = np.concatenate([getattr(self, f.name), getattr(other, f.name)])
        return Transitions(**out)

    def split(self, every: int) -> tuple[Transitions, Transitions]:
        """(train, validation): episodes whose name (task and seed) hashes to a multiple of
        ``every`` are held out whole (0 = none), about one in ``every``. The rule depends on
        the episode alone, not on the order a worker pool stored episodes in, so the trunk
        and every adapter trained from one store hold out the same episodes, run after run."""
        if every <= 0:
            return self, self.subset(np.zeros(len(self), dtype=bool))
        mask = self.episode_names % every == 0
        return self.subset(~mask), self.subset(mask)

    def label_sets(self, n_actions: int) -> np.ndarray:
        """(N, n_actions) bool: the teacher's equally good actions per step."""
        bits = np.arange(n_actions, dtype=np.int64)
        return ((self.labels[:, None] >> bits[None, :]) & 1).astype(bool)

    def agrees(self) -> np.ndarray:
        """(N,) bool: the action taken is one the teacher rates best."""
        return ((self.labels >> self.actions) & 1).astype(bool)

    def digest(self) -> str:
        """sha256 over the data: names the exact training set in adapter metadata."""
        h = hashlib.sha256()
        for arr in (self.grids, self.vectors, self.text_ids, self.actions, self.labels):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update("\n".join(self.texts).encode())
        return h.hexdigest()


def episode_name(task_id: str, seed: int) -> int:
    """A task and seed as a non-negative int64 (blake2b): names an episode across stores."""
    digest = hashlib.blake2b(f"{task_id}:{seed}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def load_transitions(
    stores: list[Path],
    categories: tuple[str, ...] | None = None,
    tiers: tuple[str, ...] = ("slow", "fast"),
    max_transitions: int | None = None,
    seed: int = 0,
    keep: Callable[[AttemptRecord], bool] | None = None,
    verified_only: bool = False,
) -> Transitions:
    """Every labelled step (slow or fast actor, never the guard) of attempts in ``stores``.

    Attempts are chosen by tier and category (and, with ``verified_only``, success);
    ``keep`` replaces that filter. ``max_transitions`` keeps a uniform random subset
    (fixed by ``seed``). Episodes are read by (run, task, seed), not in the order a worker
    pool finished them, so the same experience gives the same arrays and the same training.
    """
    cols: dict[str, list] = {f: [] for f in ("grids", "vectors", "text_ids", "actions", "labels",
                                             "actors", "categories", "episodes", "attempts",
                                             "success", "episode_names", "subgoals")}  # fmt: skip
    texts: dict[str, int] = {}
    for index, path in enumerate(stores):
        if not Path(path).exists():
            raise FileNotFoundError(f"no experience store at {path}; run `peam run` first")
        with ExperienceStore(path) as store:
            for episode in store.episodes(by_play=True):  # not by completion: reproducible
                chosen = {
                    a.id: a
                    for a in store.attempts(episode.id)
                    if (
                        keep(a)
                        if keep is not None
                        else a.success is not None
                        and (a.success or not verified_only)
                        and a.tier in tiers
                        and (categories is None or a.subgoal.category in categories)
                    )
                }
                if not chosen:
                    continue
                for step in store.steps(episode.id, frames=False, features=True):
                    attempt = chosen.get(step.attempt_id) if step.attempt_id is not None else None
                    if attempt is None or not step.label or step.features is None:
                        continue
                    if step.actor not in ("slow", "fast"):
                        continue
                    f = decode(step.features)
                    if cols["vectors"] and len(f.vector) != len(cols["vectors"][0]):
                        raise NoTrainingDataError(
                            f"{path}: steps recorded with two feature layouts"
                            f" ({len(cols['vectors'][0])} and {len(f.vector)} values); train"
                            " from stores recorded by one version (record them again)"
                        )
                    cols["grids"].append(f.grid)
                    cols["vectors"].append(f.vector)
                    cols["text_ids"].append(texts.setdefault(attempt.subgoal.text, len(texts)))
                    cols["subgoals"].append((attempt.subgoal.skill, attempt.subgoal.target))
                    cols["actions"].append(step.action)
                    cols["labels"].append(step.label)
                    cols["actors"].append(step.actor)
                    cols["categories"].append(attempt.subgoal.category)
                    cols["episodes"].append(index * 2**32 + episode.id)
                    cols["attempts"].append(index * 2**32 + attempt.id)
                    cols["success"].append(bool(attempt.success))
                    cols["episode_names"].append(episode_name(episode.task_id, episode.seed))
    if not cols["actions"]:
        wanted = ", ".join(categories) if categories else "any category"
        raise NoTrainingDataError(
            f"no labelled {'/'.join(tiers)}-tier steps for {wanted} in "
            f"{', '.join(str(p) for p in stores)}; record episodes with `peam run` first"
        )
    labels, unseen = split(np.asarray(cols["labels"], dtype=np.int64))
    vectors = np.stack(cols["vectors"]).astype(np.float32)
    if vectors.shape[1] == VECTOR_DIM:
        vectors = with_goal(vectors, cols["subgoals"])
    data = Transitions(
        np.stack(cols["grids"]),
        vectors,
        np.asarray(cols["text_ids"], dtype=np.int64),
        list(texts),
        np.asarray(cols["actions"], dtype=np.int64),
        labels,
        np.asarray(cols["actors"]),
        np.asarray(cols["categories"]),
        np.asarray(cols["episodes"], dtype=np.int64),
        np.asarray(cols["attempts"], dtype=np.int64),
        np.asarray(cols["success"], dtype=bool),
        np.asarray(cols["episode_names"], dtype=np.int64),
        unseen,
    )
    if max_transitions is not None and len(data) > max_transitions:
        pick = np.random.default_rng(seed).choice(len(data), max_transitions, replace=False)
        data = data.subset(np.sort(pick))
    return data
