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


def system_prompt(vocabulary: dict[str, list[str]]) -> str:
    return (
        "You plan for an agent in Crafter, a 2-D Minecraft. Split the task into subgoals the"
        " agent executes in order. collect/make subgoals mean 'hold at least count of target'"
        " (absolute count); place/defeat mean 'place/defeat count more'. Crafting needs the"
        " stations nearby; collecting some materials needs a tool.\n"
        f"Recipes:\n{_recipes()}\n\n{schema_text(vocabulary)}"
    )


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
        parts.append("Recent failures:\n" + "\n".join(f"- {f}" for f in failures))
    if examples:
        parts.append("Past successful plans for similar tasks:\n" + "\n".join(examples))
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
        parts.append("Recent failures:\n" + "\n".join(f"- {f}" for f in failures))
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
