"""The fast tier: the trained policy acting reflexively for subgoals whose category has an adapter.

Loads a folder written by ``peam train-fast`` (``trunk/``, ``adapters/<category>/``,
``gate/``). A missing, corrupt or mismatched adapter (or trunk) is refused with an
:class:`~agent.fast.adapters.AdapterLoadWarning`; the slow tier then takes those subgoals.
"""

from __future__ import annotations

import contextlib
import json
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agent.fast import registry
from agent.fast.adapters import (
    AdapterLoadWarning,
    load_adapter,
    merged_policy,
    routed_forward,
    with_adapters,
)
from agent.fast.config import FastConfig
from agent.fast.device import resolve_device
from agent.fast.gate import AdapterGate, load_gate
from agent.fast.policy import FastPolicy
from agent.fast.routing import gate_counts, trusted
from agent.fast.trunk import TrunkError, load_trunk
from envs.features import (
    BASE_DIM,
    Features,
    deadly_moves,
    features,
    futile_crafts,
    futile_moves,
    stray_furnace,
)
from envs.goal import GOAL_VECTOR_DIM, with_goal
from envs.tasks import CATEGORIES
from memory.records import Decision, Subgoal
from memory.text_embedding import SubgoalEmbedder


def subgoal_rng(text: str, seed: int = 0, key: tuple[int, int] = (0, 0)) -> np.random.Generator:
    """The sampling generator of one subgoal attempt: fixed by the configured ``seed``, the
    episode seed and attempt number (``key``) and the subgoal text, so every evaluation seed
    and every retry samples its own stream, and a rerun samples the same one."""
    crc = zlib.crc32(text.encode())
    return np.random.default_rng([seed, key[0] % 2**32, key[1], crc])


def skill_key(subgoal: Subgoal) -> str:
    """'collect wood': the skill whatever the count (what gate statistics are kept by)."""
    return f"{subgoal.skill} {subgoal.target}"


def _gated_skills(folder: Path, acted: bool) -> dict[str, list[int]] | None:
    try:
        candidate = registry.read_notes(folder / registry.NOTES)["gate"]["candidate"]
        return gate_counts(candidate, acted)
    except (KeyError, TypeError, AttributeError):
        return None


def parse_pins(text: str) -> dict[str, int | None]:
    """``"gather=3,craft=1,combat=none"`` -> {"gather": 3, "craft": 1, "combat": None}
    (``fast.pin``; None: no adapter serves the category, the slow tier acts for it)."""
    pins: dict[str, int | None] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        category, _, version = part.partition("=")
        version = version.strip().lstrip("v")
        if category not in CATEGORIES or not (version.isdigit() or version == "none"):
            raise ValueError(
                f"fast.pin {part!r}: write category=version, e.g. gather=3, or category=none"
                f" (categories: {', '.join(CATEGORIES)})"
            )
        pins[category] = None if version == "none" else int(version)
    return pins


