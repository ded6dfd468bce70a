from __future__ import annotations

from pathlib import Path

import pytest

import envs
from envs.tasks import CATEGORIES, UnknownTaskError, load_tasks, select
from envs.text import view
from envs.verifiers import Verifier


def _info(inventory=None, achievements=None, kills=None):
    return {
        "inventory": inventory or {},
        "achievements": achievements or {},
        "kills": kills or {},
    }


@pytest.mark.parametrize(
    ("verifier", "baseline", "now", "expected"),
    [
        (Verifier("inventory", "wood", 4), None, _info({"wood": 3}), False),
        (Verifier("inventory", "wood", 4), None, _info({"wood": 4}), True),
        (Verifier("inventory", "wood", 4), _info({"wood": 9}), _info({"wood": 4}), True),
        (
            Verifier("achievement", "place_table"),
            None,
            _info(achievements={"place_table": 1}),
            True,
        ),
        (
            Verifier("achievement", "place_table"),
            None,
            _info(achievements={"place_table": 0}),
            False,
        ),
        (
            Verifier("achievement", "place_table"),
            _info(achievements={"place_table": 1}),
            _info(achievements={"place_table": 1}),
            False,
        ),
        (
            Verifier("achievement", "place_table"),
            _info(achievements={"place_table": 1}),
            _info(achievements={"place_table": 2}),
            True,
        ),
        (Verifier("kill", "zombie"), _info(kills={"zombie": 0}), _info(kills={"zombie": 1}), True),
        (
            Verifier("kill", "zombie", 2),
            _info(kills={"zombie": 1}),
            _info(kills={"zombie": 2}),
            False,
        ),
        (
            Verifier("kill", "skeleton"),
            _info(kills={"skeleton": 0}),
            _info(kills={"zombie": 3}),
            False,
        ),
    ],
)
def test_verifier_table(verifier, baseline, now, expected):
    assert verifier.check(now, baseline) is expected


def test_verifier_rejects_unknown_kind():
    with pytest.raises(ValueError, match="valid choices: inventory, achievement, kill"):
        Verifier("vibes", "wood")


def test_suite_has_eleven_tasks_in_three_categories():
    tasks = load_tasks()
    assert len(tasks) == 11
    by_cat = {c: [t.id for t in tasks.values() if t.category == c] for c in CATEGORIES}
    assert len(by_cat["craft"]) == 5 and len(by_cat["gather"]) == 4 and len(by_cat["combat"]) == 2
    assert tasks["collect_stone_8"].verifier == Verifier("inventory", "stone", 8)
    assert tasks["defeat_skeleton"].verifier == Verifier("kill", "skeleton", 1)


def test_every_task_verifier_reads_a_real_env_counter():
    _, info = envs.make("crafter").reset(seed=0)
    for task in load_tasks().values():
        assert (
            task.verifier.name
            in info[
                {"inventory": "inventory", "achievement": "achievements", "kill": "kills"}[
                    task.verifier.kind
                ]
            ]
        )
        assert not task.verifier.check(info, info)


def test_adding_a_task_is_adding_a_yaml_entry(tmp_path: Path):
    path = tmp_path / "suite.yaml"
    path.write_text(
        Path("configs/tasks/crafter.yaml").read_text()
        + "  - id: make_wood_sword\n    category: craft\n"
        "    verifier: {kind: achievement, name: make_wood_sword}\n    budget: 300\n"
    )
    assert "make_wood_sword" in load_tasks(path)


def test_unknown_task_names_the_choices():
    with pytest.raises(UnknownTaskError, match="valid choices: place_table"):
        select(load_tasks(), ["make_diamond_hoe"])


def test_text_view_names_inventory_status_and_nearby():
    env = envs.make("crafter")
    obs, info = env.reset(seed=3)
    text = view(obs, info).render()
    assert "inventory: empty" in text
    assert "health=9" in text and "drink=9" in text
    # What the agent has seen: the nearest tree inside its 9x7 window ...
    assert "tree 6 away (2 down, 4 left)" in text
    # ... not the nearer one 5 cells left, outside the window, that only the world map shows.
    obs, info = envs.make("crafter", sees="world").reset(seed=3)
    assert "tree 5 away (5 left)" in view(obs, info).render()
