"""The episode loop: env-side verification, corrections linked to failures, bounded retries."""

from __future__ import annotations

from pathlib import Path

import envs
from agent.loop.config import RunnerConfig
from agent.loop.runner import EpisodeRunner
from agent.slow.controller import DeliberateController
from agent.slow.navigation import NOOP
from agent.slow.recipe_planner import RecipePlanner
from envs.tasks import load_tasks
from memory.records import Decision, Failure, Subgoal
from memory.store import ExperienceStore

TASKS = load_tasks()


class Idle:
    """An executor that never does anything useful (and never admits it)."""

    name = "idle"

    def begin(self, subgoal: Subgoal) -> None:
        pass

    def act(self, obs, info) -> Decision:
        return Decision(NOOP)


class Quitter:
    name = "quitter"

    def begin(self, subgoal: Subgoal) -> None:
        pass

    def act(self, obs, info) -> Decision:
        return Decision(None, Failure("unreachable", "never tries"))


def _store(tmp_path: Path) -> tuple[ExperienceStore, int]:
    store = ExperienceStore(tmp_path / "s.sqlite")
    return store, store.start_run("t", {})


def test_success_is_decided_by_the_env_not_the_executor(tmp_path):
    store, run = _store(tmp_path)
    env = envs.make("crafter", max_episode_steps=120)
    runner = EpisodeRunner(
        env,
        RecipePlanner(),
        Idle(),
        store,
        run,
        "crafter",
        RunnerConfig(subgoal_budget=50, max_corrections=1),
    )
    result = runner.run_episode(TASKS["collect_wood_4"], seed=0)
    assert not result.success and result.outcome == "time limit" and result.steps == 120
    attempts = store.attempts()
    assert attempts and not any(a.success for a in attempts)
    assert attempts[0].failure_code == "budget"
    assert store.step_count(store.episodes()[0].id) == 120


def test_retry_is_linked_to_the_attempt_it_corrects(tmp_path):
    store, run = _store(tmp_path)
    env = envs.make("crafter", max_episode_steps=150)
    runner = EpisodeRunner(
        env,
        RecipePlanner(),
        Idle(),
        store,
        run,
        "crafter",
        RunnerConfig(subgoal_budget=40, max_corrections=2),
    )
    runner.run_episode(TASKS["collect_wood_4"], seed=0)
    first, second, *_ = store.attempts()
    assert second.corrects == first.id and second.subgoal.target == first.subgoal.target
    kinds = [c["kind"] for c in store.planner_calls()]
    assert kinds[0] == "plan" and "correct" in kinds


def test_an_executor_that_always_gives_up_ends_the_episode(tmp_path):
    store, run = _store(tmp_path)
    env = envs.make("crafter", max_episode_steps=100)
    runner = EpisodeRunner(
        env, RecipePlanner(), Quitter(), store, run, "crafter", RunnerConfig(max_attempts=7)
    )
    result = runner.run_episode(TASKS["place_table"], seed=0)
    assert not result.success and result.attempts == 7 and result.steps == 0
    assert store.episodes()[0].outcome == "gave up"


def test_correction_after_a_missing_tool(tmp_path):
    """A plan that skips the pickaxe fails, is corrected, and the retry succeeds."""

    class Forgetful(RecipePlanner):
        def plan(self, task, view):
            return [Subgoal("collect", "stone", 1)]

    store, run = _store(tmp_path)
    task = TASKS["collect_stone_8"]
    env = envs.make("crafter", max_episode_steps=task.budget)
    runner = EpisodeRunner(env, Forgetful(), DeliberateController(), store, run, "crafter")
    runner.run_episode(task, seed=1)
    attempts = store.attempts()
    assert attempts[0].failure_code == "missing_item" and not attempts[0].success
    retry = next(a for a in attempts[1:] if a.subgoal.target == "stone")
    assert retry.corrects == attempts[0].id and retry.success
