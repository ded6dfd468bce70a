"""A response cache for LLM calls (SQLite), keyed by model, sampling settings and the full prompt.

A rerun with the same prompts is reproducible and costs no tokens.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CachedCompletion:
    text: str
    prompt_tokens: int
    completion_tokens: int


def cache_key(model: str, messages: list[dict[str, str]], **settings: Any) -> str:
    blob = json.dumps({"model": model, "messages": messages, **settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT NOT NULL,"
            " text TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,"
            " completion_tokens INTEGER NOT NULL, created REAL NOT NULL)"
        )

    def get(self, key: str) -> CachedCompletion | None:
        row = self._db.execute(
            "SELECT text, prompt_tokens, completion_tokens FROM responses WHERE key=?", (key,)
        ).fetchone()
        return CachedCompletion(row[0], row[1], row[2]) if row else None

    def put(self, key: str, model: str, completion: CachedCompletion) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)",
            (
                key,
                model,
                completion.text,
                completion.prompt_tokens,
                completion.completion_tokens,
                time.time(),
            ),
        )

    def close(self) -> None:
        self._db.close()
