"""The experience store: every run, episode, attempt, step and planner call, in SQLite (WAL).

Written as it happens, in transactions: an episode's steps are committed in
batches by a background writer while it runs, and its status turns ``done``
only after all of them are, so a crash leaves committed episodes intact and at
most one ``running`` episode, which :meth:`ExperienceStore.discard_incomplete`
removes.
Readers in other processes see committed data while the runner writes.
"""

from __future__ import annotations

import json
import sqlite3
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memory.records import CallStats, Failure, Subgoal
from memory.step_writer import StepWriter

SCHEMA_VERSION = 4
"""2: steps record who chose the action (``actor``: slow, fast or guard); episodes record the
achievements they unlocked (``unlocked``, a JSON list). 3: steps store the policy's input
(``features``: ``envs.features``, compressed) and the teacher's label (``label``: a bitmask of
the equally good actions the slow controller would take there; NULL = none). 4: planner calls
record the model requests they made and how many subgoals the model planned and the offline
planner and the plan head added (``requests``, ``model_subgoals``, ``offline_subgoals``,
``head_subgoals``); a version-3 store is
upgraded in place (its calls count 0 there)."""
PLANNING_KEYS = (
    "planner_calls",
    "model_requests",
    "model_subgoals",
    "offline_subgoals",
    "head_subgoals",
)
"""Per episode: planner calls, requests that reached the model, subgoals the model planned
itself, subgoals the offline planner added or took over, subgoals the plan head planned."""
_UPGRADES = {
    3: [
        f"ALTER TABLE planner_calls ADD COLUMN {c} INTEGER NOT NULL DEFAULT 0"
        for c in ("requests", "model_subgoals", "offline_subgoals", "head_subgoals")
    ]
}
"""Schema version -> the statements that take a store of that version to the next one."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, config TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS episodes (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id),
    task_id TEXT NOT NULL, category TEXT NOT NULL, seed INTEGER NOT NULL, backend TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running', success INTEGER, steps INTEGER NOT NULL DEFAULT 0,
    frame_shape TEXT, outcome TEXT, started REAL NOT NULL, ended REAL, unlocked TEXT);
CREATE INDEX IF NOT EXISTS episodes_by_task ON episodes(run_id, task_id, seed);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY, episode_id INTEGER NOT NULL REFERENCES episodes(id),
    skill TEXT NOT NULL, target TEXT NOT NULL, count INTEGER NOT NULL, category TEXT NOT NULL,
    tier TEXT NOT NULL, step_start INTEGER NOT NULL, step_end INTEGER,
    success INTEGER, failure_code TEXT, failure_reason TEXT,
    corrects INTEGER REFERENCES attempts(id), started REAL NOT NULL, ended REAL);
CREATE INDEX IF NOT EXISTS attempts_by_episode ON attempts(episode_id);
CREATE TABLE IF NOT EXISTS steps (
    episode_id INTEGER NOT NULL REFERENCES episodes(id), t INTEGER NOT NULL,
    attempt_id INTEGER, action INTEGER NOT NULL, reward REAL NOT NULL,
    inventory BLOB NOT NULL, status BLOB NOT NULL, position BLOB NOT NULL, actor TEXT,
    label INTEGER, features BLOB, frame BLOB, PRIMARY KEY (episode_id, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS planner_calls (
    id INTEGER PRIMARY KEY, episode_id INTEGER REFERENCES episodes(id), attempt_id INTEGER,
    kind TEXT NOT NULL, planner TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL, latency_s REAL NOT NULL, cached INTEGER NOT NULL,
    fallback_reason TEXT, created REAL NOT NULL, requests INTEGER NOT NULL DEFAULT 0,
    model_subgoals INTEGER NOT NULL DEFAULT 0, offline_subgoals INTEGER NOT NULL DEFAULT 0,
    head_subgoals INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS calls_by_episode ON planner_calls(episode_id);
"""


class SchemaVersionError(RuntimeError):
    """The store was written by a different schema version."""


@dataclass(frozen=True)
class EpisodeRecord:
    id: int
    task_id: str
    category: str
    seed: int
    backend: str
    status: str
    success: bool | None
    steps: int
    outcome: str | None
    unlocked: tuple[str, ...] = ()
    """Achievements unlocked in the episode."""


