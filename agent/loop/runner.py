"""The episode loop: plan -> attempt a subgoal -> verify in the env -> next subgoal, or correct.

Reads top to bottom like one episode. Every step, attempt and planner call goes
to the store as it happens; success is only ever what the env's verifiers say.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import gymnasium
import numpy as np

from agent.loop.config import RunnerConfig
from agent.loop.stall import StallWatch
from agent.slow.planner import Planner
from envs.features import encode, features
from envs.tasks import Task
from envs.text import view
from memory.labels import with_unseen_flag
from memory.records import CallStats, Decision, Failure, Subgoal


class Executor(Protocol):
    """Acts for one subgoal, one env step per :meth:`act` (slow controller or fast policy)."""

    name: str

    def begin(self, subgoal: Subgoal) -> None: ...

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> Decision: ...


class SlowExecutor(Executor, Protocol):
    """The slow tier's controller: also has reflexes that act first during fast attempts."""

    def guard(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> Decision | None:
        """A decision that must come before the fast tier's (survival, a missing item, a
        station out of view), or None."""
        ...

    def hold(self, action: int) -> Decision | None:
        """A replacement for a fast-tier ``action`` the reflexes forbid (a step in front of
        an arrow), or None. Optional: an executor without it holds nothing back."""
        ...


class FastTier(Executor, Protocol):
    """The fast tier (or the retrieval agent): takes the subgoals it covers."""

    def begin(self, subgoal: Subgoal, key: tuple[int, int] = (0, 0)) -> None:
        """Start ``subgoal``; ``key`` = (episode seed, attempt number) seeds its sampling."""
        ...

    def covers(self, subgoal: Subgoal) -> str | None:
        """The adapter (category) that takes ``subgoal``, or None: the slow tier acts."""
        ...

    def refresh(self) -> list[str]:
        """Serve versions published since the last call; the categories that changed."""
        ...

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any], idle: int = 0) -> Decision:
        """The next action; ``idle``: the attempt's idle streak (``agent.loop.stall``)."""
        ...


class EpisodeWriter(Protocol):
    """Where the runner records an episode as it happens: the experience store, or a worker's
    in-memory record (``agent.loop.recording.RecordingStore``) replayed into it later."""

    def begin_episode(
        self,
        run_id: int,
        task_id: str,
        category: str,
        seed: int,
        backend: str,
        frame_shape: tuple[int, ...],
    ) -> int: ...

    def begin_attempt(
        self, episode_id: int, subgoal: Subgoal, tier: str, step: int, corrects: int | None = None
    ) -> int: ...

    def end_attempt(
        self, attempt_id: int, step: int, success: bool, failure: Failure | None
    ) -> None: ...

    def log_step(
        self,
        episode_id: int,
        t: int,
        attempt_id: int | None,
        obs: dict[str, np.ndarray],
        action: int,
        reward: float,
        actor: str = "slow",
    ) -> None: ...

    def log_planner_call(
        self,
        episode_id: int | None,
        attempt_id: int | None,
        kind: str,
        planner: str,
        stats: CallStats,
        latency_s: float,
    ) -> None: ...

    def end_episode(
        self,
        episode_id: int,
        success: bool,
        steps: int,
        outcome: str,
        unlocked: list[str] | None = None,
    ) -> None: ...


class PlannerError(RuntimeError):
    """The planner raised while planning or correcting: it ends the episode, not the run."""


class Reset(NamedTuple):
    """Episode request: reset the env with ``seed`` (and ``options``); answer ``(obs, info)``."""

    seed: int
    options: dict[str, Any] | None = None


class Act(NamedTuple):
    """Episode request: ``executor`` decides for ``subgoal`` at ``obs``; answer a Decision."""

    executor: Executor
    tier: str
    subgoal: Subgoal
    attempt_id: int
    obs: dict[str, np.ndarray]
    info: dict[str, Any]
    key: tuple[int, int] = (0, 0)
    """(episode seed, attempt number): seeds the fast tier's sampling for this attempt."""
    idle: int = 0
    """The fast attempt's idle streak so far (``agent.loop.stall``; ``fast.unstick_after``)."""


class Step(NamedTuple):
    """Episode request: step the env with ``action``; answer the 5-tuple."""

    action: int


Request = Reset | Act | Step
Episode = Generator[Request, Any, "EpisodeResult"]


@dataclass
class EpisodeResult:
    task_id: str
    seed: int
    success: bool
    steps: int
    outcome: str
    attempts: int
    frames: list[np.ndarray] = field(default_factory=list)
    episode_id: int = 0
    """The episode's id in the store it was written to."""


