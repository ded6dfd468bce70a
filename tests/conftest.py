"""Shared fixtures: the repository root as working directory, a small env factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _repo_root_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    # Configs name paths relative to the repository root, as the CLI does.
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("PYTHONHASHSEED", "0")


class HashEmbedder:
    """A deterministic stand-in for all-MiniLM-L6-v2 (no 15 s model load in every test).

    Words map to fixed random vectors; a text is the normalised sum of its words,
    so texts sharing words are near each other.
    """

    def __init__(self, dim: int = 384):
        self.dim = dim

    def embed(self, texts: list[str]):
        import zlib

        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.split():
                out[i] += np.random.default_rng(zlib.crc32(word.encode())).standard_normal(self.dim)
            out[i] /= max(float(np.linalg.norm(out[i])), 1e-6)
        return out


@pytest.fixture(scope="session")
def slow_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of slow-tier episodes: craft and gather tasks, seeds 0-2."""
    import envs
    from agent.loop.runner import EpisodeRunner
    from agent.slow.controller import DeliberateController
    from agent.slow.recipe_planner import RecipePlanner
    from envs.tasks import load_tasks
    from memory.store import ExperienceStore

    tasks = load_tasks(ROOT / "configs/tasks/crafter.yaml")
    path = tmp_path_factory.mktemp("slow") / "store.sqlite"
    with ExperienceStore(path) as store:
        run = store.start_run("slow", {})
        env = envs.make("crafter", max_episode_steps=600)
        for task_id in ("place_table", "make_wood_pickaxe", "collect_wood_4"):
            for seed in range(3):
                EpisodeRunner(
                    env, RecipePlanner(), DeliberateController(), store, run, "crafter"
                ).run_episode(tasks[task_id], seed)
    return path


@pytest.fixture(scope="session")
def fast_dir(slow_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny fast tier (trunk + craft and gather adapters + gate) trained on ``slow_store``."""
    from agent.fast.config import PolicyConfig
    from consolidation.config import BCConfig, FastTrainConfig
    from consolidation.fast_training import train_fast

    out = tmp_path_factory.mktemp("fast")
    cfg = FastTrainConfig(
        trunk=BCConfig(epochs=20.0, batch_size=32),
        adapter=BCConfig(epochs=5.0, batch_size=32),
        policy=PolicyConfig(hidden=32),
        device="cpu",
    )
    train_fast([slow_store], out, cfg, embedder=HashEmbedder())
    return out


def perturbed_adapter(folder: Path, seed: int) -> tuple[Any, str]:
    """The fast tier's trunk in ``folder`` with a random (non-zero) gather adapter, and the
    trunk's sha256: a new version to publish."""
    import torch

    from agent.fast.adapters import with_adapters
    from agent.fast.trunk import load_trunk

    trunk, meta = load_trunk(folder / "trunk")
    model = with_adapters(trunk, ("gather",), init=False)
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.normal_(0, 0.5)
    return model, meta["trunk_sha256"]
