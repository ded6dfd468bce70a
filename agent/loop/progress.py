"""A rich progress bar over a run's episodes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agent.loop.run_folder import RunPlan, execute
from agent.loop.runner import EpisodeResult


def run_with_progress(plan: RunPlan, quiet: bool = False) -> dict[str, Any]:
    if quiet or not plan.todo:
        return execute(plan)
    successes = 0
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
    ) as progress:
        bar = progress.add_task("episodes", total=len(plan.todo), status="")
        steps = progress.add_task("steps", total=None, status="")

        def on_episode(result: EpisodeResult) -> None:
            nonlocal successes
            successes += int(result.success)
            progress.update(
                bar,
                advance=1,
                status=f"{result.task_id} seed {result.seed}: {result.outcome};"
                f" {successes} successes",
            )
            progress.reset(steps, total=None)

        def on_step(t: int) -> None:
            if t % 25 == 0:
                progress.update(steps, completed=t)

        return execute(plan, on_episode=on_episode, on_step=on_step)


@contextmanager
def stage_progress(quiet: bool = False) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress callback ``(stage, done, total)`` drawing one bar per training stage."""
    if quiet:
        yield None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ) as progress:
        bars: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(stage, total=total)
            progress.update(bars[stage], completed=done)

        yield update