class FastExecutor:
    """Acts for one subgoal at a time (:meth:`act`) or for many envs at once (:meth:`act_batch`)."""

    name = "fast"

    def __init__(self, config: FastConfig, embedder: SubgoalEmbedder | None = None):
        if not config.dir:
            raise ValueError("FastExecutor needs fast.dir (a folder from `peam train-fast`)")
        self.config = config
        self.device = resolve_device(config.device)
        if self.device.type == "cpu" and config.threads > 0:
            torch.set_num_threads(config.threads)
        self.folder = Path(config.dir)
        self.embedder = embedder or SubgoalEmbedder()
        self.available: set[str] = set()
        self.versions: dict[str, int | None] = {}
        """Adapter version served per category (None: an unversioned folder)."""
        self._tried: dict[str, int | None] = {}
        self._pinned: set[str] = set()
        self.skills: dict[str, dict[str, list[int]] | None] = {}
        """Per category: the served version's fast-tier (successes, attempts) per skill on its
        gate seeds (None: never gated)."""
        self.gate: AdapterGate | None = None
        self._merged: dict[str, FastPolicy] = {}
        self.model: Any = None
        self._subgoal: Subgoal | None = None
        self._adapter = ""
        self._text = np.zeros(0, dtype=np.float32)
        self._rng = np.random.default_rng(0)
        self.width = GOAL_VECTOR_DIM
        """How much of the vector the served trunk reads (``envs.goal``: base, full, goal)."""
        try:
            trunk, meta = load_trunk(self.folder / "trunk", "cpu")
        except TrunkError as err:
            warnings.warn(f"fast tier off: {err}", AdapterLoadWarning, stacklevel=2)
            return
        self.trunk_sha = meta["trunk_sha256"]
        self.width = trunk.config.vector_dim
        self.model = with_adapters(trunk, CATEGORIES)
        trained = self._trained()
        pins = parse_pins(config.pin)
        for category in CATEGORIES:
            if category in pins:
                continue  # loaded at its pinned version below
            folder = registry.served_folder(self.folder, category)
            if not folder.exists() and category not in trained:
                continue  # never trained (no data yet): the slow tier acts, nothing is wrong
            self._load(category)
        for category, version in pins.items():
            if version is None:
                self._pinned.add(category)  # served by none: refresh leaves it out too
            else:
                self.pin(category, version)
        self.model.to(self.device).eval()
        if config.gate:
            self.gate = load_gate(self.folder / "gate")

    def _load(self, category: str, version: int | None = None) -> bool:
        if version is None:
            version = registry.latest(self.folder, category)
            folder = registry.served_folder(self.folder, category)
        else:
            folder = registry.category_dir(self.folder, category) / f"v{version}"
        self._tried[category] = version
        if load_adapter(self.model, category, folder, self.trunk_sha):
            self.versions[category] = version
            self.available.add(category)
            self._merged.pop(category, None)
            self.skills[category] = _gated_skills(folder, self.config.route_acted)
            return True
        if category not in self.model.peft_config:  # peft dropped it mid-load
            self.available.discard(category)
        return False

    def pin(self, category: str, version: int) -> None:
        """Serve ``version`` of ``category`` whatever LATEST says (a gate playing a candidate);
        :meth:`refresh` leaves a pinned category alone."""
        if self.model is None or not self._load(category, version):
            raise ValueError(f"{category} v{version} did not load from {self.folder}")
        self._pinned.add(category)
        self.model.to(self.device).eval()

    def refresh(self) -> list[str]:
        """Load newly published adapter versions (between subgoals); returns what changed.

        A version that fails its checks is refused once with a warning; the
        previously served version keeps serving.
        """
        if self.model is None:
            return []
        changed = []
        for category in CATEGORIES:
            version = registry.latest(self.folder, category)
            if category in self._pinned:
                continue
            if version is None or version == self._tried.get(category):
                continue
            if self._load(category):
                changed.append(category)
        if changed:
            self.model.to(self.device).eval()
        return changed

    def _trained(self) -> set[str]:
        """Categories `peam train-fast` wrote an adapter for (none known without train.json:
        then only a category folder that exists is expected to load)."""
        try:
            report = json.loads((self.folder / "train.json").read_text())
            return {c for c, row in report["adapters"].items() if "skipped" not in row}
        except (OSError, ValueError, KeyError):
            return set()

    # -- routing ---------------------------------------------------------------------

    def covers(self, subgoal: Subgoal) -> str | None:
        """The adapter that would act for ``subgoal``, or None (the slow tier acts).

        When the served version was gated, a skill takes the fast tier only when its gate
        success rate (Laplace-smoothed; 0 for a skill the gate never tried) reaches
        ``fast.min_skill_success``.
        """
        if subgoal.category in self.available:
            gated = self.skills.get(subgoal.category)
            least = self.config.min_skill_success
            if gated is not None and not trusted(gated, skill_key(subgoal), least):
                return None  # a skill the gate never saw succeed stays with the slow tier
            return subgoal.category
        if self.gate is not None and self.available:
            emb = self.embedder.embed([subgoal.text])[0]
            return self.gate.route(emb, self.available, self.config.gate_threshold)
        return None

    # -- one env -----------------------------------------------------------------------

    def begin(self, subgoal: Subgoal, key: tuple[int, int] = (0, 0)) -> None:
        """Start ``subgoal``; ``key`` = (episode seed, attempt number) seeds the sampling."""
        adapter = self.covers(subgoal)
        if adapter is None:
            raise ValueError(f"no adapter covers {subgoal.text!r}; ask covers() first")
        self._subgoal, self._adapter = subgoal, adapter
        self._text = self.embedder.embed([subgoal.text])[0]
        self._rng = subgoal_rng(subgoal.text, self.config.seed, key)

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any], idle: int = 0) -> Decision:
        """The policy's action; ``idle``: the attempt's idle streak (``fast.unstick_after``)."""
        if self._subgoal is None:
            raise RuntimeError("FastExecutor.act() before begin(subgoal)")
        policy = self._merged.get(self._adapter)
        if policy is None:
            policy = self._merged[self._adapter] = self._batch1(self._adapter)
        d, f = self.device, self.seen(obs, info, self._subgoal)
        with torch.inference_mode(), self._autocast():
            logits = policy(
                torch.from_numpy(f.grid[None]).to(d),
                torch.from_numpy(self._text[None]).to(d),
                torch.from_numpy(f.vector[None]).to(d),
            )
        arr = self._ruled(logits.float().cpu().numpy(), [f], [idle])
        return Decision(int(self._choose(arr, self._rng, self.temperature(idle))[0]))

    def seen(self, obs: dict[str, np.ndarray], info: dict[str, Any], subgoal: Subgoal) -> Features:
        """The policy input at this step toward ``subgoal``, laid out as the served trunk
        reads it."""
        f = features(obs, info, paths=self.width > BASE_DIM)
        if self.width < GOAL_VECTOR_DIM:
            return f
        return Features(f.grid, with_goal(f.vector[None], [(subgoal.skill, subgoal.target)])[0])

    # -- many envs -------------------------------------------------------------------

    def act_batch(
        self,
        seen: list[Features],
        subgoals: list[Subgoal],
        rngs: list[np.random.Generator],
        idle: list[int] | None = None,
    ) -> np.ndarray:
        """One forward for a batch of envs, each routed to its own adapter (``adapter_names=``).

        ``seen``: each env's policy input (:meth:`seen`); ``idle``: each env's idle streak.
        """
        names = [self.covers(s) for s in subgoals]
        if any(n is None for n in names):
            raise ValueError("every subgoal in act_batch needs an adapter; ask covers() first")
        d = self.device
        text = self.embedder.embed([s.text for s in subgoals])
        with self._autocast():
            logits = routed_forward(
                self.model,
                torch.from_numpy(np.stack([f.grid for f in seen])).to(d),
                torch.from_numpy(text).to(d),
                torch.from_numpy(np.stack([f.vector for f in seen])).to(d),
                names,  # type: ignore[arg-type]
            )
        idle = idle or [0] * len(rngs)
        arr = self._ruled(logits.float().cpu().numpy(), seen, idle)
        temps = [self.temperature(k) for k in idle]
        return np.array(
            [self._choose(arr[i : i + 1], rng, temps[i])[0] for i, rng in enumerate(rngs)]
        )

    def temperature(self, idle: int) -> float:
        """The sampling temperature after ``idle`` idle steps of the policy in a row."""
        after = self.config.unstick_after
        return self.config.unstick_temperature if 0 < after <= idle else self.config.temperature

    def _ruled(self, logits: np.ndarray, seen: list[Features], idle: list[int]) -> np.ndarray:
        """``logits`` (B, actions) with the rules applied per row: never a move into
        remembered lava; a furnace only beside a remembered table (``furnace_by_table``);
        while the policy goes round in circles (``unstick_after``), no move into the
        blocked cell it faces (``unstick_blocked``); no make or place Crafter would ignore
        (``futile_crafts``)."""
        cfg = self.config
        for i, f in enumerate(seen):
            logits[i, deadly_moves(f)] = -np.inf
            if cfg.furnace_by_table:
                logits[i, stray_furnace(f)] = -np.inf
            if cfg.futile_crafts:
                logits[i, futile_crafts(f)] = -np.inf
            if cfg.unstick_blocked and 0 < cfg.unstick_after <= idle[i]:
                logits[i, futile_moves(f)] = -np.inf
        return logits

    # -- helpers ---------------------------------------------------------------------

    def _batch1(self, adapter: str) -> Any:
        """The batch-1 policy of ``adapter``: trunk + its LoRA delta merged, as plain tensor
        functions (``FastPolicy.frozen``: the same outputs, less overhead per call)."""
        return merged_policy(self.model, adapter).frozen()

    def _choose(self, logits: np.ndarray, rng: np.random.Generator, temp: float) -> np.ndarray:
        """Sample each row's action at temperature ``temp`` (argmax at 0)."""
        if temp <= 0:
            return logits.argmax(-1)
        z = logits / temp
        p = np.exp(z - z.max(-1, keepdims=True))
        cdf = np.cumsum(p, -1)
        u = rng.random(len(p)) * cdf[:, -1]  # the same draws as len(p) calls of random()
        return np.minimum((cdf < u[:, None]).sum(-1), p.shape[-1] - 1)

    def _autocast(self) -> Any:
        if self.device.type != "cuda":
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=torch.bfloat16)
