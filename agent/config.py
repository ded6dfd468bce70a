"""Run configuration: YAML in configs/run/ loaded into dataclasses.

Every key can be overridden from the CLI as ``key.sub=value``.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.controller import ControllerConfig
from agent.fast_executor import FastConfig
from agent.llm_planner import LLMConfig
from agent.runner import RunnerConfig


class ConfigError(ValueError):
    """A config file or override names an unknown key or holds a bad value."""


@dataclass
class RetrievalRunConfig:
    dir: str = ""
    """Folder of a retrieval memory (``memory.retrieval``; `peam compare` builds one): its
    nearest-neighbour agent takes the subgoals a fast tier would. Empty = none."""
    sample: bool = False
    """Sample the action in proportion to the neighbours' votes (false: the majority)."""
    seed: int = 0
    """Mixed into the sampling seed (per subgoal text, like the fast tier's)."""


@dataclass
class RunConfig:
    backend: str = "crafter"
    """Environment backend: crafter (embedded)."""
    tasks_file: str = "configs/tasks/crafter.yaml"
    """YAML file with the task suite."""
    tasks: list[str] = field(default_factory=list)
    """Task ids to run; empty means the whole suite."""
    seeds: str = "0-19"
    """Episode seeds, e.g. '0-19' or '0,3,5-7'."""
    planner: str = "recipe"
    """Slow-tier planner: recipe (offline) or llm (OpenAI-compatible endpoint, see llm.*)."""
    frame_size: int = 64
    """Height and width of the rgb observation."""
    video: bool = False
    """Write a GIF per episode under videos/."""
    workers: int = 1
    """Processes playing episodes at once (> 1: a worker pool; the run process alone writes
    the store). Each worker plays one env."""
    ray_address: str = ""
    """Empty: workers are local processes. "local": start Ray here; "auto" or an address:
    join that Ray cluster (pip install -e '.[ray]')."""
    retrieval: RetrievalRunConfig = field(default_factory=RetrievalRunConfig)
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    fast: FastConfig = field(default_factory=FastConfig)


def parse_seeds(spec: str) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7]."""
    seeds: list[int] = []
    try:
        for part in str(spec).split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = part.split("-", 1)
                seeds.extend(range(int(lo), int(hi) + 1))
            elif part:
                seeds.append(int(part))
    except ValueError:
        raise ConfigError(f"bad seeds {spec!r}; expected e.g. '0-19' or '0,3,5-7'") from None
    if not seeds:
        raise ConfigError(f"seeds {spec!r} name no seed; expected e.g. '0-19'")
    return seeds


def _coerce(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    try:
        if hint is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if hint in (int, float, str):
            return hint(value)
        if origin in (list, tuple):
            if isinstance(value, str):
                value = [v for v in value.split(",") if v]
            return origin(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{key}: cannot read {value!r} as {getattr(hint, '__name__', hint)}"
        ) from None
    return value


def _build(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown config key {prefix + unknown[0]!r}; valid keys: "
            + ", ".join(prefix + k for k in fields)
        )
    kwargs = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise ConfigError(f"{prefix + name}: expected a mapping")
            kwargs[name] = _build(hint, value, f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(value, hint, prefix + name)
    return cls(**kwargs)


def _set(data: dict[str, Any], dotted: str, value: str) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for p in parents:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{dotted}: {p} is not a section")
    node[leaf] = yaml.safe_load(value) if value.strip() else value


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Read ``path`` (YAML) into a :class:`RunConfig`, then apply ``key.sub=value`` overrides."""
    return load_dataclass(RunConfig, path, overrides, "configs/run/")


def load_dataclass(
    cls: type, path: str | Path | None, overrides: list[str] | None, presets: str
) -> Any:
    """Read ``path`` (YAML) into dataclass ``cls``, then apply ``key.sub=value`` overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"config file {path} not found; the presets are in {presets}")
        data = yaml.safe_load(path.read_text()) or {}
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(
                f"override {item!r} is not key=value (e.g. runner.subgoal_budget=300)"
            )
        key, value = item.split("=", 1)
        _set(data, key.strip(), value)
    return _build(cls, data)


def to_dict(config: RunConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)
