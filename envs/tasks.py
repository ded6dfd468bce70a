"""The task suite as data: tasks are YAML entries in configs/tasks/."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from envs.config import find_config
from envs.verifiers import Verifier

CATEGORIES = ("craft", "gather", "combat")
DEFAULT_TASKS_FILE = "configs/tasks/crafter.yaml"


@dataclass(frozen=True)
class Task:
    """One task of the suite: what to achieve, how it is verified, how many steps it gets."""

    id: str
    category: str
    verifier: Verifier
    budget: int
    description: str = ""
    env: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """Backend-specific episode spec passed to ``reset(options={"task": env})`` (MineDojo's
    task id and kwargs); empty for Crafter."""


class UnknownTaskError(ValueError):
    """Raised for a task id that is not in the suite."""


def _parse(entry: dict[str, Any], source: str) -> Task:
    missing = {"id", "category", "verifier", "budget"} - set(entry)
    if missing:
        raise ValueError(f"{source}: task entry {entry!r} lacks {', '.join(sorted(missing))}")
    if entry["category"] not in CATEGORIES:
        raise ValueError(
            f"{source}: task {entry['id']!r} has category {entry['category']!r};"
            f" valid choices: {', '.join(CATEGORIES)}"
        )
    spec = dict(entry["verifier"])
    verifier = Verifier(
        kind=spec.pop("kind"), name=spec.pop("name"), count=int(spec.pop("count", 1))
    )
    if spec:
        raise ValueError(f"{source}: task {entry['id']!r} verifier has unknown keys {sorted(spec)}")
    return Task(
        id=str(entry["id"]),
        category=str(entry["category"]),
        verifier=verifier,
        budget=int(entry["budget"]),
        description=str(entry.get("description", "")),
        env=dict(entry.get("env") or {}),
    )


def load_tasks(path: str | Path = DEFAULT_TASKS_FILE) -> dict[str, Task]:
    """Tasks of a suite file, by id, in file order (found as ``envs.config.find_config`` finds
    presets: the working directory, then the package root)."""
    path = find_config(path)
    if not path.exists():
        raise FileNotFoundError(f"task suite {path} not found; the suites are in configs/tasks/")
    data = yaml.safe_load(path.read_text())
    tasks: dict[str, Task] = {}
    for entry in data.get("tasks", []):
        task = _parse(entry, str(path))
        if task.id in tasks:
            raise ValueError(f"{path}: task id {task.id!r} appears twice")
        tasks[task.id] = task
    return tasks


def select(tasks: dict[str, Task], ids: list[str] | None) -> list[Task]:
    """The tasks named by ``ids`` (all when empty); unknown ids name the valid choices."""
    if not ids:
        return list(tasks.values())
    unknown = [i for i in ids if i not in tasks]
    if unknown:
        raise UnknownTaskError(
            f"unknown task {', '.join(map(repr, unknown))}; valid choices: {', '.join(tasks)}"
        )
    return [tasks[i] for i in ids]
