"""`peam consolidate`: read a run's store, decide per category, train, publish.

One pass (:meth:`Consolidator.run_once`) or a loop following the store as
agents write it (:meth:`Consolidator.watch`). Layout in the run folder::

    trunk/                         frozen trunk (trained by BC first if missing)
    adapters/<category>/v<N>/      published versions + LATEST (agent.fast.registry)
    consolidation/decisions.jsonl  every trigger decision with its statistic
    consolidation/jobs/<category>/ the running job: plan + resumable checkpoint
    consolidation/tb/              TensorBoard: losses, PW components, trigger z

A job's plan (which attempts it learns from) is written before training, so
after a crash (even ``kill -9``) the restart resumes the same job from its last
checkpoint; the served version is only replaced by an atomic publish at the end.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agent.fast import registry
from agent.fast.adapters import load_adapter, lora_parameters, trunk_hash, with_adapters
from agent.fast.device import resolve_device
from agent.fast.policy import FastPolicy
from agent.fast.trunk import load_trunk, save_trunk
from consolidation import distributed
from consolidation.agreement import agreement
from consolidation.bc import acts_as_taught
from consolidation.config import ConsolidateConfig
from consolidation.trainer import train_category
from consolidation.trigger import (
    TriggerDecision,
    enough_successes,
    failure_jump,
    fixed_threshold,
    label_gap,
    teacher_gap,
)
from consolidation.trunk import train_trunk
from consolidation.worthiness import score
from envs.tasks import CATEGORIES
from memory.atomic import atomic_write
from memory.store import AttemptRecord, ExperienceStore
from memory.text_embedding import SubgoalEmbedder
from memory.transitions import NoTrainingDataError, Transitions, load_transitions

Log = Callable[[str], None]
Gate = Callable[[str, int], dict[str, Any]]
"""gate(category, candidate version) -> {"publish": bool, "reason": str, ...numbers}: plays
the candidate against the served version (``agent.evolve.gate``)."""


class Consolidator:
    def __init__(
        self,
        run: Path,
        config: ConsolidateConfig | None = None,
        out: Path | None = None,
        embedder: Any = None,
        log: Log = print,
        tensorboard: bool = True,
        gate: Gate | None = None,
    ):
        self.run = Path(run)
        self.store_path = self.run / "store.sqlite"
        if not self.store_path.exists():
            raise FileNotFoundError(
                f"no experience store at {self.store_path}; record episodes with"
                f" `peam run --out {self.run}` first"
            )
        self.root = Path(out) if out is not None else self.run
        """Where the trunk, the adapter registry and the job state live (default: the run)."""
        self.config = config or ConsolidateConfig()
        self.device = distributed.init_from_env() or resolve_device(self.config.device)
        self.main = distributed.is_main()
        """Rank 0 (or the only process): the one that writes."""
        self._say: Log = log if self.main else (lambda _line: None)
        self.embedder = embedder or SubgoalEmbedder()
        self.log = log
        self.gate = gate
        """Decides whether a trained version replaces the served one (None: always)."""
        self.home = self.root / "consolidation"
        self.home.mkdir(parents=True, exist_ok=True)
        self._tb: Any = None
        if tensorboard and self.main:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.home / "tb"))
        self._tb_step = 0

    # -- the loop ---------------------------------------------------------------------

    def watch(self, interval: float = 30.0, rounds: int | None = None) -> None:
        """Consolidate whenever the trigger fires, until interrupted (or ``rounds`` passes)."""
        done = 0
        while rounds is None or done < rounds:
            self.run_once()
            done += 1
            if rounds is None or done < rounds:
                time.sleep(interval)

    def run_once(self) -> list[TriggerDecision]:
        """Resume unfinished jobs, then decide for every category and train what fires."""
        trunk, sha = self._trunk()
        if trunk is None:
            return []
        decisions = []
        pending = {
            c: (self.home / "jobs" / c / "plan.json").exists() for c in self.config.categories
        }
        distributed.barrier()  # every rank has looked before rank 0 writes a plan
        for category in self.config.categories:
            job = self.home / "jobs" / category
            if pending[category]:
                plan = json.loads((job / "plan.json").read_text())
                self._say(f"{category}: resuming the interrupted job (attempts <= {plan['until']})")
                self._consolidate(category, trunk, sha, plan)
                continue
            decision, until = self._decide(category)
            decisions.append(decision)
            self._record(decision)
            self._say(
                f"{category}: {'consolidate' if decision.fire else 'wait'} - {decision.reason}"
            )
            if decision.fire:
                plan = {"until": until, "decision": decision.to_dict()}
                if self.main:
                    job.mkdir(parents=True, exist_ok=True)
                    atomic_write(job / "plan.json", json.dumps(plan, indent=2))
                self._consolidate(category, trunk, sha, plan)
        return decisions

    # -- deciding ---------------------------------------------------------------------

    def _attempts(self, category: str) -> list[AttemptRecord]:
        with ExperienceStore(self.store_path) as store:
            done = {e.id for e in store.episodes()}
            return [
                a
                for a in store.attempts()
                if a.episode_id in done and a.success is not None and a.subgoal.category == category
            ]

    def _served_meta(self, category: str) -> dict[str, Any] | None:
        served = registry.latest(self.root, category)
        rows = [r for r in registry.describe(self.root, category) if r["version"] == served]
        return rows[0] if rows else None

    def _new_attempts(self, category: str, meta: dict[str, Any] | None) -> list[AttemptRecord]:
        """The category's attempts this store holds that the served adapter has not seen."""
        attempts = self._attempts(category)
        if meta is None or meta.get("store") != str(self.store_path.resolve()):
            return attempts
        return [a for a in attempts if a.id > int(meta.get("last_attempt_id", 0))]

    def _decide(self, category: str) -> tuple[TriggerDecision, int]:
        attempts = self._attempts(category)
        until = max((a.id for a in attempts), default=0)
        alpha = self.config.trigger.alpha
        meta = self._served_meta(category)
        if self.config.trigger.kind == "fixed":
            new = [bool(a.success) for a in self._new_attempts(category, meta)]
            return fixed_threshold(category, new, meta is not None, self.config.trigger), until
        if meta is None:
            return enough_successes(category, [bool(a.success) for a in attempts], alpha), until
        gate = (meta.get("gate") or {}).get("candidate")
        since = self._new_attempts(category, meta)
        if gate:
            # Like with like: the served version's fast-tier failure rate when it was gated,
            # against its fast-tier failure rate since.
            k, n = int(gate["failed_attempts"]), int(gate["attempts"])
            new = [a for a in since if a.tier == "fast"]
        else:  # published ungated: the category's outcomes up to it (its metadata)
            history = meta.get("history", {"failures": 0, "attempts": 0})
            k, n = int(history["failures"]), int(history["attempts"])
            new = since
        baseline = [True] * k + [False] * (n - k)
        recent = [not a.success for a in new]
        decision = failure_jump(category, baseline, recent, alpha)
        if decision.fire or not gate:
            return decision, until
        gap = teacher_gap(category, since, alpha, decision)
        held_out = _held_out(meta, self.config.validate_every)
        if gap.fire or held_out is None:
            return gap, until
        return label_gap(category, self._off_label(since), held_out, alpha, gap), until

    def _off_label(self, since: list[AttemptRecord]) -> list[bool]:
        """Per labelled fast-tier step of ``since``: the action was not one of the teacher's."""
        fast = {a.id for a in since if a.tier == "fast"}
        out: list[bool] = []
        with ExperienceStore(self.store_path) as store:
            for episode in sorted({a.episode_id for a in since if a.id in fast}):
                for step in store.steps(episode, frames=False):
                    if step.attempt_id in fast and step.actor == "fast" and step.label:
                        out.append(not (step.label >> step.action) & 1)
        return out

    def _record(self, decision: TriggerDecision) -> None:
        if not self.main:
            return
        line = json.dumps({"time": time.time(), **decision.to_dict()})
        with open(self.home / "decisions.jsonl", "a") as f:
            f.write(line + "\n")
        if self._tb is not None:
            self._tb.add_scalar(f"trigger/{decision.category}/z", decision.z, self._tb_step)
            self._tb_step += 1

    # -- the trunk ------------------------------------------------------------------

    def _trunk(self) -> tuple[FastPolicy | None, str]:
        folder = self.root / "trunk"
        if (folder / "trunk.json").exists():
            trunk, meta = load_trunk(folder)
            return trunk, meta["trunk_sha256"]
        try:
            data = load_transitions([self.store_path], max_transitions=self.config.max_transitions)
        except NoTrainingDataError as err:
            self._say(f"no trunk yet and nothing to train it on: {err}")
            return None, ""
        data, _held_out = data.split(self.config.validate_every)  # never seen by the trunk
        self._say(f"training the trunk by BC on {len(data)} labelled steps")
        table = torch.from_numpy(self.embedder.embed(data.texts)).to(self.device)
        policy, _ = train_trunk(data, table, self.config.trunk, self.device)
        sha = trunk_hash(policy)
        if self.main:
            sha = save_trunk(
                policy, folder, {"data_sha256": data.digest(), "transitions": len(data)}
            )
        distributed.barrier()
        for p in policy.parameters():
            p.requires_grad_(False)
        return policy, sha

    # -- consolidating one category -------------------------------------------------

    def _consolidate(self, category: str, trunk: FastPolicy, sha: str, plan: dict) -> None:
        cfg, device, until = self.config, self.device, int(plan["until"])
        job = self.home / "jobs" / category
        started = time.perf_counter()
        try:
            everything = load_transitions(
                [self.store_path],
                max_transitions=cfg.max_transitions,
                keep=lambda a: a.success is not None and a.id <= until and a.tier in cfg.tiers,
            )
        except NoTrainingDataError as err:
            self._say(f"{category}: {err}")
            shutil.rmtree(job, ignore_errors=True)
            return
        mine_all = everything.subset(everything.categories == category)
        if len(mine_all) == 0:
            self._say(f"{category}: no labelled steps yet")
            shutil.rmtree(job, ignore_errors=True)
            return
        table = torch.from_numpy(self.embedder.embed(everything.texts)).to(device)
        torch.manual_seed(cfg.trainer.bc.seed)  # fresh LoRA weights: the same on every run
        model = with_adapters(_copy(trunk), CATEGORIES).to(device).eval()
        parent = registry.latest(self.root, category)
        meta_parent = self._served_meta(category)
        if parent is not None:
            load_adapter(model.cpu(), category, registry.served_folder(self.root, category), sha)
            model.to(device)
        model.set_adapter(category)

        # What to learn: the new states (top PW), mixed with a replay reservoir of old ones.
        seen_until = _seen_until(meta_parent, self.store_path)
        fresh = mine_all.subset(mine_all.attempts % 2**32 > seen_until)
        old = mine_all.subset(mine_all.attempts % 2**32 <= seen_until)
        train_new, val = fresh.split(cfg.validate_every)
        unseen = 0
        if cfg.select_by_pw and cfg.pw.drop_unseen:  # labels no memory-reading policy can learn
            unseen = int(train_new.unseen.sum() + old.unseen.sum())
            train_new, old = train_new.subset(~train_new.unseen), old.subset(~old.unseen)
        pw = self._score(category, model, train_new, everything, table)
        keep = pw.selected(cfg.pw.select) if cfg.select_by_pw else np.arange(len(train_new))
        selected = train_new.subset(keep) if len(train_new) else train_new
        replay = reservoir(old, cfg.replay_per_skill, cfg.trainer.bc.seed)
        data = selected.concat(replay)
        is_replay = np.arange(len(data)) >= len(selected)
        if len(data) == 0:
            self._say(f"{category}: nothing new to learn")
            shutil.rmtree(job, ignore_errors=True)
            return
        table = torch.from_numpy(self.embedder.embed(data.texts)).to(device)
        val_table = torch.from_numpy(self.embedder.embed(val.texts)).to(device)
        taught_before = self._taught(model, category, val, val_table)
        tb_tag = f"{category}/v{(parent or 0) + 1}"

        def on_update(done: int, total: int, losses: dict[str, float]) -> None:
            if self._tb is not None:
                for name, value in losses.items():
                    self._tb.add_scalar(f"loss/{tb_tag}/{name}", value, done)

        result = train_category(
            model, category, data, table, cfg.trainer, device, job / "checkpoint", on_update,
            replay=is_replay,
        )  # fmt: skip
        taught_after = self._taught(model, category, val, val_table)
        before, after = _accuracy(taught_before), _accuracy(taught_after)
        if self._tb is not None and len(pw.pw):
            for name, values in {**pw.components, "pw": pw.pw}.items():
                self._tb.add_histogram(f"pw/{tb_tag}/{name}", values, 0)
            self._tb.flush()
        meta = {
            "trainer": "bc" if cfg.trainer.bc_only or not result.pairs else "bc+dpo",
            "data_sha256": data.digest(),
            "transitions": len(data),
            "new_states": len(train_new),
            "selected_states": len(selected),
            "unseen_dropped": unseen,
            "replay_states": len(replay),
            "pairs": result.pairs,
            "pw": pw.stats() if len(pw.pw) else {},
            "pw_per_skill": pw.per_skill(),
            "losses": result.to_dict(),
            "evaluation": {
                "val_accuracy_before": before,
                "val_accuracy_after": after,
                "val_states": len(val),
                # paired over the same states: taught only after / only before (the gate's test)
                "val_better": _only(taught_after, taught_before),
                "val_worse": _only(taught_before, taught_after),
            },
            "store": str(self.store_path.resolve()),
            "last_attempt_id": until,
            "history": self._history(category, until),
            "trigger": plan.get("decision"),
            "config": asdict(cfg.trainer),
            "seconds": time.perf_counter() - started,
        }
        digest = _lora_digest(model, category)
        if not self.main:
            distributed.barrier()  # rank 0 publishes
            self.log(f"rank {distributed.rank()}: trained {category} (weights {digest})")
            return
        gated = self.gate is not None
        version = registry.publish(model.cpu(), category, self.root, sha, meta, serve=not gated)
        verdict = None
        if gated:
            assert self.gate is not None
            verdict = self.gate(category, version)
            registry.annotate(self.root, category, version, {"gate": verdict})
            if verdict["publish"]:
                registry.serve(self.root, category, version)
        shutil.rmtree(job, ignore_errors=True)
        distributed.barrier()
        ranks = f", {distributed.size()} ranks" if distributed.active() else ""
        fate = "published" if verdict is None or verdict["publish"] else "kept the served version;"
        gate_note = "" if verdict is None else f"; gate: {verdict['reason']}"
        self._say(
            f"{category}: {fate} v{version} ({len(selected)} new states of {len(train_new)},"
            f" {len(replay)} replayed, {result.pairs} pairs; held-out label accuracy"
            f" {_pct(before)} -> {_pct(after)}{ranks}; weights {digest}{gate_note})"
        )

    def _history(self, category: str, until: int) -> dict[str, int]:
        """Failures and attempts of the category up to ``until``, added to the served history."""
        meta = self._served_meta(category)
        old = (meta or {}).get("history", {"failures": 0, "attempts": 0})
        new = [a for a in self._new_attempts(category, meta) if a.id <= until]
        return {
            "failures": int(old["failures"]) + sum(not a.success for a in new),
            "attempts": int(old["attempts"]) + len(new),
        }

    def _score(self, category, model, train, everything, table):
        with ExperienceStore(self.store_path) as store:
            costs = store.attempt_costs()
            attempts = store.attempts()
        slow: dict[str, list[tuple[float, float]]] = {}
        tally: dict[str, list[int]] = {}
        for a in attempts:
            if a.subgoal.category != category or a.success is None:
                continue
            skill = f"{a.subgoal.skill} {a.subgoal.target}"
            row = tally.setdefault(skill, [0, 0])
            row[0] += int(bool(a.success))
            row[1] += 1
            if a.tier == "slow":
                slow.setdefault(skill, []).append(costs.get(a.id, (0.0, 0.0)))
        skill_cost = {
            s: (float(np.mean([c[0] for c in v])), float(np.mean([c[1] for c in v])), len(v))
            for s, v in slow.items()
        }
        skill_success = {s: (v[0], v[1]) for s, v in tally.items()}
        others = everything.subset(everything.categories != category)
        centroids = []
        trunk_model = model.base_model.model
        with torch.no_grad(), model.disable_adapter():
            for other in sorted(set(others.categories)):
                part = others.subset(others.categories == other)
                idx = np.random.default_rng(0).choice(len(part), min(2048, len(part)), False)
                sample = part.subset(np.sort(idx))
                feats = _features(trunk_model, sample, table, self.device)
                centroids.append(feats.mean(axis=0))

        def trunk_features(g, t, v):
            with model.disable_adapter():
                return trunk_model.features(g, t, v)

        agrees = None
        if self.config.pw.agreement > 0:
            agrees = agreement(model, category, train, table, self.device)
        return score(
            train, table, skill_cost, skill_success, lambda g, t, v: model(g, t, v),
            trunk_features, np.array(centroids), self.config.pw, self.device, agrees,
        )  # fmt: skip

    def _taught(self, model, category: str, val: Transitions, table) -> np.ndarray | None:
        """Per validation state: the adapter's likeliest action is one of the teacher's."""
        if len(val) == 0:
            return None
        model.set_adapter(category)
        return acts_as_taught(lambda g, t, v: model(g, t, v), val, table, self.device)


