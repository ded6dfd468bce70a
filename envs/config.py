"""The config system of every command: YAML files read into typed dataclasses, then
``key.sub=value`` overrides (``--set``), with the help text taken from the fields' docstrings.

It sits in the bottom layer so that every package may describe its settings the same
way; it imports nothing of the project. Presets (``configs/...``) are found in the
working directory first, then next to the installed package.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import sys
import types
import typing
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
"""The folder holding the packages (and, in a checkout or editable install, configs/)."""


class ConfigError(ValueError):
    """A config file or override names an unknown key or holds a bad value."""


def find_config(path: str | Path) -> Path:
    """``path`` as given when it exists, else the same path under the source tree (a checkout
    or an editable install), else under ``<prefix>/share/peam`` (a wheel install).

    So `peam run --config configs/run/demo.yaml` works from any folder.
    """
    given = Path(path)
    if given.exists() or given.is_absolute():
        return given
    for root in (ROOT, Path(sys.prefix) / "share" / "peam"):
        if (root / given).exists():
            return root / given
    return given


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
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    try:
        if value is None and type(None) in typing.get_args(hint):
            return None
        if origin in (typing.Union, types.UnionType) and args:
            return _coerce(value, args[0], key)  # Optional[X]
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


def build(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Dataclass ``cls`` from a (nested) mapping; unknown keys name the valid ones."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown config key {prefix + unknown[0]!r}; valid keys: "
            + ", ".join(prefix + k for k in fields)
        )
    kwargs = {}
    defaults = _default(cls)
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise ConfigError(f"{prefix + name}: expected a mapping")
            base = dataclasses.asdict(getattr(defaults, name)) if defaults is not None else {}
            kwargs[name] = build(hint, {**base, **value}, f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(value, hint, prefix + name)
    return cls(**kwargs)


def _default(cls: type) -> Any:
    """``cls()`` with every field at its default, or None when a field has no default."""
    try:
        return cls()
    except TypeError:
        return None


def _set(data: dict[str, Any], dotted: str, value: str) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for p in parents:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{dotted}: {p} is not a section")
    node[leaf] = yaml.safe_load(value) if value.strip() else value


def load_dataclass(
    cls: type, path: str | Path | None, overrides: list[str] | None, presets: str
) -> Any:
    """Read ``path`` (YAML) into dataclass ``cls``, then apply ``key.sub=value`` overrides.

    ``presets`` (e.g. ``configs/run/``) is named in the error for a missing file.
    """
    data: dict[str, Any] = {}
    if path is not None:
        found = find_config(path)
        if not found.exists():
            raise ConfigError(f"config file {path} not found; the presets are in {presets}")
        data = yaml.safe_load(found.read_text()) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of config keys")
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(
                f"override {item!r} is not key=value (e.g. runner.subgoal_budget=300)"
            )
        key, value = item.split("=", 1)
        _set(data, key.strip(), value)
    return build(cls, data)


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


# -- help text from the fields' docstrings ------------------------------------------------


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """The string literal under each field of ``cls`` (its docstring), by field name."""
    try:
        tree = ast.parse(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, after in zip(body, [*body[1:], None], strict=True):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        doc = None
        if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            doc = after.value.value
        if isinstance(doc, str):
            docs[node.target.id] = " ".join(doc.split())
    return docs


def keys(cls: type, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted key, default, docstring) for every leaf field of ``cls``, nested ones too."""
    hints = typing.get_type_hints(cls)
    instance = _default(cls)
    docs = field_docs(cls)
    rows: list[tuple[str, str, str]] = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            rows += _nested(hint, getattr(instance, f.name, None), f"{prefix}{f.name}.")
            continue
        default = getattr(instance, f.name, "") if instance is not None else ""
        rows.append((prefix + f.name, _show(default), docs.get(f.name, "")))
    return rows


def _nested(cls: type, value: Any, prefix: str) -> list[tuple[str, str, str]]:
    rows = keys(cls, prefix)
    if value is None:
        return rows
    # A section's defaults may differ from its class's (e.g. trunk: BCConfig(epochs=4)).
    flat = _flatten(dataclasses.asdict(value), prefix)
    return [(k, _show(flat.get(k, d)) if k in flat else d, doc) for k, d, doc in rows]


def _flatten(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) if value else "''"
    if isinstance(value, dict):
        return "{}"
    if value == "":
        return "''"
    return str(value)


def help_text(cls: type, width: int = 100) -> str:
    """The keys of ``cls`` for ``--help``: one line per key, its docstring wrapped below."""
    import textwrap

    lines = ["config keys (YAML or --set KEY=VALUE):"]
    for key, default, doc in keys(cls):
        lines.append(f"  {key} = {default}")
        if doc:
            lines += textwrap.wrap(doc, width, initial_indent=" " * 6, subsequent_indent=" " * 6)
    return "\n".join(lines)
