"""Training transitions read from an experience store: verified steps of a category, as arrays.

Only steps of attempts the environment verified are used (behaviour cloning
learns what worked). Each transition carries the subgoal it served, so the
policy is conditioned on the subgoal's text embedding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from envs.schema import state_vector
from memory.store import AttemptRecord, ExperienceStore


class NoTrainingDataError(RuntimeError):
    """The store holds no verified steps matching the request."""


@dataclass
class Transitions:
    frames: np.ndarray
    """(N, H, W, 3) uint8: the observation each action was taken from."""
    states: np.ndarray
    """(N, state_dim) float32: inventory, status, last action (``envs.schema.state_vector``)."""
    text_ids: np.ndarray
    """(N,) int64 index into :attr:`texts`: the subgoal being pursued."""
    texts: list[str]
    actions: np.ndarray
    """(N,) int64: the action the verified attempt took."""
    done: np.ndarray
    """(N,) float32: 1.0 on the step that completed the subgoal."""
    categories: np.ndarray
    """(N,) str: the subgoal's category."""
    episodes: np.ndarray
    """(N,) int64: a key of the episode the step came from (store index * 2**32 + id)."""
    attempts: np.ndarray
    """(N,) int64: a key of the attempt the step belongs to (store index * 2**32 + id)."""

    def __len__(self) -> int:
        return len(self.actions)

    def subset(self, mask: np.ndarray) -> Transitions:
        return Transitions(
            self.frames[mask],
            self.states[mask],
            self.text_ids[mask],
            self.texts,
            self.actions[mask],
            self.done[mask],
            self.categories[mask],
            self.episodes[mask],
            self.attempts[mask],
        )

    def split(self, every: int) -> tuple[Transitions, Transitions]:
        """(train, validation): every ``every``-th episode is held out whole (0 = none)."""
        if every <= 0:
            return self, self.subset(np.zeros(len(self), dtype=bool))
        held = np.unique(self.episodes)[::every]
        mask = np.isin(self.episodes, held)
        return self.subset(~mask), self.subset(mask)

    def digest(self) -> str:
        """sha256 over the data: names the exact training set in adapter metadata."""
        h = hashlib.sha256()
        for arr in (self.frames, self.states, self.text_ids, self.actions, self.done):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update("\n".join(self.texts).encode())
        return h.hexdigest()


def load_transitions(
    stores: list[Path],
    categories: tuple[str, ...] | None = None,
    tiers: tuple[str, ...] = ("slow", "fast"),
    max_transitions: int | None = None,
    seed: int = 0,
    keep: Callable[[AttemptRecord], bool] | None = None,
) -> Transitions:
    """Every step of a verified attempt in ``stores`` (optionally only some categories/tiers).

    ``keep`` replaces the verified/tier/category filter (e.g. failed attempts for
    preference pairs). ``max_transitions`` keeps a uniform random subset (fixed by ``seed``).
    """
    frames, states, text_ids, actions, done, cats, eps, atts = [], [], [], [], [], [], [], []
    texts: dict[str, int] = {}
    for index, path in enumerate(stores):
        if not Path(path).exists():
            raise FileNotFoundError(f"no experience store at {path}; run `peam run` first")
        with ExperienceStore(path) as store:
            for episode in store.episodes():
                good = {
                    a.id: a
                    for a in store.attempts(episode.id)
                    if (
                        keep(a)
                        if keep is not None
                        else a.success
                        and a.tier in tiers
                        and (categories is None or a.subgoal.category in categories)
                    )
                }
                if not good:
                    continue
                last_action = -1
                for step in store.steps(episode.id):
                    attempt = good.get(step.attempt_id) if step.attempt_id is not None else None
                    previous, last_action = last_action, step.action
                    if attempt is None or step.frame is None:
                        continue
                    text = attempt.subgoal.text
                    frames.append(step.frame)
                    states.append(
                        state_vector({"inventory": step.inventory, "status": step.status}, previous)
                    )
                    text_ids.append(texts.setdefault(text, len(texts)))
                    actions.append(step.action)
                    last = step.t == (attempt.step_end or 0) - 1
                    done.append(1.0 if attempt.success and last else 0.0)
                    cats.append(attempt.subgoal.category)
                    eps.append(index * 2**32 + episode.id)
                    atts.append(index * 2**32 + attempt.id)
    if not actions:
        wanted = ", ".join(categories) if categories else "any category"
        raise NoTrainingDataError(
            f"no verified {'/'.join(tiers)}-tier steps for {wanted} in "
            f"{', '.join(str(p) for p in stores)}; record episodes with `peam run` first"
        )
    data = Transitions(
        np.stack(frames),
        np.stack(states).astype(np.float32),
        np.asarray(text_ids, dtype=np.int64),
        list(texts),
        np.asarray(actions, dtype=np.int64),
        np.asarray(done, dtype=np.float32),
        np.asarray(cats),
        np.asarray(eps, dtype=np.int64),
        np.asarray(atts, dtype=np.int64),
    )
    if max_transitions is not None and len(data) > max_transitions:
        keep = np.random.default_rng(seed).choice(len(data), max_transitions, replace=False)
        data = data.subset(np.sort(keep))
    return data