def _accuracy(taught: np.ndarray | None) -> float | None:
    return None if taught is None else float(taught.mean())


def _only(a: np.ndarray | None, b: np.ndarray | None) -> int | None:
    """States taught by ``a`` and not by ``b``."""
    return None if a is None or b is None else int((a & ~b).sum())


@torch.no_grad()
def _features(policy: FastPolicy, data: Transitions, table, device) -> np.ndarray:
    from consolidation.bc import batch_tensors

    out = []
    for start in range(0, len(data), 1024):
        idx = np.arange(start, min(start + 1024, len(data)))
        grid, text, vector, _, _ = batch_tensors(data, idx, table, device)
        out.append(policy.features(grid, text, vector).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, policy.config.hidden))


def _held_out(meta: dict[str, Any], validate_every: int) -> tuple[float, int] | None:
    """(label accuracy, states) of the served version on its validation states; versions
    written before ``val_states`` was recorded: the count its training split implies."""
    evaluation = meta.get("evaluation") or {}
    accuracy = evaluation.get("val_accuracy_after")
    n = evaluation.get("val_states")
    if n is None and meta.get("new_states") and validate_every > 1:
        n = round(int(meta["new_states"]) / (validate_every - 1))
    return (float(accuracy), int(n)) if accuracy is not None and n else None


