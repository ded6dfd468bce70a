"""The teacher's label of a step as stored: a bitmask of its equally good actions, and a
flag above the action bits.

Bits 0-47 hold the actions (bit ``a`` set = action ``a`` is one of the teacher's best).
Bit 48, :data:`UNSEEN`, marks a label from a privileged teacher (``runner.teacher_sees:
world``) that shares no action with what the fair controller, reading only the map memory,
would do there: the label depends on something the memory has not seen, so no policy that
reads the memory can learn it. PW drops such states (``consolidate.pw.drop_unseen``);
:func:`memory.transitions.load_transitions` splits the flag off before anything trains.
"""

from __future__ import annotations

import numpy as np

UNSEEN = 1 << 48
ACTIONS = UNSEEN - 1
"""The action bits of a stored label."""


def with_unseen_flag(label: int, fair: int) -> int:
    """``label`` (a privileged teacher's actions), flagged when no action of it is in
    ``fair`` (the fair controller's at the same state)."""
    label &= ACTIONS
    return label | (UNSEEN if not label & fair & ACTIONS else 0)


def split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stored labels -> (action bitmasks, the unseen flag as bool)."""
    labels = np.asarray(labels, dtype=np.int64)
    return labels & ACTIONS, (labels & UNSEEN) != 0
