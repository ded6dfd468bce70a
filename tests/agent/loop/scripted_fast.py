"""A scripted stand-in for the fast tier: it covers every subgoal and plays a fixed rule."""

from __future__ import annotations

from collections.abc import Callable

from memory.records import Decision


class ScriptedFast:
    """``rule(t)`` -> the action of the policy's t-th step (from 1); records the idle
    streak the runner passed with each step."""

    name = "scripted"

    def __init__(self, rule: Callable[[int], int]) -> None:
        self.rule, self.t, self.idle = rule, 0, []

    def begin(self, subgoal, key=(0, 0)) -> None:
        pass

    def covers(self, subgoal):
        return "gather"

    def refresh(self) -> list[str]:
        return []

    def act(self, obs, info, idle: int = 0) -> Decision:
        self.t += 1
        self.idle.append(idle)
        return Decision(self.rule(self.t))


def play_collect_wood(store, fast, config, controller=None, steps: int = 60):
    """One collect_wood_4 episode (seed 0) with ``fast`` under ``controller``'s reflexes."""
    import envs
    from agent.loop.runner import EpisodeRunner
    from agent.slow.controller import DeliberateController
    from agent.slow.recipe_planner import RecipePlanner
    from envs.tasks import load_tasks

    runner = EpisodeRunner(
        envs.make("crafter", max_episode_steps=steps),
        RecipePlanner(),
        controller or DeliberateController(),
        store,
        store.start_run("t", {}),
        "crafter",
        config,
        fast=fast,
    )
    return runner.run_episode(load_tasks()["collect_wood_4"], seed=0)
