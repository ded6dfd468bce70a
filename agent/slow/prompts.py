"""Prompts for the LLM planner: task, text view, skills, recent failures, retrieved plans."""

from __future__ import annotations

from crafter import constants

from agent.slow.plan_schema import schema_text
from envs.tasks import Task
from envs.text import TextView
from memory.records import Failure, Subgoal

Message = dict[str, str]


def _recipes() -> str:
    lines = []
    for item, rule in constants.make.items():
        uses = ", ".join(f"{n} {k}" for k, n in rule["uses"].items())
        lines.append(f"make {item}: uses {uses}; needs nearby {' and '.join(rule['nearby'])}")
    for item, rule in constants.place.items():
        uses = ", ".join(f"{n} {k}" for k, n in rule["uses"].items())
        lines.append(f"place {item}: uses {uses}")
    for material, rule in constants.collect.items():
        if rule["require"]:
            needs = ", ".join(rule["require"])
            lines.append(f"collect from {material}: needs {needs}")
    return "\n".join(lines)


WORKED_TASK = "make_stone_sword"
"""The worked example's task (not in the 11-task suite): shown while the plan memory is empty."""


def worked_example() -> str:
    """A complete plan from an empty inventory, written by the recipe planner."""
    from agent.slow.recipe_planner import Resolver
    from envs.text import TextView

    resolver = Resolver(TextView({}, {}, ()))
    resolver.obtain("stone_sword", 1)
    plan = resolver.plan
    subgoals = ", ".join(
        f'{{"skill": "{s.skill}", "target": "{s.target}", "count": {s.count},'
        f' "category": "{s.category}"}}'
        for s in plan
    )
    return (
        f"Task: {WORKED_TASK}, inventory empty, no table nearby. The sword needs wood and"
        " stone at a table; stone needs a wood pickaxe; the pickaxe needs a table; the table"
        f' needs wood. Plan: {{"subgoals": [{subgoals}]}}'
    )


def system_prompt(vocabulary: dict[str, list[str]]) -> str:
    return (
        "You plan for an agent in Crafter, a 2-D Minecraft. Split the task into subgoals the"
        " agent executes in order. collect/make subgoals mean 'hold at least count of target'"
        " (absolute count); place/defeat mean 'place/defeat count more'. Crafting needs the"
        " stations nearby; collecting some materials needs a tool. Plan every prerequisite"
        " the inventory lacks, in order, then the goal, and stop there: nothing after the"
        " goal.\n"
        f"Recipes:\n{_recipes()}\n\n{schema_text(vocabulary)}"
    )


def _failure_lines(failures: list[str]) -> str:
    """This episode's failures, the most recent last, each once with how often it happened."""
    counts: dict[str, int] = {}
    for f in failures:
        counts[f] = counts.pop(f, 0) + 1  # re-inserted: ordered by the latest occurrence
    return "\n".join(f"- {f}" + (f" ({n} times)" if n > 1 else "") for f, n in counts.items())


def _task_line(task: Task) -> str:
    v = task.verifier
    goal = {
        "inventory": f"hold {v.count} {v.name}",
        "achievement": f"achieve {v.name} x{v.count}",
        "kill": f"defeat {v.count} {v.name}",
    }[v.kind]
    return f"Task: {task.id} ({task.category}) — {goal}. {task.description}".strip()


def plan_messages(
    task: Task,
    view: TextView,
    vocabulary: dict[str, list[str]],
    failures: list[str],
    examples: list[str],
) -> list[Message]:
    parts = [_task_line(task), f"Observation:\n{view.render()}"]
    if failures:
        parts.append(
            "Tried this episode and failed (fix the cause before retrying):\n"
            + _failure_lines(failures)
        )
    if examples:
        parts.append("Past successful plans for similar tasks:\n" + "\n".join(examples))
    else:
        parts.append(
            "A worked example for a different task (plan yours the same way):\n" + worked_example()
        )
    parts.append("Plan:")
    return [
        {"role": "system", "content": system_prompt(vocabulary)},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def correct_messages(
    task: Task | None,
    subgoal: Subgoal,
    failure: Failure,
    vocabulary: dict[str, list[str]],
    failures: list[str],
) -> list[Message]:
    parts = [_task_line(task)] if task is not None else []
    parts.append(f"The subgoal '{subgoal.text}' failed: {failure.code}: {failure.reason}.")
    if failure.view is not None:
        parts.append(f"Observation when it failed:\n{failure.view.render()}")
    if failures:
        parts.append("Earlier failures this episode:\n" + _failure_lines(failures))
    parts.append(
        "Give the corrected plan: the subgoals that fix the cause, ending with the failed"
        " subgoal retried (same skill and target)."
    )
    return [
        {"role": "system", "content": system_prompt(vocabulary)},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def repair_message(answer: str, problem: str) -> list[Message]:
    return [
        {"role": "assistant", "content": answer},
        {
            "role": "user",
            "content": f"That answer is invalid: {problem}. Answer again with valid JSON only.",
        },
    ]


def critic_message(answer: str, problems: list[str]) -> list[Message]:
    """The plan critic's reasons, for the repair round."""
    reasons = "\n".join(f"- {p}" for p in problems)
    return [
        {"role": "assistant", "content": answer},
        {
            "role": "user",
            "content": "That plan cannot work under the game's rules:\n"
            f"{reasons}\nAnswer again with the whole corrected plan, as JSON only.",
        },
    ]
