"""Plan retrieval: past successful plans put into the LLM planner's prompt (Voyager, JARVIS-1).

Each successful episode in a store contributes one entry: the task's text and
the subgoals its verified attempts achieved, in order. Entries are indexed by
the task text's embedding (faiss inner product over L2-normalised vectors);
:meth:`PlanMemory.examples` returns the plans of the most similar past tasks
as prompt lines. Persisted in a folder (``plans.faiss`` + ``plans.json``,
atomic writes) and grown incrementally: episodes already indexed are skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from envs.tasks import DEFAULT_TASKS_FILE, Task, load_tasks
from memory.atomic import atomic_write, atomic_write_bytes
from memory.store import ExperienceStore

INDEX = "plans.faiss"
ENTRIES = "plans.json"


def task_text(task_id: str, description: str) -> str:
    return f"{task_id.replace('_', ' ')}: {description}".strip()


class PlanMemory:
    def __init__(self, embedder: Any):
        self.embedder = embedder
        self.index: Any = None
        self.entries: list[dict[str, Any]] = []
        """{"task": text, "plan": [subgoal texts], "source": "store#episode"} per vector."""

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, texts: list[str], plans: list[list[str]], sources: list[str]) -> None:
        if not texts:
            return
        vectors = self.embedder.embed(texts).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-8
        if self.index is None:
            self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(np.ascontiguousarray(vectors))
        self.entries += [
            {"task": t, "plan": p, "source": s}
            for t, p, s in zip(texts, plans, sources, strict=True)
        ]

    def grow(self, store_path: Path, tasks_file: str = DEFAULT_TASKS_FILE) -> int:
        """Index the successful episodes of ``store_path`` not indexed yet; returns how many."""
        tasks: dict[str, Task] = load_tasks(tasks_file)
        seen = {e["source"] for e in self.entries}
        key = str(Path(store_path).resolve())
        texts, plans, sources = [], [], []
        with ExperienceStore(store_path) as store:
            for episode in store.episodes():
                source = f"{key}#{episode.id}"
                if not episode.success or source in seen:
                    continue
                plan = [a.subgoal.text for a in store.attempts(episode.id) if a.success]
                task = tasks.get(episode.task_id)
                texts.append(task_text(episode.task_id, task.description if task else ""))
                plans.append(plan)
                sources.append(source)
        self.add(texts, plans, sources)
        return len(texts)

    def examples(self, text: str, k: int = 3) -> list[str]:
        """Prompt lines: the plans of the ``k`` most similar past tasks (distinct plans)."""
        if self.index is None or not self.entries:
            return []
        query = self.embedder.embed([text]).astype(np.float32)
        query /= np.linalg.norm(query, axis=1, keepdims=True) + 1e-8
        _, idx = self.index.search(np.ascontiguousarray(query), min(len(self), 8 * k))
        lines: list[str] = []
        shown: set[tuple[str, ...]] = set()
        for i in idx[0]:
            if i < 0:
                continue
            entry = self.entries[i]
            plan = tuple(entry["plan"])
            if plan in shown:
                continue
            shown.add(plan)
            lines.append(f"- {entry['task']} -> " + "; ".join(plan))
            if len(lines) == k:
                break
        return lines

    def nearest(self, text: str) -> tuple[float, list[str]] | None:
        """(cosine similarity, plan) of the past task most like ``text``; None when empty."""
        if self.index is None or not self.entries:
            return None
        query = self.embedder.embed([text]).astype(np.float32)
        query /= np.linalg.norm(query, axis=1, keepdims=True) + 1e-8
        sims, idx = self.index.search(np.ascontiguousarray(query), 1)
        if idx[0][0] < 0:
            return None
        return float(sims[0][0]), list(self.entries[int(idx[0][0])]["plan"])

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.index is not None:
            atomic_write_bytes(folder / INDEX, faiss.serialize_index(self.index).tobytes())
        atomic_write(folder / ENTRIES, json.dumps(self.entries))

    @classmethod
    def load(cls, folder: Path, embedder: Any) -> PlanMemory:
        if not (folder / ENTRIES).exists():
            raise FileNotFoundError(
                f"no plan memory in {folder} ({ENTRIES} missing); build it with"
                " `peam compare` or PlanMemory.grow"
            )
        memory = cls(embedder)
        memory.entries = json.loads((folder / ENTRIES).read_text())
        if (folder / INDEX).exists():
            memory.index = faiss.read_index(str(folder / INDEX))
        if (memory.index.ntotal if memory.index is not None else 0) != len(memory.entries):
            raise ValueError(f"{folder}: plan index and entries disagree; rebuild it")
        return memory
