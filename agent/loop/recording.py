"""An episode played by a rollout worker, kept in memory and replayed into the store by one writer.

A worker's runner writes to a :class:`RecordingStore` (the store methods the
runner calls, recorded as events; frames zlib-compressed in the worker). The
driver replays the whole record with :func:`replay` into the real store, so
only one process writes SQLite and an episode lands whole or not at all.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from memory.records import CallStats, Failure, Subgoal
from memory.store import ExperienceStore, encode_state


@dataclass
class PlayedEpisode:
    key: str
    """The episode spec's id (task/seed): a retried spec is stored once."""
    events: list[tuple[Any, ...]] = field(default_factory=list)
    success: bool = False
    steps: int = 0
    outcome: str = ""


class RecordingStore:
    """Stands in for :class:`ExperienceStore` inside a worker; collects one episode."""

    def __init__(self, key: str, frame_level: int = 1):
        self.record = PlayedEpisode(key)
        self._level = frame_level
        self._attempts = 0

    def begin_episode(
        self,
        run_id: int,
        task_id: str,
        category: str,
        seed: int,
        backend: str,
        frame_shape: tuple[int, ...],
    ) -> int:
        self.record.events.append(("episode", task_id, category, seed, backend, tuple(frame_shape)))
        return 1

    def begin_attempt(
        self, episode_id: int, subgoal: Subgoal, tier: str, step: int, corrects: int | None = None
    ) -> int:
        self._attempts += 1
        self.record.events.append(
            ("attempt", self._attempts, subgoal.to_dict(), tier, step, corrects)
        )
        return self._attempts

    def end_attempt(self, attempt_id: int, step: int, success: bool, failure: Failure | None):
        code, reason = (failure.code, failure.reason) if failure else (None, None)
        self.record.events.append(("end_attempt", attempt_id, step, bool(success), code, reason))

    def log_step(
        self,
        episode_id: int,
        t: int,
        attempt_id: int | None,
        obs: dict[str, np.ndarray],
        action: int,
        reward: float,
        actor: str = "slow",
        features: bytes | None = None,
        label: int | None = None,
    ) -> None:
        rgb = obs.get("rgb")
        frame = None if rgb is None else zlib.compress(np.ascontiguousarray(rgb), self._level)
        step = ("step", t, attempt_id, int(action), float(reward), *encode_state(obs), frame, actor,
                features, label)  # fmt: skip
        self.record.events.append(step)

    def log_planner_call(
        self,
        episode_id: int | None,
        attempt_id: int | None,
        kind: str,
        planner: str,
        stats: CallStats,
        latency_s: float,
    ) -> None:
        self.record.events.append(("call", attempt_id, kind, planner, asdict(stats), latency_s))

    def end_episode(
        self,
        episode_id: int,
        success: bool,
        steps: int,
        outcome: str,
        unlocked: list[str] | None = None,
    ) -> None:
        self.record.success, self.record.steps, self.record.outcome = bool(success), steps, outcome
        self.record.events.append(("end", bool(success), steps, outcome, list(unlocked or [])))

    def flush(self) -> None:
        pass


def replay(store: ExperienceStore, run_id: int, record: PlayedEpisode) -> int:
    """Write ``record`` into ``store`` under ``run_id``; returns the new episode id."""
    episode_id = 0
    attempts: dict[int, int] = {}
    for event in record.events:
        kind = event[0]
        if kind == "episode":
            _, task_id, category, seed, backend, shape = event
            episode_id = store.begin_episode(run_id, task_id, category, seed, backend, shape)
        elif kind == "attempt":
            _, local, subgoal, tier, step, corrects = event
            real = attempts.get(corrects) if corrects is not None else None
            attempts[local] = store.begin_attempt(episode_id, Subgoal(**subgoal), tier, step, real)
        elif kind == "end_attempt":
            _, local, step, success, code, reason = event
            failure = Failure(code, reason) if code is not None else None
            store.end_attempt(attempts[local], step, success, failure)
        elif kind == "step":
            _, t, local, action, reward, inv, status, pos, frame, actor, features, label = event
            store.log_step_encoded(episode_id, t, attempts.get(local), action, reward, inv, status,
                                   pos, frame, actor, features, label)  # fmt: skip
        elif kind == "call":
            _, local, call_kind, planner, stats, latency = event
            store.log_planner_call(
                episode_id,
                attempts.get(local) if local else None,
                call_kind,
                planner,
                CallStats(**stats),
                latency,
            )
        elif kind == "end":
            _, success, steps, outcome, unlocked = event
            store.end_episode(episode_id, success, steps, outcome, unlocked)
    return episode_id
