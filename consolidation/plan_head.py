"""Consolidate plans into parameters: train the next-subgoal head (``memory.plan_head``) on
the verified subgoal sequences of successful episodes.

Each verified attempt of a successful episode is one example: (the task's text, the
inventory and the map memory's summary) -> its subgoal. The state is the one the planner
simulates when it rolls the head out (``agent.slow.plan_head_planner``): what was held and
seen when the episode's first verified attempt began — the map summary from the features
stored with that step (``envs.features``: nearest remembered instance of each kind), so
the head learns from what the agent had seen — then each verified subgoal's effect
(``plan_critic.apply``; a placed station counts as nearby).
About one episode in ``validate_every`` (by task and seed) is held out; its next-subgoal
accuracy is reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agent.slow.plan_critic import PlanState, apply
from agent.slow.recipe_planner import STATIONS
from envs.features import KINDS, SCALE, decode
from envs.schema import inventory_dict
from envs.tasks import DEFAULT_TASKS_FILE, load_tasks
from memory.plan_head import NEAR, PlanHead, PlanHeadNet, state_vector
from memory.plans import task_text
from memory.store import ExperienceStore
from memory.transitions import episode_name


@dataclass
class PlanExample:
    task: str
    inventory: dict[str, int]
    near: set[str]
    subgoal: str
    episode: int
    category: str = ""
    """The task's category (plan heads are consolidated per category)."""
    task_id: str = ""
    name: int = 0
    """The episode's task and seed as a number (``memory.transitions.episode_name``): the
    held-out split reads it, so it does not depend on the order episodes were stored in."""


def near_from_vector(vector: np.ndarray) -> set[str]:
    """Kinds the map memory knows within :data:`NEAR` cells, from a feature vector."""
    near = set()
    for i, kind in enumerate(KINDS):
        _, _, dist, known = vector[4 * i : 4 * i + 4]
        if known > 0.5 and dist * SCALE <= NEAR + 1e-6:
            near.add(kind)
    return near


def plan_examples(store_path: Path, tasks_file: str = DEFAULT_TASKS_FILE) -> list[PlanExample]:
    """One example per verified attempt of every successful episode in the store."""
    tasks = load_tasks(tasks_file)
    found: list[PlanExample] = []
    with ExperienceStore(store_path) as store:
        for ep in store.episodes(by_play=True):  # not by completion: reproducible
            if not ep.success:
                continue
            verified = [a for a in store.attempts(ep.id) if a.success]
            if not verified:
                continue
            task = tasks.get(ep.task_id)
            text = task_text(ep.task_id, task.description if task else "")
            at = verified[0].step_start
            first = next(store.steps(ep.id, frames=False, features=True, at=at), None)
            if first is None or first.features is None:
                continue  # the episode ended before its first attempt acted
            # States as the planner simulates them (the head is rolled out that way): what was
            # held and seen when the sequence began, then each subgoal's effect.
            near = near_from_vector(decode(first.features).vector)
            state = PlanState(Counter(inventory_dict(first.inventory)), near & set(STATIONS))
            for a in verified:
                inv = {k: v for k, v in state.inventory.items() if v > 0}
                found.append(PlanExample(text, inv, set(near), a.subgoal.text, ep.id,
                                         ep.category, ep.task_id,
                                         episode_name(ep.task_id, ep.seed)))  # fmt: skip
                apply(a.subgoal, state, {})
                if a.subgoal.skill == "place":
                    near.add(a.subgoal.target)
    return found


def train_plan_head(
    examples: list[PlanExample],
    embed: Callable[[list[str]], np.ndarray],
    updates: int = 600,
    validate_every: int = 10,
    seed: int = 0,
    hidden: int = 128,
) -> tuple[PlanHead, dict[str, Any]]:
    """The head trained on ``examples`` (episodes whose name % validate_every == 0 held out);
    returns it and its report (examples, classes, held-out accuracy)."""
    if not examples:
        raise ValueError("no verified attempts of successful episodes to train a plan head on")
    torch.manual_seed(seed)
    vocab = sorted({e.subgoal for e in examples})
    index = {s: i for i, s in enumerate(vocab)}
    texts = sorted({e.task for e in examples})
    vectors = dict(zip(texts, embed(texts).astype(np.float32), strict=True))
    text = torch.from_numpy(np.stack([vectors[e.task] for e in examples]))
    state = torch.from_numpy(np.stack([state_vector(e.inventory, e.near) for e in examples]))
    target = torch.tensor([index[e.subgoal] for e in examples])
    held = torch.tensor([e.name % validate_every == 0 for e in examples])
    train = ~held if held.any() and (~held).any() else torch.ones_like(held)
    net = PlanHeadNet(len(vocab), hidden)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    idx = torch.nonzero(train).squeeze(1)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(updates):
        batch = idx[torch.randint(len(idx), (min(256, len(idx)),), generator=gen)]
        loss = loss_fn(net(text[batch], state[batch]), target[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        predicted = net(text, state).argmax(dim=-1)
    correct = predicted == target

    def accuracy(mask: torch.Tensor) -> float | None:
        return float(correct[mask].float().mean()) if mask.any() else None

    report = {
        "examples": len(examples),
        "classes": len(vocab),
        "train_accuracy": accuracy(train),
        "held_out_accuracy": accuracy(held) if not bool(train.all()) else None,
        "updates": updates,
        "seed": seed,
    }
    return PlanHead(net, vocab, report), report
