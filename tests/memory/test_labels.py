"""A stored label: the teacher's actions and, above them, the flag for a privileged
teacher's label that the fair controller would not give."""

from __future__ import annotations

import numpy as np

from memory.labels import ACTIONS, UNSEEN, split, with_unseen_flag


def test_a_label_sharing_an_action_with_the_fair_one_is_not_flagged():
    assert with_unseen_flag(0b0110, 0b0100) == 0b0110
    assert with_unseen_flag(0b0110, 0b1001) == 0b0110 | UNSEEN
    assert with_unseen_flag(0b0110 | UNSEEN, 0b0010) == 0b0110  # a stale flag is not kept


def test_split_gives_the_actions_and_the_flag():
    actions, unseen = split(np.array([0b101, 0b1 | UNSEEN, 1 << 16]))
    assert actions.tolist() == [0b101, 0b1, 1 << 16]
    assert unseen.tolist() == [False, True, False]
    assert UNSEEN & ACTIONS == 0 and ACTIONS >= (1 << 17) - 1  # room for every action
