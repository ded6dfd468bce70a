"""Every published model folder matches its manifest: the same files, the same sha256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[1] / "models"
FOLDERS = sorted(p.parent for p in MODELS.glob("*/MANIFEST.json"))


def test_every_model_folder_has_a_manifest() -> None:
    assert FOLDERS, "no models/*/MANIFEST.json found"
    assert {p for p in MODELS.iterdir() if p.is_dir()} == set(FOLDERS)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_files_and_hashes_match_the_manifest(folder: Path) -> None:
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    present = {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and p.name != "MANIFEST.json"
    }
    assert present == manifest["files"]
    assert manifest["made_by"] and manifest["check"], "say what made the weights and how to check"
    weights = sum(p.stat().st_size for p in folder.rglob("*.safetensors"))
    assert weights <= 5 * 2**20, f"{folder.name}: {weights} bytes of weights (5 MB at most)"
