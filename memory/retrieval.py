"""Retrieval memory: a faiss index over (observation, subgoal) keys of verified steps -> actions.

The baseline the parametric fast tier is compared with (Voyager/JARVIS-1 style
memory, here at the level of single decisions). A key is the concatenation of
an observation feature (the rgb frame pooled to a coarse grid, plus inventory,
status and the last action: ``envs.schema.state_vector``) and the subgoal's
text embedding, each L2-normalised. The retrieval agent acts by a vote over the
k nearest stored steps. The index is flat by default (exact); ``hnsw`` and
``ivf`` trade exactness for speed. Persisted with faiss's serialisation written
atomically (plus the actions); ``memory.retrieval_sync`` grows one next to a store.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import faiss
import numpy as np

from memory.atomic import atomic_write, atomic_write_bytes
from memory.config import RetrievalConfig

INDEX = "retrieval.faiss"
ACTIONS = "retrieval_actions.npy"
META = "retrieval.json"


def observation_key(rgb: np.ndarray, state: np.ndarray, pool: int) -> np.ndarray:
    """(B, H, W, 3) uint8 + (B, S) -> (B, 3*pool*pool + S) float32, L2-normalised."""
    b, h, w, _ = rgb.shape
    grid = rgb.reshape(b, pool, h // pool, pool, w // pool, 3).mean(axis=(2, 4)) / 255.0
    key = np.concatenate([grid.reshape(b, -1), state], axis=1).astype(np.float32)
    return key / (np.linalg.norm(key, axis=1, keepdims=True) + 1e-8)


class RetrievalMemory:
    def __init__(self, dim: int, config: RetrievalConfig | None = None):
        self.config = cfg = config or RetrievalConfig()
        cfg.check()
        self.dim = dim
        if cfg.kind == "flat":
            self.index = faiss.IndexFlatL2(dim)
        elif cfg.kind == "hnsw":
            self.index = faiss.IndexHNSWFlat(dim, cfg.hnsw_m)
        else:
            self.index = faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, cfg.ivf_lists)
        self.actions = np.zeros(0, dtype=np.int64)
        self.sources: dict[str, list[int]] = {}
        """Store path -> ids of the episodes whose verified steps are indexed (see sync)."""

    def keys(self, rgb: np.ndarray, state: np.ndarray, text: np.ndarray) -> np.ndarray:
        obs = observation_key(rgb, state, self.config.pool)
        t = text / (np.linalg.norm(text, axis=1, keepdims=True) + 1e-8)
        return np.ascontiguousarray(np.concatenate([obs, self.config.text_weight * t], axis=1))

    def add(self, rgb: np.ndarray, state: np.ndarray, text: np.ndarray, actions: np.ndarray):
        """Grow the memory by these verified steps."""
        self.add_keys(self.keys(rgb, state, text), actions)

    def add_keys(self, keys: np.ndarray, actions: np.ndarray) -> None:
        """Grow the memory by precomputed keys (see :meth:`keys`) and their actions."""
        keys = np.ascontiguousarray(keys, dtype=np.float32)
        if not self.index.is_trained:  # ivf: train its coarse quantiser on the first batch
            if len(keys) < self.config.ivf_lists:
                raise ValueError(
                    f"an ivf index needs >= {self.config.ivf_lists} steps to train; got"
                    f" {len(keys)} (lower ivf_lists or use kind=flat)"
                )
            self.index.train(keys)
        self.index.add(keys)
        self.actions = np.concatenate([self.actions, actions.astype(np.int64)])

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def _neighbour_actions(self, rgb: np.ndarray, state: np.ndarray, text: np.ndarray):
        """Per query, the actions of the k nearest stored steps, nearest first."""
        if len(self) == 0:
            raise ValueError("retrieval memory is empty; add verified steps first")
        _, idx = self.index.search(self.keys(rgb, state, text), min(self.config.k, len(self)))
        return [self.actions[row[row >= 0]] for row in idx]

    def act(self, rgb: np.ndarray, state: np.ndarray, text: np.ndarray, n_actions: int):
        """The majority action of the k nearest stored steps, per query (ties: nearest first)."""
        out = []
        for acts in self._neighbour_actions(rgb, state, text):
            votes = np.bincount(acts, minlength=n_actions)
            best = np.flatnonzero(votes == votes.max())
            out.append(next(a for a in acts if a in best))
        return np.array(out, dtype=np.int64)

    def votes(self, rgb: np.ndarray, state: np.ndarray, text: np.ndarray, n_actions: int):
        """(B, n_actions) vote counts of the k nearest stored steps, per query."""
        return np.stack(
            [
                np.bincount(acts, minlength=n_actions).astype(np.float64)
                for acts in self._neighbour_actions(rgb, state, text)
            ]
        )

    def nbytes(self) -> int:
        """Bytes the index and actions take when serialised."""
        return int(faiss.serialize_index(self.index).nbytes + self.actions.nbytes)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(folder / INDEX, faiss.serialize_index(self.index).tobytes())
        atomic_write_bytes(folder / ACTIONS, _npy(self.actions))
        meta = {
            "dim": self.dim,
            "steps": len(self),
            "config": asdict(self.config),
            "sources": self.sources,
        }
        atomic_write(folder / META, json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: Path) -> RetrievalMemory:
        meta_path = folder / META
        if not meta_path.exists():
            raise FileNotFoundError(f"no retrieval memory in {folder} ({META} missing)")
        meta = json.loads(meta_path.read_text())
        memory = cls(meta["dim"], RetrievalConfig(**meta["config"]))
        memory.index = faiss.read_index(str(folder / INDEX))
        memory.actions = np.load(folder / ACTIONS, allow_pickle=False)
        memory.sources = {k: list(v) for k, v in meta.get("sources", {}).items()}
        if len(memory.actions) != memory.index.ntotal:
            raise ValueError(
                f"{folder}: index has {memory.index.ntotal} keys but "
                f"{len(memory.actions)} actions; rebuild it"
            )
        return memory


def _npy(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()