@dataclass(frozen=True)
class AttemptRecord:
    id: int
    episode_id: int
    subgoal: Subgoal
    tier: str
    step_start: int
    step_end: int | None
    success: bool | None
    failure_code: str | None
    failure_reason: str | None
    corrects: int | None


@dataclass(frozen=True)
class StepRecord:
    t: int
    attempt_id: int | None
    action: int
    reward: float
    inventory: np.ndarray
    status: np.ndarray
    position: np.ndarray
    frame: np.ndarray | None
    actor: str | None = None
    """Who chose the action: slow (the controller), fast (the policy) or guard (the slow
    tier's survival reflexes, before a fast step or in its own attempt: not a step of the
    subgoal, so never labelled)."""
    label: int | None = None
    """Bitmask of the actions the slow controller rates equally best here (None: no label)."""
    features: bytes | None = None
    """The policy's input at this step (``envs.features.decode``), when read."""


class ExperienceStore:
    """SQLite experience store in WAL mode; one writer, any number of readers."""

    def __init__(self, path: str | Path, flush_every: int = 256, frame_level: int = 1):
        self.path = Path(path)
        self.flush_every = flush_every
        self.frame_level = frame_level
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._init_schema()
        self._steps = StepWriter(self.path, frame_level, flush_every)

    # -- schema ------------------------------------------------------------------

    def _init_schema(self) -> None:
        with self._tx():
            for statement in _SCHEMA.strip().split(";"):
                if statement.strip():
                    self._db.execute(statement)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
                return
            version = int(row[0])
            while version in _UPGRADES:
                for statement in _UPGRADES[version]:
                    self._db.execute(statement)
                version += 1
                self._db.execute(
                    "UPDATE meta SET value=? WHERE key='schema_version'", (str(version),)
                )
            if version != SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"{self.path} has schema version {row[0]}, this runtime reads"
                    f" {SCHEMA_VERSION} (since version 3 every step stores the policy's input"
                    " and the teacher's label);"
                    " play it again into a new run folder (or --overwrite), or read it with the"
                    " peam version that wrote it"
                )

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)

    def close(self) -> None:
        self._steps.close()
        self._db.close()

    def __enter__(self) -> ExperienceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------

    def start_run(self, name: str, config: dict[str, Any]) -> int:
        """The id of run ``name``, created with ``config`` if new."""
        row = self._db.execute("SELECT id FROM runs WHERE name=?", (name,)).fetchone()
        if row is not None:
            return int(row[0])
        with self._tx():
            cur = self._db.execute(
                "INSERT INTO runs (name, config, created) VALUES (?, ?, ?)",
                (name, json.dumps(config), time.time()),
            )
        return int(cur.lastrowid or 0)

    def begin_episode(
        self,
        run_id: int,
        task_id: str,
        category: str,
        seed: int,
        backend: str,
        frame_shape: tuple[int, ...],
    ) -> int:
        with self._tx():
            cur = self._db.execute(
                "INSERT INTO episodes (run_id, task_id, category, seed, backend, frame_shape,"
                " started) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    task_id,
                    category,
                    seed,
                    backend,
                    json.dumps(list(frame_shape)),
                    time.time(),
                ),
            )
        return int(cur.lastrowid or 0)

    def begin_attempt(
        self, episode_id: int, subgoal: Subgoal, tier: str, step: int, corrects: int | None = None
    ) -> int:
        self._steps.hand_off()  # steps become durable as attempts go by, not only per episode
        with self._tx():
            cur = self._db.execute(
                "INSERT INTO attempts (episode_id, skill, target, count, category, tier,"
                " step_start, corrects, started) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    episode_id,
                    subgoal.skill,
                    subgoal.target,
                    subgoal.count,
                    subgoal.category,
                    tier,
                    step,
                    corrects,
                    time.time(),
                ),
            )
        return int(cur.lastrowid or 0)

    def end_attempt(
        self, attempt_id: int, step: int, success: bool, failure: Failure | None
    ) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE attempts SET step_end=?, success=?, failure_code=?, failure_reason=?,"
                " ended=? WHERE id=?",
                (
                    step,
                    int(success),
                    failure.code if failure else None,
                    failure.reason if failure else None,
                    time.time(),
                    attempt_id,
                ),
            )

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
        """Record the observation an action was chosen on, the action, its reward, who
        chose it (``actor``: slow, fast or guard), the policy's input (``features``, from
        ``envs.features.encode``) and the teacher's label (a bitmask of actions, or None).

        Rows are committed by a background writer within milliseconds; every
        attempt and episode boundary waits for them (:meth:`flush`). The frame
        is read by that writer later: the caller must not modify ``obs["rgb"]``
        in place afterwards (backends return a new array every step).
        """
        self._steps.put((episode_id, t, attempt_id, int(action), float(reward),
                         *encode_state(obs), actor, label, features, obs.get("rgb")))  # fmt: skip

    def log_step_encoded(
        self,
        episode_id: int,
        t: int,
        attempt_id: int | None,
        action: int,
        reward: float,
        inventory: bytes,
        status: bytes,
        position: bytes,
        frame: bytes | None,
        actor: str = "slow",
        features: bytes | None = None,
        label: int | None = None,
    ) -> None:
        """:meth:`log_step` with the arrays already encoded (int32/float32 bytes, zlib frame
        and features), as a rollout worker sends them."""
        self._steps.put(
            (
                episode_id,
                t,
                attempt_id,
                int(action),
                float(reward),
                inventory,
                status,
                position,
                actor,
                label,
                features,
                frame,
            )
        )

    def flush(self) -> None:
        """Block until every logged step is committed."""
        self._steps.flush()

    def log_planner_call(
        self,
        episode_id: int | None,
        attempt_id: int | None,
        kind: str,
        planner: str,
        stats: CallStats,
        latency_s: float,
    ) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO planner_calls (episode_id, attempt_id, kind, planner, prompt_tokens,"
                " completion_tokens, latency_s, cached, fallback_reason, created, requests,"
                " model_subgoals, offline_subgoals, head_subgoals)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    episode_id,
                    attempt_id,
                    kind,
                    planner,
                    stats.prompt_tokens,
                    stats.completion_tokens,
                    latency_s,
                    int(stats.cached),
                    stats.fallback_reason,
                    time.time(),
                    stats.requests,
                    stats.model_subgoals,
                    stats.offline_subgoals,
                    stats.head_subgoals,
                ),
            )

    def end_episode(
        self,
        episode_id: int,
        success: bool,
        steps: int,
        outcome: str,
        unlocked: list[str] | None = None,
    ) -> None:
        """Mark the episode done in the same transaction as its last steps (without waiting);
        ``unlocked``: the achievements unlocked in it."""
        self._steps.finish(
            "UPDATE episodes SET status='done', success=?, steps=?, outcome=?, ended=?,"
            " unlocked=? WHERE id=?",
            (int(success), steps, outcome, time.time(), json.dumps(unlocked or []), episode_id),
        )

    def discard_incomplete(self, run_id: int | None = None) -> int:
        """Delete episodes that never finished (a crash) and everything they wrote."""
        self.flush()
        query = "SELECT id FROM episodes WHERE status != 'done'"
        args: tuple[Any, ...] = ()
        if run_id is not None:
            query += " AND run_id=?"
            args = (run_id,)
        ids = [row[0] for row in self._db.execute(query, args)]
        with self._tx():
            for table, key in (
                ("steps", "episode_id"),
                ("planner_calls", "episode_id"),
                ("attempts", "episode_id"),
                ("episodes", "id"),
            ):
                self._db.executemany(f"DELETE FROM {table} WHERE {key}=?", [(i,) for i in ids])
        return len(ids)

    # -- reading -----------------------------------------------------------------

    def episode(self, episode_id: int) -> EpisodeRecord:
        """One episode by id."""
        self.flush()
        r = self._db.execute(
            f"SELECT {_EPISODE_COLUMNS} FROM episodes WHERE id=?", (episode_id,)
        ).fetchone()
        if r is None:
            raise KeyError(f"no episode {episode_id} in {self.path}")
        return _episode(r)

    def episodes(
        self, run_id: int | None = None, done_only: bool = True, by_play: bool = False
    ) -> list[EpisodeRecord]:
        """Episodes in the order they were stored, or with ``by_play`` by (run, task, seed):
        an order that does not depend on which worker finished first."""
        self.flush()  # see this process's own writes
        query = f"SELECT {_EPISODE_COLUMNS} FROM episodes"
        clauses, args = [], []
        if done_only:
            clauses.append("status='done'")
        if run_id is not None:
            clauses.append("run_id=?")
            args.append(run_id)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        order = " ORDER BY run_id, task_id, seed, id" if by_play else " ORDER BY id"
        rows = self._db.execute(query + order, args).fetchall()
        return [_episode(r) for r in rows]

    def attempts(self, episode_id: int | None = None) -> list[AttemptRecord]:
        query = (
            "SELECT id, episode_id, skill, target, count, category, tier, step_start, step_end,"
            " success, failure_code, failure_reason, corrects FROM attempts"
        )
        rows = self._db.execute(
            query
            + (" WHERE episode_id=? ORDER BY id" if episode_id is not None else " ORDER BY id"),
            (episode_id,) if episode_id is not None else (),
        ).fetchall()
        return [
            AttemptRecord(
                r[0],
                r[1],
                Subgoal(r[2], r[3], r[4], r[5]),
                r[6],
                r[7],
                r[8],
                None if r[9] is None else bool(r[9]),
                r[10],
                r[11],
                r[12],
            )
            for r in rows
        ]

    def steps(
        self, episode_id: int, frames: bool = True, features: bool = False, at: int | None = None
    ) -> Iterator[StepRecord]:
        """The episode's steps in order (only step ``at`` when given); ``frames``/``features``
        read those columns too."""
        self.flush()  # see this process's own writes
        shape_row = self._db.execute(
            "SELECT frame_shape FROM episodes WHERE id=?", (episode_id,)
        ).fetchone()
        shape = tuple(json.loads(shape_row[0])) if shape_row and shape_row[0] else None
        cols = "t, attempt_id, action, reward, inventory, status, position, actor, label"
        cols += ", frame" if frames else ", NULL"
        cols += ", features" if features else ", NULL"
        where, args = (
            ("episode_id=? AND t=?", (episode_id, at))
            if at is not None
            else (
                "episode_id=?",
                (episode_id,),
            )
        )
        for r in self._db.execute(f"SELECT {cols} FROM steps WHERE {where} ORDER BY t", args):
            frame = None
            if r[9] is not None and shape is not None:
                frame = np.frombuffer(zlib.decompress(r[9]), dtype=np.uint8).reshape(shape)
            yield StepRecord(
                r[0],
                r[1],
                r[2],
                r[3],
                np.frombuffer(r[4], dtype=np.int32),
                np.frombuffer(r[5], dtype=np.float32),
                np.frombuffer(r[6], dtype=np.float32),
                frame,
                r[7],
                r[8],
                None if r[10] is None else zlib.decompress(r[10]),
            )

    def start_state(self, episode_id: int, t: int) -> np.ndarray | None:
        """Inventory and status (one float vector) at step ``t`` of an episode, or None."""
        self.flush()
        row = self._db.execute(
            "SELECT inventory, status FROM steps WHERE episode_id=? AND t=?", (episode_id, t)
        ).fetchone()
        if row is None:
            return None
        return np.concatenate(
            [
                np.frombuffer(row[0], dtype=np.int32).astype(np.float32),
                np.frombuffer(row[1], dtype=np.float32),
            ]
        )

    def step_count(self, episode_id: int) -> int:
        self.flush()  # see this process's own writes
        return int(
            self._db.execute(
                "SELECT COUNT(*) FROM steps WHERE episode_id=?", (episode_id,)
            ).fetchone()[0]
        )

    def tokens_by_episode(self, episode_id: int | None = None) -> dict[int, tuple[int, int]]:
        """Episode id -> (prompt, completion) LLM tokens spent (cache hits spend none); only
        ``episode_id``'s when given (an index lookup, whatever the store's size)."""
        where, args = ("WHERE episode_id=?", (episode_id,)) if episode_id is not None else ("", ())
        rows = self._db.execute(
            "SELECT episode_id, SUM(prompt_tokens), SUM(completion_tokens) FROM planner_calls"
            f" {where} GROUP BY episode_id",
            args,
        )
        return {r[0]: (int(r[1]), int(r[2])) for r in rows if r[0] is not None}

    def planning_by_episode(self, episode_id: int | None = None) -> dict[int, dict[str, int]]:
        """Episode id -> planner calls, model requests, subgoals the model planned and subgoals
        the offline planner added; only ``episode_id``'s when given."""
        where, args = ("WHERE episode_id=?", (episode_id,)) if episode_id is not None else ("", ())
        rows = self._db.execute(
            "SELECT episode_id, COUNT(*), SUM(requests), SUM(model_subgoals),"
            " SUM(offline_subgoals), SUM(head_subgoals) FROM planner_calls"
            f" {where} GROUP BY episode_id",
            args,
        )
        keys = PLANNING_KEYS
        return {
            r[0]: dict(zip(keys, (int(v) for v in r[1:]), strict=True))
            for r in rows
            if r[0] is not None
        }

    def attempt_costs(self) -> dict[int, tuple[float, float]]:
        """Attempt id -> (LLM tokens, wall seconds) it cost: its own correction calls plus an
        equal share of its episode's plan calls; seconds from its start to its end."""
        self.flush()
        own: dict[int, float] = {}
        shared: dict[int, float] = {}
        for episode_id, attempt_id, tokens in self._db.execute(
            "SELECT episode_id, attempt_id, SUM(prompt_tokens + completion_tokens)"
            " FROM planner_calls GROUP BY episode_id, attempt_id"
        ):
            if attempt_id is None:
                shared[episode_id] = float(tokens)
            else:
                own[attempt_id] = float(tokens)
        counts = dict(
            self._db.execute("SELECT episode_id, COUNT(*) FROM attempts GROUP BY episode_id")
        )
        out = {}
        for attempt_id, episode_id, started, ended in self._db.execute(
            "SELECT id, episode_id, started, ended FROM attempts"
        ):
            tokens = own.get(attempt_id, 0.0) + shared.get(episode_id, 0.0) / counts[episode_id]
            out[attempt_id] = (tokens, float((ended or started) - started))
        return out

    def durations(self) -> dict[int, float]:
        """Wall seconds of every finished episode (start to end, env and decisions together)."""
        rows = self._db.execute(
            "SELECT id, ended - started FROM episodes WHERE ended IS NOT NULL"
        ).fetchall()
        return {int(i): float(d) for i, d in rows}

    def attempts_by_tier(
        self, episode_id: int | None = None
    ) -> dict[int, dict[str, tuple[int, int]]]:
        """Episode id -> tier -> (attempts, verified attempts); only ``episode_id``'s when given."""
        where, args = ("WHERE episode_id=?", (episode_id,)) if episode_id is not None else ("", ())
        rows = self._db.execute(
            "SELECT episode_id, tier, COUNT(*), SUM(COALESCE(success, 0)) FROM attempts"
            f" {where} GROUP BY episode_id, tier",
            args,
        )
        out: dict[int, dict[str, tuple[int, int]]] = {}
        for episode_id, tier, n, ok in rows:
            out.setdefault(episode_id, {})[tier] = (int(n), int(ok))
        return out

    def actions_by_actor(self) -> dict[str, int]:
        """Actor (fast, slow, guard; "unknown" in stores from before actors were recorded)
        -> actions it took, over the finished episodes."""
        self.flush()  # see this process's own writes
        rows = self._db.execute(
            "SELECT COALESCE(s.actor, 'unknown'), COUNT(*) FROM steps s"
            " JOIN episodes e ON e.id = s.episode_id WHERE e.status = 'done' GROUP BY 1"
        )
        return {str(actor): int(n) for actor, n in rows}

    def planner_calls(self, episode_id: int | None = None) -> list[dict[str, Any]]:
        cur = self._db.execute(
            "SELECT * FROM planner_calls"
            + (" WHERE episode_id=?" if episode_id is not None else ""),
            (episode_id,) if episode_id is not None else (),
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


_EPISODE_COLUMNS = "id, task_id, category, seed, backend, status, success, steps, outcome, unlocked"


def _episode(r: tuple[Any, ...]) -> EpisodeRecord:
    success = None if r[6] is None else bool(r[6])
    unlocked = tuple(json.loads(r[9])) if r[9] else ()
    return EpisodeRecord(r[0], r[1], r[2], r[3], r[4], r[5], success, r[7], r[8], unlocked)


def encode_state(obs: dict[str, np.ndarray]) -> tuple[bytes, bytes, bytes]:
    """Inventory (int32), status and position (float32) as the steps table stores them."""
    return (
        obs["inventory"].astype(np.int32).tobytes(),
        obs["status"].astype(np.float32).tobytes(),
        obs["position"].astype(np.float32).tobytes(),
    )


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
