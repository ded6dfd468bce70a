"""Adapter registry: versioned adapters per category, published atomically, with rollback.

Layout under a fast-tier folder (``peam train-fast --out`` or a run folder)::

    adapters/<category>/v<N>/   peft files + peam_adapter.json (hashes, provenance, metrics)
    adapters/<category>/v<N>/notes.json  what happened to it later (its gate decision)
    adapters/<category>/LATEST  the served version, e.g. "v3"
    plans/<category>/v<N>/      a plan head (``memory.plan_head``), the same way (``kind="plans"``,
                                ``consolidation.plan_rounds``)

Publishing writes the version into a temp dir, fsyncs, renames it into place,
then replaces LATEST atomically: a reader sees the old version or the new
one, never a partial one. Loading checks every file's sha256 (``agent.fast.adapters``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from peft import PeftModel

from agent.fast.adapters import META, save_adapter, try_load_adapter, with_adapters
from agent.fast.trunk import load_trunk
from envs.tasks import CATEGORIES
from memory.atomic import atomic_write

LATEST = "LATEST"
ADAPTERS, PLANS = "adapters", "plans"
_META_FILES = {ADAPTERS: META, PLANS: "plan_head.json"}
NOTES = "notes.json"
_VERSION = re.compile(r"^v(\d+)$")


class RegistryError(ValueError):
    """A version or category that the registry does not hold."""


def category_dir(root: Path, category: str, kind: str = ADAPTERS) -> Path:
    if kind not in _META_FILES:
        raise RegistryError(f"unknown kind {kind!r}; valid: {', '.join(_META_FILES)}")
    return Path(root) / kind / category


def versions(root: Path, category: str, kind: str = ADAPTERS) -> list[int]:
    folder = category_dir(root, category, kind)
    if not folder.is_dir():
        return []
    found = (_VERSION.match(p.name) for p in folder.iterdir() if p.is_dir())
    return sorted(int(m.group(1)) for m in found if m)


def latest(root: Path, category: str, kind: str = ADAPTERS) -> int | None:
    """The served version of ``category`` (None: none published)."""
    pointer = category_dir(root, category, kind) / LATEST
    try:
        m = _VERSION.match(pointer.read_text().strip())
    except OSError:
        return None
    return int(m.group(1)) if m else None


def served_folder(root: Path, category: str, kind: str = ADAPTERS) -> Path:
    """The folder of the served version (the category folder itself if never versioned)."""
    version = latest(root, category, kind)
    folder = category_dir(root, category, kind)
    return folder / f"v{version}" if version is not None else folder


def served_model(root: Path, category: str) -> PeftModel:
    """The trunk of ``root`` with the served version of ``category`` loaded and active, in
    eval mode on the CPU (an evaluation's view of what the fast tier serves). An adapter that
    fails its checks raises ``RegistryError``: evaluating the fresh, zero-effect adapter in
    its place would measure the trunk alone under the adapter's name."""
    trunk, meta = load_trunk(root / "trunk")
    model = with_adapters(trunk, CATEGORIES)
    folder = served_folder(root, category)
    problem = try_load_adapter(model, category, folder, meta["trunk_sha256"])
    if problem is not None:
        raise RegistryError(
            f"the served {category} adapter at {folder} cannot be evaluated: {problem}; serve"
            f" another version: peam adapters rollback --run {root} --category {category}"
        )
    model.set_adapter(category)
    return model.eval()


def publish(
    model: PeftModel,
    category: str,
    root: Path,
    trunk_sha: str,
    meta: dict[str, Any],
    serve: bool = True,
) -> int:
    """Save ``category``'s adapter as the next version and (unless ``serve`` is false: a
    candidate waiting for its gate) serve it; returns the version."""
    version = max(versions(root, category), default=0) + 1
    parent = latest(root, category)
    folder = category_dir(root, category) / f"v{version}"
    save_adapter(model, category, folder, trunk_sha, {**meta, "version": version, "parent": parent})
    fsync_dir(folder.parent)
    if serve:
        atomic_write(category_dir(root, category) / LATEST, f"v{version}\n")
    return version


def serve(root: Path, category: str, version: int, kind: str = ADAPTERS) -> None:
    """Serve ``version`` (a gate's decision, or a human forcing one)."""
    if version not in versions(root, category, kind):
        have = ", ".join(f"v{v}" for v in versions(root, category, kind)) or "none"
        raise RegistryError(f"{category} has no v{version}; versions: {have}")
    atomic_write(category_dir(root, category, kind) / LATEST, f"v{version}\n")


def annotate(
    root: Path, category: str, version: int, notes: dict[str, Any], kind: str = ADAPTERS
) -> None:
    """Add ``notes`` (e.g. the gate's decision) to a version's record (``notes.json``, kept
    apart from the hashed adapter files)."""
    path = category_dir(root, category, kind) / f"v{version}" / NOTES
    old = read_notes(path)
    atomic_write(path, json.dumps({**old, **notes}, indent=2, default=str))


def read_notes(path: Path) -> dict[str, Any]:
    """A version's ``notes.json`` (empty when there is none or it is unreadable)."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def rollback(root: Path, category: str, to: int | None = None, kind: str = ADAPTERS) -> int:
    """Serve an earlier version (default: the one before the served one); returns it."""
    have = versions(root, category, kind)
    current = latest(root, category, kind)
    if not have or current is None:
        raise RegistryError(f"no {category} {kind} published under {root}")
    if to is None:
        older = [v for v in have if v < current]
        if not older:
            raise RegistryError(
                f"{category} v{current} is the oldest version; nothing to roll back to"
            )
        to = older[-1]
    if to not in have:
        raise RegistryError(
            f"{category} has no v{to}; versions: {', '.join(f'v{v}' for v in have)}"
        )
    atomic_write(category_dir(root, category, kind) / LATEST, f"v{to}\n")
    return to


def describe(root: Path, category: str, kind: str = ADAPTERS) -> list[dict[str, Any]]:
    """Each version's metadata (plus ``served``), oldest first."""
    served = latest(root, category, kind)
    out = []
    for v in versions(root, category, kind):
        meta_path = category_dir(root, category, kind) / f"v{v}" / _META_FILES[kind]
        try:
            meta = json.loads(meta_path.read_text())
            meta = meta.get("meta", {}) if kind == PLANS else meta
        except (OSError, json.JSONDecodeError):
            meta = {"problem": f"{meta_path.name} unreadable"}
        notes = read_notes(meta_path.parent / NOTES)
        out.append({**meta, **notes, "version": v, "served": v == served})
    return out


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
