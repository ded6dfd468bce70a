"""The layering of docs/architecture.md, checked: each package imports only from below it,
siblings never import each other, and no two files import each other (directly or in a
cycle). Imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("envs", "memory", "agent", "consolidation")

LAYERS: list[tuple[str, ...]] = [
    ("envs",),
    ("memory",),
    ("agent.slow", "agent.fast"),
    ("agent.loop", "consolidation"),
    ("agent.compare",),
    ("agent.evolve",),
    ("agent.cli",),
]
"""Bottom to top. Units in one tuple are siblings: neither imports the other."""


def unit_of(module: str) -> str:
    for layer in LAYERS:
        for unit in layer:
            if module == unit or module.startswith(unit + "."):
                return unit
    return module  # e.g. the bare package `agent`


def rank(unit: str) -> int:
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    return -1  # `agent/__init__.py` and the like: importable by anyone, imports nothing


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*.py")
        if "__pycache__" not in p.parts
    }


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports anywhere in its body."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from agent.fast import registry` imports the module agent.fast.registry
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name.split(".")[0] in PACKAGES:
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {m: imports_of(p, modules) - {m} for m, p in modules.items()}


def layer_violations(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for src, targets in sorted(edges.items()):
        a = unit_of(src)
        for dst in sorted(targets):
            b = unit_of(dst)
            if a == b or (rank(b) == -1 and dst.count(".") == 0):
                continue  # inside one unit, or a bare package's __init__
            if rank(b) >= rank(a):
                kind = "a sibling" if rank(b) == rank(a) else "a higher layer"
                bad.append(f"{src} imports {dst} ({kind}: {b} is not below {a})")
    return bad


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_every_import_points_down_the_layers() -> None:
    bad = layer_violations(graph())
    assert not bad, "upward or sibling imports (move the code down a layer):\n" + "\n".join(bad)


def test_no_import_cycles_between_files() -> None:
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_import_cycles_between_packages() -> None:
    units: dict[str, set[str]] = {}
    for src, targets in graph().items():
        units.setdefault(unit_of(src), set()).update(unit_of(t) for t in targets)
    for unit, targets in units.items():
        targets.discard(unit)
    assert not cycles(units)


def test_every_package_says_its_job() -> None:
    for unit in [u for layer in LAYERS for u in layer if u != "agent.cli"]:
        init = ROOT / unit.replace(".", "/") / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and "TODO" not in doc, f"{init} needs a docstring naming its one job"


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"memory.store": {"agent.loop.runner"}}, "a higher layer"),
        ({"agent.loop.run_folder": {"consolidation.daemon"}}, "a sibling"),
        ({"agent.fast.executor": {"agent.slow.controller"}}, "a sibling"),
        ({"agent.compare.run": {"agent.loop.runner", "envs.tasks"}}, None),
    ],
)
def test_the_checker_catches_what_it_should(edges: dict[str, set[str]], expected: str | None):
    bad = layer_violations(edges)
    assert (expected in bad[0]) if expected else not bad
    assert cycles({"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}}) == [["a.x", "a.y", "a.z"]]