def _seen_until(meta: dict[str, Any] | None, store: Path) -> int:
    """The last attempt id of ``store`` the served version learned from (0: none)."""
    if meta is None or meta.get("store") != str(store.resolve()):
        return 0
    return int(meta.get("last_attempt_id", 0))


def reservoir(old: Transitions, per_skill: int, seed: int) -> Transitions:
    """Up to ``per_skill`` states of each subgoal text from earlier rounds (uniform, seeded)."""
    if len(old) == 0 or per_skill <= 0:
        return old.subset(np.zeros(len(old), dtype=bool))
    rng = np.random.default_rng([seed, 7])
    keep = np.zeros(len(old), dtype=bool)
    for text_id in np.unique(old.text_ids):
        rows = np.flatnonzero(old.text_ids == text_id)
        keep[rng.choice(rows, min(per_skill, len(rows)), replace=False)] = True
    return old.subset(keep)


def _lora_digest(model: Any, category: str) -> str:
    """sha256 (12 hex) of the category's LoRA weights: equal on every rank after a synced run."""
    import hashlib

    h = hashlib.sha256()
    for _, p in sorted(lora_parameters(model, category).items()):
        h.update(p.detach().cpu().float().numpy().tobytes())
    return h.hexdigest()[:12]


def _copy(trunk: FastPolicy) -> FastPolicy:
    fresh = FastPolicy(trunk.config)
    fresh.load_state_dict(trunk.state_dict())
    for p in fresh.parameters():
        p.requires_grad_(False)
    return fresh.eval()


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"
