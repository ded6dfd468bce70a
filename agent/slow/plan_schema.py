"""The JSON an LLM planner must answer with, validated (pydantic) into Subgoals.

Unknown skills, categories that do not match the skill, and targets the
backend does not offer are rejected with a message the repair round shows the
model.
"""

from __future__ import annotations

import json
import re

from crafter import constants
from pydantic import BaseModel, Field, ValidationError

from agent.slow.recipe_planner import SOURCES
from envs.schema import KILLABLE
from memory.records import SKILLS, Subgoal


def crafter_vocabulary() -> dict[str, list[str]]:
    """Skill -> the targets Crafter offers for it."""
    return {
        "collect": sorted(SOURCES),
        "place": sorted(constants.place),
        "make": sorted(constants.make),
        "defeat": list(KILLABLE),
    }


class SubgoalModel(BaseModel):
    skill: str
    target: str
    count: int = Field(default=1, ge=1, le=99)
    category: str


class PlanModel(BaseModel):
    subgoals: list[SubgoalModel] = Field(min_length=1, max_length=40)


class PlanError(ValueError):
    """The model's answer is not a valid plan; the message says why (shown in repair)."""


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def _json_text(text: str) -> str:
    fenced = _FENCE.search(text)
    if fenced:
        return fenced.group(1)
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    return text[start:] if start >= 0 else text


def parse_plan(text: str, vocabulary: dict[str, list[str]]) -> list[Subgoal]:
    """Subgoals from the model's text, or :class:`PlanError` naming every problem."""
    try:
        data = json.loads(_json_text(text))
    except json.JSONDecodeError as err:
        raise PlanError(f"the answer is not valid JSON ({err.msg} at char {err.pos})") from None
    if isinstance(data, list):
        data = {"subgoals": data}
    try:
        plan = PlanModel.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise PlanError(f"the JSON does not match the schema: {problems}") from None
    problems, subgoals = [], []
    for i, sg in enumerate(plan.subgoals):
        if sg.skill not in vocabulary:
            problems.append(
                f"subgoals.{i}: unknown skill {sg.skill!r} (valid: {', '.join(vocabulary)})"
            )
            continue
        if sg.category != SKILLS[sg.skill]:
            problems.append(
                f"subgoals.{i}: category {sg.category!r} does not match skill {sg.skill!r}"
                f" (must be {SKILLS[sg.skill]!r})"
            )
        if sg.target not in vocabulary[sg.skill]:
            problems.append(
                f"subgoals.{i}: unknown target {sg.target!r} for {sg.skill}"
                f" (valid: {', '.join(vocabulary[sg.skill])})"
            )
        if not problems:
            subgoals.append(Subgoal(sg.skill, sg.target, sg.count, sg.category))
    if problems:
        raise PlanError("; ".join(problems))
    return subgoals


def schema_text(vocabulary: dict[str, list[str]]) -> str:
    """How to answer, for the system prompt."""
    lines = [
        'Answer with JSON only: {"subgoals": [{"skill": ..., "target": ..., "count": ...,'
        ' "category": ...}, ...]}',
        "Skills, their category, and valid targets:",
    ]
    for skill, targets in vocabulary.items():
        lines.append(f"- {skill} (category {SKILLS[skill]}): {', '.join(targets)}")
    return "\n".join(lines)


def json_schema(vocabulary: dict[str, list[str]]) -> dict[str, object]:
    """The plan as a JSON Schema, for servers that constrain output to one (strict-mode
    compatible: every property required, no others allowed)."""
    targets = sorted({t for ts in vocabulary.values() for t in ts})
    subgoal = {
        "type": "object",
        "properties": {
            "skill": {"type": "string", "enum": list(vocabulary)},
            "target": {"type": "string", "enum": targets},
            "count": {"type": "integer"},
            "category": {"type": "string", "enum": sorted({SKILLS[s] for s in vocabulary})},
        },
        "required": ["skill", "target", "count", "category"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"subgoals": {"type": "array", "items": subgoal}},
        "required": ["subgoals"],
        "additionalProperties": False,
    }
