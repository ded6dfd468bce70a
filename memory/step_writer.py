"""A background thread that compresses frames and inserts step rows, off the env's thread.

Rows are buffered in a list and handed over a batch at a time, so the episode
loop pays a list append per step; zlib, numpy's copy and SQLite release the
GIL, so the writer runs on the second core. An episode's closing update is
committed in the same transaction as its last steps (:meth:`StepWriter.finish`),
so nobody waits for it. :meth:`StepWriter.flush` blocks until everything is
committed; a write error surfaces there (or at the next ``put``), never silently.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import zlib
from pathlib import Path
from typing import Any

import numpy as np

INSERT = "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_STOP = None
#: Rows to insert, and an optional (sql, args) committed with them.
_Job = tuple[list[tuple[Any, ...]], tuple[str, tuple[Any, ...]] | None]


class StepWriter:
    def __init__(self, path: Path, frame_level: int = 1, batch: int = 256):
        self._path = path
        self._level = frame_level
        self._batch = batch
        self._buffer: list[tuple[Any, ...]] = []
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="peam-step-writer", daemon=True)
        self._thread.start()

    def put(self, row: tuple[Any, ...]) -> None:
        """Buffer one step row whose last two fields are the features and the frame (raw or
        compressed bytes, or None)."""
        self._buffer.append(row)
        if len(self._buffer) >= self._batch:
            self._raise()
            self._queue.put((self._buffer, None))
            self._buffer = []

    def hand_off(self) -> None:
        """Pass the buffered rows to the writer now, without waiting for the commit."""
        if self._buffer:
            self._raise()
            self._queue.put((self._buffer, None))
            self._buffer = []

    def finish(self, sql: str, args: tuple[Any, ...]) -> None:
        """Commit the buffered rows and ``sql`` in one transaction, without waiting."""
        self._raise()
        self._queue.put((self._buffer, (sql, args)))
        self._buffer = []

    def flush(self) -> None:
        """Block until every row put so far is committed."""
        if self._buffer:
            self._queue.put((self._buffer, None))
            self._buffer = []
        self._queue.join()
        self._raise()

    def close(self) -> None:
        self.flush()
        self._queue.put(_STOP)
        self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise RuntimeError(
                f"writing steps to {self._path} failed: {self._error}"
            ) from self._error

    def _compress(self, frame: np.ndarray | bytes | None) -> bytes | None:
        if frame is None or isinstance(frame, bytes):  # None, or compressed by a worker
            return frame
        return zlib.compress(np.ascontiguousarray(frame, dtype=np.uint8), self._level)

    def _features(self, blob: bytes | None) -> bytes | None:
        return None if blob is None else zlib.compress(blob, self._level)

    def _loop(self) -> None:
        db = sqlite3.connect(self._path, timeout=30.0, isolation_level=None)
        db.execute("PRAGMA synchronous=NORMAL")
        while True:
            job = self._queue.get()
            if job is _STOP:
                self._queue.task_done()
                db.close()
                return
            batch, closing = job
            try:
                if self._error is None:
                    rows = [(*r[:-2], self._features(r[-2]), self._compress(r[-1])) for r in batch]
                    db.execute("BEGIN IMMEDIATE")
                    try:
                        db.executemany(INSERT, rows)
                        if closing is not None:
                            db.execute(*closing)
                        db.execute("COMMIT")
                    except BaseException:
                        db.execute("ROLLBACK")
                        raise
            except BaseException as err:  # surfaced to the owner by flush()/put()
                self._error = err
            finally:
                self._queue.task_done()