class EpisodeRunner:
    """Runs episodes of tasks with a planner and an executor, logging to a store."""

    def __init__(
        self,
        env: gymnasium.Env,
        planner: Planner,
        executor: SlowExecutor,
        store: EpisodeWriter,
        run_id: int,
        backend: str,
        config: RunnerConfig | None = None,
        fast: FastTier | None = None,
        privileged: SlowExecutor | None = None,
    ):
        self.env = env
        self.planner = planner
        self.executor = executor
        self.store = store
        self.run_id = run_id
        self.backend = backend
        self.config = config or RunnerConfig()
        self.fast = fast
        self.privileged = privileged
        """A privileged teacher (``runner.teacher_sees: world``) that labels every step in
        place of the acting controller; it never acts."""

    def _tier(self, subgoal: Subgoal, correcting: int | None) -> tuple[str, Executor]:
        """The fast tier when its adapter covers the subgoal, unless the slow tier must correct."""
        slow_must_correct = correcting is not None and self.config.handoff
        if self.fast is not None and not slow_must_correct and self.fast.covers(subgoal):
            return "fast", self.fast
        return "slow", self.executor

    def _ask_planner(
        self, kind: str, call: Callable[[], list[Subgoal]], episode_id: int, attempt_id: int | None
    ) -> list[Subgoal]:
        start = time.perf_counter()
        try:
            subgoals = call()
        except Exception as err:
            raise PlannerError(f"{type(err).__name__}: {err}") from err
        latency = time.perf_counter() - start
        self.store.log_planner_call(
            episode_id, attempt_id, kind, self.planner.name, self.planner.last_call, latency
        )
        return subgoals

    def run_episode(
        self,
        task: Task,
        seed: int,
        record_video: bool = False,
        on_step: Callable[[int], None] | None = None,
    ) -> EpisodeResult:
        """Play one episode on ``self.env``, one decision at a time."""
        episode = self.episode(task, seed, record_video, on_step)
        answer: Any = None
        try:
            while True:
                request = episode.send(answer)
                if isinstance(request, Step):
                    answer = self.env.step(request.action)
                elif isinstance(request, Act) and request.tier == "fast":
                    answer = request.executor.act(request.obs, request.info, request.idle)
                elif isinstance(request, Act):
                    answer = request.executor.act(request.obs, request.info)
                else:
                    answer = self.env.reset(seed=request.seed, options=request.options)
        except StopIteration as done:
            return done.value

    def episode(
        self,
        task: Task,
        seed: int,
        record_video: bool = False,
        on_step: Callable[[int], None] | None = None,
    ) -> Episode:
        """The episode as a generator of env/executor requests (see :class:`Request`).

        A driver answers them: :meth:`run_episode` for one env, or
        ``agent.loop.vector_runner`` for many envs stepped together with the fast
        tier's decisions batched into one forward.
        """
        cfg, store = self.config, self.store
        obs, info = yield Reset(seed, {"task": dict(task.env)} if task.env else None)
        frames = [obs["rgb"]] if record_video else []
        episode_id = store.begin_episode(
            self.run_id, task.id, task.category, seed, self.backend, obs["rgb"].shape
        )
        task_baseline = info
        t, attempts, replans = 0, 0, 0
        success = terminated = truncated = False
        outcome = "gave up"
        corrections: Counter[tuple[str, str]] = Counter()
        correcting: dict[tuple[str, str], int] = {}  # subgoal key -> failed attempt it retries
        self.planner.begin_episode(task)
        try:
            queue = self._ask_planner(
                "plan", lambda: self.planner.plan(task, view(obs, info)), episode_id, None
            )

            while attempts < cfg.max_attempts:
                # ---- next subgoal (re-plan when the plan ran out) --------------------------
                if not queue:
                    replans += 1
                    if replans > cfg.max_attempts:
                        outcome = "re-planned without progress"
                        break
                    now = view(obs, info)
                    queue = self._ask_planner(
                        "plan", lambda now=now: self.planner.plan(task, now), episode_id, None
                    )
                    if not queue:
                        outcome = "planner returned no subgoals"
                        break
                subgoal = queue.pop(0)
                verifier = subgoal.verifier()
                baseline = info
                if verifier.check(info, baseline):
                    continue  # already holds: nothing to attempt
                key = (subgoal.skill, subgoal.target)
                if self.fast is not None:
                    self.fast.refresh()  # serve adapter versions published since the last subgoal
                attempts += 1
                corrects = correcting.pop(key, None)
                tier, executor = self._tier(subgoal, corrects)
                attempt_id = store.begin_attempt(episode_id, subgoal, tier, t, corrects=corrects)

                # ---- attempt: the executor acts, the env decides ---------------------------
                sampling = (seed, attempts)
                if tier == "fast":
                    executor.begin(subgoal, sampling)  # type: ignore[call-arg]
                    self.executor.begin(subgoal)  # the guard, and the teacher that labels
                else:
                    executor.begin(subgoal)
                if self.privileged is not None:
                    self.privileged.begin(subgoal)
                guard = self.executor.guard if tier == "fast" and cfg.guard else None
                teacher = getattr(self.executor, "advise", None) if cfg.label else None
                failure: Failure | None = None
                idle = cfg.idle_steps if cfg.handoff else 0  # alone, waiting would be cut
                stall = cfg.stall_steps if cfg.handoff else cfg.alone_stall_steps
                watch = StallWatch(verifier, info, stall, idle)
                for _ in range(cfg.subgoal_budget):
                    decision = guard(obs, info) if guard is not None else None
                    actor, label = "guard", None
                    if decision is None:
                        decision = yield Act(
                            executor, tier, subgoal, attempt_id, obs, info, sampling, watch.idle
                        )
                        actor = tier
                        if tier == "fast" and teacher is not None:
                            teacher(obs, info)  # what the slow tier would do here (DAgger)
                        held = self._hold(decision) if guard is not None else None
                        if held is not None:
                            decision, actor = held, "guard"  # e.g. an arrow's next cell
                        elif tier == "slow" and getattr(executor, "reflexive", False):
                            actor = "guard"  # a survival reflex, not a step of the subgoal
                        elif tier == "slow" or teacher is not None:
                            label = _mask(getattr(self.executor, "choices", ()))
                            if self.privileged is not None and label is not None:
                                label = self._privileged_label(obs, info, label)
                    if decision.give_up is not None:
                        failure = decision.give_up
                        break
                    action = int(decision.action)  # type: ignore[arg-type]
                    seen = encode(features(obs, info)) if "map" in info else None
                    next_obs, reward, terminated, truncated, info = yield Step(action)
                    store.log_step(
                        episode_id, t, attempt_id, obs, action, reward, actor, seen, label
                    )
                    obs = next_obs
                    t += 1
                    if record_video:
                        frames.append(obs["rgb"])
                    if on_step is not None:
                        on_step(t)
                    success = task.verifier.check(info, task_baseline)
                    if success or terminated or truncated or verifier.check(info, baseline):
                        break
                    if tier == "fast":
                        given_up = watch.step(info, own=actor == tier)
                        if given_up is not None:
                            failure = Failure(*given_up, view(obs, info))
                            break
                verified = verifier.check(info, baseline)
                if not verified and failure is None:
                    failure = self._why(terminated, truncated, cfg.subgoal_budget, obs, info)
                store.end_attempt(attempt_id, t, verified, failure)
                self.planner.attempt_done(subgoal, None if verified else failure)

                # ---- episode over? ---------------------------------------------------------
                if success or terminated or truncated:
                    outcome = "success" if success else ("died" if terminated else "time limit")
                    if not success and info.get("aborted"):  # the simulator died, not the player
                        outcome = f"aborted: {info['aborted']}"
                    break
                if verified:
                    continue

                # ---- correct: the planner sees why it failed; the retry links to this attempt
                assert failure is not None
                if tier == "fast" and cfg.handoff and cfg.slow_retry:
                    correcting[key] = attempt_id  # the slow tier retries it, no planner call
                    queue = [subgoal, *queue]
                    continue
                if failure.code != "stalled" or cfg.stalls_replan:
                    corrections[key] += 1
                if corrections[key] > cfg.max_corrections:
                    corrections[key] = 0
                    queue = []  # re-plan the whole task from here
                    continue
                fixed = self._ask_planner(
                    "correct",
                    lambda f=failure, s=subgoal: self.planner.correct(s, f),
                    episode_id,
                    attempt_id,
                )
                correcting[key] = attempt_id
                queue = fixed + queue

        except PlannerError as err:  # the episode fails with the reason; the run goes on
            outcome = f"planner error: {err}"
        unlocked = [n for n, c in info.get("achievements", {}).items() if c > 0]
        store.end_episode(episode_id, success, t, outcome, unlocked)
        return EpisodeResult(task.id, seed, success, t, outcome, attempts, frames, episode_id)

    def _hold(self, decision: Decision) -> Decision | None:
        """The guard's replacement for a fast-tier step it holds back, or None."""
        hold = getattr(self.executor, "hold", None)
        if hold is None or decision.action is None or decision.give_up is not None:
            return None
        return hold(int(decision.action))

    def _privileged_label(self, obs: Any, info: dict[str, Any], fair: int) -> int | None:
        """The privileged teacher's label here, flagged when it shares no action with the
        fair controller's (``fair``): then it depends on what the memory has not seen."""
        assert self.privileged is not None
        self.privileged.advise(obs, info)  # type: ignore[attr-defined]
        world = _mask(getattr(self.privileged, "choices", ()))
        return None if world is None else with_unseen_flag(world, fair)

    @staticmethod
    def _why(terminated: bool, truncated: bool, budget: int, obs: Any, info: Any) -> Failure:
        if info.get("aborted"):
            return Failure("aborted", str(info["aborted"]), view(obs, info))
        if terminated:
            return Failure("died", "the player died", view(obs, info))
        if truncated:
            return Failure("time_limit", "the episode hit its step limit", view(obs, info))
        return Failure("budget", f"not verified within {budget} steps", view(obs, info))


def _mask(actions: Any) -> int | None:
    """A set of actions as a bitmask (None when empty: no label)."""
    bits = 0
    for a in actions:
        bits |= 1 << int(a)
    return bits or None
