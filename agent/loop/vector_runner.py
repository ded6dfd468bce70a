"""Many episodes at once on a ``gymnasium.vector`` env: the fast tier decides for all envs in
one forward, each env routed to its own subgoal's adapter (``adapter_names=``).

Each env slot plays episodes through :meth:`EpisodeRunner.episode` (the same
episode logic as a single env); this driver only answers their requests:
resets (``reset_mask``), slow-tier decisions (per slot), fast-tier decisions
(batched), and one vector ``step`` for all slots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import gymnasium
import numpy as np

from agent.fast.executor import FastExecutor, subgoal_rng
from agent.loop.runner import Act, Episode, EpisodeResult, EpisodeRunner, Reset, Step
from envs.tasks import Task


def unbatch_info(infos: dict[str, Any], i: int) -> dict[str, Any]:
    """Env ``i``'s info dict out of a vector env's batched infos."""
    out = {}
    for key, value in infos.items():
        if key.startswith("_") or not infos.get(f"_{key}", np.ones(i + 1, bool))[i]:
            continue
        out[key] = unbatch_info(value, i) if isinstance(value, dict) else value[i]
    return out


def _slot_obs(obs: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    return {k: v[i] for k, v in obs.items()}


class VectorRunner:
    """Plays ``jobs`` (task, seed) on ``venv``, one episode per env slot at a time."""

    def __init__(
        self,
        venv: gymnasium.vector.VectorEnv,
        make_runner: Callable[[], EpisodeRunner],
        fast: FastExecutor | None = None,
    ):
        if venv.metadata.get("autoreset_mode") != gymnasium.vector.AutoresetMode.DISABLED:
            raise ValueError("VectorRunner needs a vector env made with autoreset_mode=DISABLED")
        self.venv = venv
        self.make_runner = make_runner
        """A fresh runner (own controller) per episode, as in the single-env loop."""
        self.fast = fast
        self.forwards = 0
        """Batched fast-tier forwards made (one per vector step with fast slots)."""

    def run(
        self,
        jobs: list[tuple[Task, int]],
        on_episode: Callable[[EpisodeResult], None] | None = None,
        record_video: bool = False,
    ) -> list[EpisodeResult]:
        episode_kw = {"record_video": record_video}
        n = self.venv.num_envs
        todo: Iterator[tuple[Task, int]] = iter(jobs)
        episodes: list[Episode | None] = [None] * n
        pending: list[Any] = [None] * n  # each slot's outstanding request
        rngs = [np.random.default_rng(0) for _ in range(n)]
        attempt_of = [-1] * n
        results: list[EpisodeResult] = []
        obs: dict[str, np.ndarray] = {}
        infos: dict[str, Any] = {}

        def advance(i: int, answer: Any) -> None:
            """Send ``answer`` to slot i; start its next job when its episode ends."""
            while True:
                episode = episodes[i]
                if episode is None:
                    job = next(todo, None)
                    if job is None:
                        pending[i] = None
                        return
                    episode = episodes[i] = self.make_runner().episode(*job, **episode_kw)
                    answer = None
                try:
                    pending[i] = episode.send(answer)
                    return
                except StopIteration as finished:
                    results.append(finished.value)
                    if on_episode is not None:
                        on_episode(finished.value)
                    episodes[i], answer = None, None

        for i in range(n):
            advance(i, None)
        fresh = np.zeros(n, dtype=bool)  # idle slots reset once, so stepping them stays legal
        while any(p is not None for p in pending):
            # Resets: one masked vector reset for every slot that starts an episode.
            starting = np.array([isinstance(p, Reset) for p in pending])
            idle = np.array([p is None for p in pending]) & ~fresh
            if starting.any() or idle.any():
                mask = starting | idle
                seeds = [p.seed if isinstance(p, Reset) else None for p in pending]
                obs, infos = self.venv.reset(seed=seeds, options={"reset_mask": mask})
                fresh |= idle
                for i in np.flatnonzero(starting):
                    advance(i, (_slot_obs(obs, i), unbatch_info(infos, i)))
                continue
            # Decisions: slow slots one by one, fast slots in one routed forward.
            fast = [i for i, p in enumerate(pending) if isinstance(p, Act) and p.tier == "fast"]
            for i, p in enumerate(pending):
                if isinstance(p, Act) and p.tier != "fast":
                    advance(i, p.executor.act(p.obs, p.info))
            if fast:
                if self.fast is None:
                    raise RuntimeError("fast-tier requests need VectorRunner(fast=FastExecutor)")
                for i in fast:
                    if attempt_of[i] != pending[i].attempt_id:
                        attempt_of[i] = pending[i].attempt_id
                        p = pending[i]
                        rngs[i] = subgoal_rng(p.subgoal.text, self.fast.config.seed, p.key)
                actions = self.fast.act_batch(
                    [
                        self.fast.seen(pending[i].obs, pending[i].info, pending[i].subgoal)
                        for i in fast
                    ],
                    [pending[i].subgoal for i in fast],
                    [rngs[i] for i in fast],
                    [pending[i].idle for i in fast],
                )
                self.forwards += 1
                for i, action in zip(fast, actions, strict=True):
                    advance(i, self._decision(int(action)))
            if any(isinstance(p, Reset | Act) for p in pending):
                continue
            # Every live slot waits on a step: one vector step (idle slots take action 0).
            stepping = np.array([isinstance(p, Step) for p in pending])
            if not stepping.any():
                break
            actions = np.array([p.action if isinstance(p, Step) else 0 for p in pending])
            obs, rewards, terms, truncs, infos = self.venv.step(actions)
            fresh &= ~(terms | truncs)
            for i in np.flatnonzero(stepping):
                advance(
                    i,
                    (
                        _slot_obs(obs, i),
                        float(rewards[i]),
                        bool(terms[i]),
                        bool(truncs[i]),
                        unbatch_info(infos, i),
                    ),
                )
        return results

    @staticmethod
    def _decision(action: int) -> Any:
        from memory.records import Decision

        return Decision(action)


def make_vector_env(
    backend: str, n: int, max_episode_steps: int, mode: str = "sync", **kwargs: Any
) -> gymnasium.vector.VectorEnv:
    """``n`` envs of ``backend`` for :class:`VectorRunner` (``mode`` sync or async processes)."""
    import envs

    fns = [
        lambda: envs.make(backend, max_episode_steps=max_episode_steps, **kwargs) for _ in range(n)
    ]
    disabled = gymnasium.vector.AutoresetMode.DISABLED
    if mode == "async":
        return gymnasium.vector.AsyncVectorEnv(fns, autoreset_mode=disabled)
    if mode != "sync":
        raise ValueError(f"unknown vector mode {mode!r}; valid choices: sync, async")
    return gymnasium.vector.SyncVectorEnv(fns, autoreset_mode=disabled)
