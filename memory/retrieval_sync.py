"""Build or grow the retrieval memory next to a run's store: ``RUN/retrieval/``.

Only episodes not indexed yet are read (their ids are kept in the memory's
metadata), so a memory follows a store as agents keep writing it. Each labelled
step of a verified attempt is keyed on the map-memory features the fast policy
reads (``envs.features``) and stores the teacher's action
(:func:`memory.retrieval.teacher_targets`): the same targets the fast tier
learns, never a fast-tier sample the teacher rated worse. The plan memory
(``RUN/retrieval/plans/``) grows the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from envs.tasks import DEFAULT_TASKS_FILE
from memory.config import RetrievalConfig
from memory.plans import PlanMemory
from memory.retrieval import META, RetrievalMemory, key_dim, teacher_targets
from memory.transitions import NoTrainingDataError, load_transitions

FOLDER = "retrieval"


def sync(
    run: Path,
    embedder: Any,
    config: RetrievalConfig | None = None,
    tasks_file: str = DEFAULT_TASKS_FILE,
) -> dict[str, Any]:
    """Add the labelled steps of ``run``'s new verified attempts; returns what changed."""
    store = Path(run) / "store.sqlite"
    if not store.exists():
        raise FileNotFoundError(f"no experience store at {store}; run `peam run --out {run}` first")
    folder = Path(run) / FOLDER
    memory = RetrievalMemory.load(folder) if (folder / META).exists() else None
    key = str(store.resolve())
    seen = set(memory.sources.get(key, [])) if memory is not None else set()
    added = 0
    try:
        data = load_transitions(
            [store], keep=lambda a: bool(a.success) and a.episode_id not in seen
        )
    except NoTrainingDataError:
        data = None
    if data is not None:
        text = embedder.embed(data.texts)[data.text_ids]
        if memory is None:
            cfg = config or RetrievalConfig()
            memory = RetrievalMemory(key_dim(text.shape[1], cfg), cfg)
        memory.add(data.grids, data.vectors, text, teacher_targets(data.actions, data.labels))
        episodes = {int(e) & 0xFFFFFFFF for e in np.unique(data.episodes)}
        memory.sources[key] = sorted(seen | episodes)
        memory.save(folder)
        added = len(data)
    has_plans = (folder / "plans" / "plans.json").exists()
    plans = PlanMemory.load(folder / "plans", embedder) if has_plans else PlanMemory(embedder)
    new_plans = plans.grow(store, tasks_file)
    plans.save(folder / "plans")
    return {
        "folder": str(folder),
        "added": added,
        "steps": len(memory) if memory is not None else 0,
        "bytes": memory.nbytes() if memory is not None else 0,
        "plans_added": new_plans,
        "plans": len(plans),
    }
