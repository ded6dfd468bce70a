"""Settings of the fast tier (executor, policy shape): torch-free, so `--help` stays fast."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from envs.features import CROP, N_MATERIALS
from envs.goal import GOAL_VECTOR_DIM


@dataclass
class FastConfig:
    dir: str = ""
    """Folder written by `peam train-fast`; empty = no fast tier (the slow tier does everything)."""
    device: str = "auto"
    """auto = CUDA when present (bf16 autocast there), else CPU."""
    temperature: float = 0.3
    """Sampling temperature over the action logits; 0 = always the most likely action. The
    fast tier alone (no hand-off) samples at this, and at ``unstick_temperature`` once it
    goes round in circles (alone on seeds 0-99, ``models/loop10``: 1050/1100 with 0.3 and
    the unstick rule, 1028 at 0.7 without; docs/results.md)."""
    handoff_temperature: float | None = 0.3
    """With hand-off (``runner.handoff``) the policy samples at this temperature instead: a
    stalled attempt goes to the slow tier, so the fast tier keeps to its likeliest actions
    (PEAM on 200 fresh seeds each of the three longest tasks: 522 won at 0.3, 522 at 0,
    506 at 0.7; docs/results.md). None = ``temperature`` in both modes."""
    unstick_after: int = 3
    """After this many of the policy's own steps in a row with neither progress nor a cell
    new to the attempt (the runner's idle streak, ``agent.loop.stall``) it samples at
    ``unstick_temperature`` until one comes; 0 = never."""
    unstick_temperature: float = 1.0
    """The sampling temperature of a policy that is going round in circles."""
    unstick_blocked: bool = True
    """While going round in circles, also rule out the move into the blocked cell the player
    faces (a tree, stone, water, a creature), which changes nothing: a confident policy
    pressed such a move for 32 steps at temperature 1 (``envs.features.futile_moves``).
    Off: every run before it was added."""
    furnace_by_table: bool = True
    """Place a furnace only beside a table when one is remembered, as the slow tier does
    (iron tools need both within reach; ``envs.features.stray_furnace``). Off: every run
    before it was added (then, alone on make_iron_pickaxe, the fast tier gave making the
    pickaxe up for want of a table or furnace in view after reaching iron in 20 of its 84
    games, the slow tier in 9 of 82; seeds 0-99, ``models/loop12`` round 3)."""
    futile_crafts: bool = False
    """Never a make or place action that Crafter would ignore, as the map memory and the
    inventory show (a station out of reach, a material missing, a cell a thing cannot go
    on; ``envs.features.futile_crafts``): the policy's next likeliest action is taken
    instead; the retrieval agent keeps to the same rule. Off: every run before it was
    added (a confident policy pressed a make two cells from the table until the attempt
    gave up for looping, 20 steps later)."""
    threads: int = 1
    """torch CPU threads for inference (one is fastest for batch-1 decisions)."""
    gate: bool = False
    """Route subgoals whose category has no adapter through the learned gate."""
    gate_threshold: float = 0.5
    """Least gate probability for a gated subgoal to go to the fast tier."""
    min_skill_success: float = 0.8
    """A skill whose served version succeeded less often than this on its gate seeds
    (Laplace-smoothed; never tried there = 0) is left to the slow tier; 0 = the fast tier
    takes every subgoal of a category it has an adapter for (training plays, the fast tier
    alone). Versions never gated take every subgoal. `peam adapters list` shows the routing.
    0 in PEAM leaves the slow tier 31% fewer actions but loses games (models/loop13, seeds
    0-399: 4198 vs 4226, the losses deaths after a hand-off)."""
    route_acted: bool = True
    """Rate a skill over the gate attempts that acted: an attempt the guard gave up at its
    first step (no station in view, an item missing) cost nothing and handed the subgoal
    over at once, so it does not count against the skill. Tallies from before the count
    (``given_up`` in a version's gate notes; `peam adapters recount` adds it) rate every
    attempt. It gives the stone pickaxe to the fast tier: over seeds 0-399 the slow tier's
    attempts per game 1.18 -> 1.10 (models/loop13) and 1.25 -> 1.11 (models/loop14), PEAM
    4228 vs 4226 and 4240 vs 4225."""
    pin: str = ""
    """Serve these adapter versions whatever LATEST says, e.g. ``gather=3,craft=1`` (the
    evaluation gate plays a candidate this way); ``combat=none`` serves no adapter for the
    category (the slow tier acts for it, as before its first version); empty = the served
    versions."""
    seed: int = 0
    """Mixed into the action-sampling seed (with the episode seed, the attempt number and
    the subgoal text): another seed samples other actions on the same worlds."""


@dataclass
class PolicyConfig:
    crop: int = CROP
    """Side of the map-memory crop around the player (``envs.features``)."""
    n_materials: int = N_MATERIALS
    """Distinct cell values in the crop (never seen, each material, outside the world)."""
    material_dim: int = 8
    """Size of each cell's learned material embedding."""
    text_dim: int = 384
    """Size of the subgoal text embedding (all-MiniLM-L6-v2: 384)."""
    vector_dim: int = GOAL_VECTOR_DIM
    """How much of the vector the trunk reads: nearest remembered things, frontier, facing,
    daylight, recent actions, inventory, status (183, ``envs.features``), the path features
    (339, ``envs.paths``), the subgoal's own path rows (352, ``envs.goal``). The layouts
    nest; a trunk reads at most what its data has (stores recorded before the path
    features train one that reads the base vector)."""
    hidden: int = 128
    """Width of the fused trunk."""
    n_actions: int = 17
    """Size of the backend's discrete action space."""

    def to_dict(self) -> dict[str, int]:
        return asdict(self)
