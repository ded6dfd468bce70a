"""Retrieval's equivalent of the plan head: reuse the stored plan of a near-identical past
task without calling the LLM, so the token comparison stays fair.

``plan``: the plan memory's nearest past task (``memory.plans``, task-text embeddings); when
its cosine similarity is at least ``similarity`` and the plan critic accepts its plan from
the current view (cut at the goal), that plan is used with no model request
(``planner_calls.planner = plan_reuse``, counted in ``head_subgoals``). Otherwise, and for
the rest of an episode in which a reused subgoal failed for a reason of the plan (not a
stall or a budget), the inner planner answers.
"""

from __future__ import annotations

from agent.slow import plan_critic
from agent.slow.plan_front import FrontPlanner
from agent.slow.planner import Planner
from envs.tasks import Task
from envs.text import TextView
from memory.plan_head import parse_subgoal
from memory.plans import PlanMemory, task_text
from memory.records import Subgoal


class PlanReusePlanner(FrontPlanner):
    label = "plan_reuse"

    def __init__(self, memory: PlanMemory, inner: Planner, similarity: float = 0.95):
        super().__init__(inner)
        self.memory, self.similarity = memory, similarity

    def propose(self, task: Task, view: TextView) -> list[Subgoal] | None:
        hit = self.memory.nearest(task_text(task.id, task.description))
        if hit is None or hit[0] < self.similarity:
            return None
        return plan_critic.trim([parse_subgoal(t) for t in hit[1]], view, plan_critic.goal_of(task))
