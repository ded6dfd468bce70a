"""Retrieval memory: a faiss index over (observation, subgoal) keys of labelled steps -> actions.

The baseline the parametric fast tier is compared with (Voyager/JARVIS-1 style
memory, here at the level of single decisions). Both memories see the same
inputs: the map-memory :class:`~envs.features.Features` the fast policy gets
(``envs.features``), never the rgb frame or the world. A key concatenates

- the crop's material channel, coarsely: the 3x3 cells around the player one-hot
  by material (what is adjacent and faced) and, over ``blocks`` x ``blocks``
  regions of the whole crop, the fraction of cells of each material;
- the feature vector (nearest remembered kinds, frontier, facing, daylight,
  sleeping, recent actions, inventory, status);

each of these three parts L2-normalised and the observation part scaled to unit
norm, followed by the subgoal's text embedding, L2-normalised and weighted by
``text_weight``. With the default 3 x 3 blocks that is 9*21 + 9*21 + 183 = 561
observation dimensions plus the text's. Keys are a deterministic function of
the features (the age channel is not used).

The values are the teacher's actions (see :func:`teacher_targets`), so the
retrieval agent learns the same targets as the fast tier; it acts by a vote over
the k nearest stored steps. The index is flat by default (exact); ``hnsw`` and
``ivf`` trade exactness for speed. Persisted with faiss's serialisation written
atomically (plus the actions and a format version: an index with older keys is
refused); ``memory.retrieval_sync`` grows one next to a store.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import faiss
import numpy as np

from envs.features import CROP, N_MATERIALS
from envs.goal import GOAL_VECTOR_DIM
from memory.atomic import atomic_write, atomic_write_bytes
from memory.config import RetrievalConfig

INDEX = "retrieval.faiss"
ACTIONS = "retrieval_actions.npy"
META = "retrieval.json"
FORMAT = 4
"""On-disk format: 4 = keys from the map-memory features with the path features and the
subgoal's own path rows, as the fast policy reads them (3: without the subgoal's rows; 2:
without path features; 1, unversioned: rgb frame + state)."""
CENTRE = 3
"""Side of the one-hot neighbourhood around the player, in cells."""


def observation_dim(config: RetrievalConfig | None = None) -> int:
    """Dimensions of :func:`observation_key` under ``config``."""
    blocks = (config or RetrievalConfig()).blocks
    return (CENTRE**2 + blocks**2) * N_MATERIALS + GOAL_VECTOR_DIM


def key_dim(text_dim: int, config: RetrievalConfig | None = None) -> int:
    """Dimensions of a key (:meth:`RetrievalMemory.keys`) with text embeddings of ``text_dim``."""
    return observation_dim(config) + text_dim


def _unit(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-8)


def observation_key(grid: np.ndarray, vector: np.ndarray, blocks: int = 3) -> np.ndarray:
    """(B, 2, CROP, CROP) uint8 + (B, GOAL_VECTOR_DIM) -> (B, observation_dim) float32, unit
    norm."""
    grid = np.asarray(grid)
    if grid.ndim != 4 or grid.shape[1:] != (2, CROP, CROP):
        raise ValueError(f"grid must be (B, 2, {CROP}, {CROP}) map-memory crops; got {grid.shape}")
    material = np.minimum(grid[:, 0].astype(np.int64), N_MATERIALS - 1)
    b = len(material)
    lo = (CROP - CENTRE) // 2
    centre = material[:, lo : lo + CENTRE, lo : lo + CENTRE].reshape(b, -1)
    one_hot = np.zeros((b, CENTRE**2, N_MATERIALS), dtype=np.float32)
    np.put_along_axis(one_hot, centre[:, :, None], 1.0, axis=2)
    edges = np.linspace(0, CROP, blocks + 1).round().astype(int)
    hist = np.zeros((b, blocks, blocks, N_MATERIALS), dtype=np.float32)
    rows = np.arange(b)[:, None]
    for i in range(blocks):
        for j in range(blocks):
            cells = material[:, edges[i] : edges[i + 1], edges[j] : edges[j + 1]].reshape(b, -1)
            counts = np.zeros((b, N_MATERIALS), dtype=np.float32)
            np.add.at(counts, (np.broadcast_to(rows, cells.shape), cells), 1.0)
            hist[:, i, j] = counts / cells.shape[1]
    vector = np.asarray(vector, dtype=np.float32).reshape(b, -1)
    parts = [_unit(one_hot.reshape(b, -1)), _unit(hist.reshape(b, -1)), _unit(vector)]
    return (np.concatenate(parts, axis=1) / np.sqrt(len(parts))).astype(np.float32)


def teacher_targets(actions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per step the action to store: the one taken if the teacher rates it best (its label
    bitmask holds it), else the lowest action in the label."""
    actions = np.asarray(actions, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if (labels == 0).any():
        raise ValueError("a step without a teacher label (bitmask 0) has no target")
    agrees = ((labels >> actions) & 1).astype(bool)
    lowest = np.rint(np.log2(labels & -labels)).astype(np.int64)
    return np.where(agrees, actions, lowest)


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

    def keys(self, grid: np.ndarray, vector: np.ndarray, text: np.ndarray) -> np.ndarray:
        """(B, dim) keys of feature crops ``grid``, feature ``vector``s and subgoal ``text``s."""
        obs = observation_key(grid, vector, self.config.blocks)
        t = self.config.text_weight * _unit(np.asarray(text, dtype=np.float32))
        key = np.ascontiguousarray(np.concatenate([obs, t], axis=1), dtype=np.float32)
        if key.shape[1] != self.dim:
            raise ValueError(
                f"keys of {key.shape[1]} dims for an index of {self.dim} (build it with"
                f" key_dim(text_dim, config) = {key_dim(t.shape[1], self.config)})"
            )
        return key

    def add(self, grid: np.ndarray, vector: np.ndarray, text: np.ndarray, actions: np.ndarray):
        """Grow the memory by these steps and the actions to replay there."""
        self.add_keys(self.keys(grid, vector, text), actions)

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
        self.actions = np.concatenate([self.actions, np.asarray(actions).astype(np.int64)])

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def _neighbour_actions(self, grid: np.ndarray, vector: np.ndarray, text: np.ndarray):
        """Per query, the actions of the k nearest stored steps, nearest first."""
        if len(self) == 0:
            raise ValueError("retrieval memory is empty; add labelled steps first")
        _, idx = self.index.search(self.keys(grid, vector, text), min(self.config.k, len(self)))
        return [self.actions[row[row >= 0]] for row in idx]

    def act(
        self,
        grid: np.ndarray,
        vector: np.ndarray,
        text: np.ndarray,
        n_actions: int,
        banned: Sequence[Sequence[int]] = (),
    ):
        """The majority action of the k nearest stored steps, per query (ties: nearest first).

        ``banned``: per query, actions never chosen (their votes dropped; none left: action 0).
        """
        out = []
        for i, acts in enumerate(self._neighbour_actions(grid, vector, text)):
            if i < len(banned) and len(banned[i]):
                acts = acts[~np.isin(acts, banned[i])]
                if not len(acts):
                    out.append(0)
                    continue
            votes = np.bincount(acts, minlength=n_actions)
            best = np.flatnonzero(votes == votes.max())
            out.append(next(a for a in acts if a in best))
        return np.array(out, dtype=np.int64)

    def votes(self, grid: np.ndarray, vector: np.ndarray, text: np.ndarray, n_actions: int):
        """(B, n_actions) vote counts of the k nearest stored steps, per query."""
        return np.stack(
            [
                np.bincount(acts, minlength=n_actions).astype(np.float64)
                for acts in self._neighbour_actions(grid, vector, text)
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
            "format": FORMAT,
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
        if meta.get("format") != FORMAT:
            raise ValueError(
                f"{folder}: a retrieval memory of format {meta.get('format', 1)} (keyed on"
                f" {'the rgb frame and state vector' if 'format' not in meta else 'other inputs'});"
                f" this runtime reads format {FORMAT} (map-memory, path and goal features): delete"
                " the folder and rebuild it with `peam memory` from a store recorded with this"
                " version"
            )
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
