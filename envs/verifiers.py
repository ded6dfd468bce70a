"""Environment-side verifiers: success is read from the env's ``info``, never an agent's belief."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = ("inventory", "achievement", "kill", "unlocked")


@dataclass(frozen=True)
class Verifier:
    """A counter in ``info`` that must reach ``count``.

    ``inventory``: ``info["inventory"][name] >= count`` (absolute).
    ``achievement``/``kill``: the cumulative counter rose by ``count`` since the
    baseline ``info`` (the episode start, or the start of an attempt).
    ``unlocked``: at least ``count`` different achievements were unlocked this episode
    (the whole game; ``name`` is ``all``).
    """

    kind: str
    name: str
    count: int = 1

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"unknown verifier kind {self.kind!r}; valid choices: {', '.join(KINDS)}"
            )
        if self.count < 1:
            raise ValueError(f"verifier count must be >= 1, got {self.count}")

    def value(self, info: dict[str, Any]) -> int:
        if self.kind == "unlocked":
            return sum(1 for n in info["achievements"].values() if n > 0)
        table = {"inventory": "inventory", "achievement": "achievements", "kill": "kills"}[
            self.kind
        ]
        return int(info[table].get(self.name, 0))

    def progress(self, info: dict[str, Any], baseline: dict[str, Any] | None = None) -> int:
        """How far the counter has come toward ``count``."""
        if self.kind in ("inventory", "unlocked") or baseline is None:
            return self.value(info)
        return self.value(info) - self.value(baseline)

    def check(self, info: dict[str, Any], baseline: dict[str, Any] | None = None) -> bool:
        return self.progress(info, baseline) >= self.count

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "count": self.count}
