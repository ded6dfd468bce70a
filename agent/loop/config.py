"""What `peam run` plays and how: YAML in configs/run/ read into :class:`RunConfig`.

Every key can be overridden from the CLI as ``key.sub=value``; `peam run --help` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.fast.config import FastConfig
from agent.slow.config import ControllerConfig, LLMConfig
from envs.config import load_dataclass
from envs.tasks import DEFAULT_TASKS_FILE


@dataclass
class RunnerConfig:
    subgoal_budget: int = 400
    """Env steps one subgoal attempt may take before it counts as failed."""
    max_corrections: int = 3
    """Corrections of the same subgoal before the task is re-planned from scratch."""
    stalls_replan: bool = False
    """Count a fast-tier attempt that ``stalled`` (no progress for ``stall_steps``: a long
    search, or a night asleep in a shelter) among those corrections. Off: a stall is retried
    without ever re-planning the whole task, whose plan from far away places a new table and
    walks back to the trees for its wood in the middle of a search for iron. On: every run
    before it was added."""
    max_attempts: int = 60
    """Attempts per episode before the episode is given up."""
    envs: int = 1
    """Envs played at once (gymnasium.vector; the fast tier decides for all in one forward)."""
    vector: str = "sync"
    """With envs > 1: sync (one process) or async (one process per env)."""
    handoff: bool = True
    """A failed fast-tier attempt is retried by the slow tier (false: by the fast tier)."""
    slow_retry: bool = True
    """With hand-off: the slow tier retries a failed fast-tier attempt on the same subgoal
    before the planner is asked, so only the slow tier's own failures reach it (an
    execution failure costs no model call); false: the planner corrects every failure
    first."""
    guard: bool = True
    """During fast-tier attempts the slow tier's reflexes act first (survival, missing
    items, a station out of view); false: the policy alone decides every step."""
    stall_steps: int = 40
    """With hand-off, a fast-tier attempt gives up after this many steps without progress on
    its own verifier's counter, and the slow tier takes it over; 0 = off. 40 since loop13's
    PEAM won 41 games and lost 23 against 60 on three blocks of 100 held-out seeds (every
    loop before played 60, saved in its config)."""
    alone_stall_steps: int = 60
    """Without hand-off, the same limit: the planner corrects the stalled attempt and the
    fast tier plays it again; 0 = off. Longer than with hand-off: a restart hands the
    search to the same policy, which loses the way it had gone (loop13's fast tier alone
    with 40: 1048 vs 1057 with 60 on seeds 0-99, collect_iron 85 vs 91)."""
    idle_steps: int = 20
    """With hand-off, a fast-tier attempt also gives up ("looping") after this many of the
    policy's own steps in a row that neither make progress nor reach a cell it has not
    stood on in this attempt (e.g. pacing between two cells), and the slow tier takes it
    over; 0 = off. Without hand-off it is off: a policy that waits (a sapling ripening)
    would be cut and retried by itself."""
    label: bool = True
    """At every fast-tier step, ask the slow controller what it would do there and store its
    equally good actions with the step (the DAgger label consolidation trains on)."""
    teacher_sees: str = "memory"
    """Who labels: memory = the slow controller that acts (it reads the map memory). world =
    a privileged teacher that reads the whole world labels every step instead (a comparison
    setting, never the default: the agent still acts on its memory); a label whose actions
    the fair controller would not take there is flagged as depending on what the memory
    has not seen, and PW drops it (``consolidate.pw.drop_unseen``)."""


@dataclass
class RetrievalRunConfig:
    dir: str = ""
    """Folder of a retrieval memory (``memory.retrieval``; `peam compare` builds one): its
    nearest-neighbour agent takes the subgoals a fast tier would. Empty = none."""
    sample: bool = False
    """Sample the action in proportion to the neighbours' votes (false: the majority)."""
    seed: int = 0
    """Mixed into the sampling seed (per subgoal text, like the fast tier's)."""


@dataclass
class PlanHeadRunConfig:
    dir: str = ""
    """Folder of a consolidated plan head (`peam plans`), or of one head per task category
    (`peam plans --registry`): it plans first and the planner (the LLM) answers only when
    the head is unsure, its plan failed, or the task's category has none. Empty = none."""
    threshold: float = 0.5
    """Smallest step probability of the head's plan for it to be used without the planner
    (the critic must accept the plan too). 0.5 cut tokens by 99% at equal success in
    benchmarks/token_economy.py; 0.9 only by 33%."""


@dataclass
class PlanReuseRunConfig:
    dir: str = ""
    """Folder of a plan memory (`peam memory` writes RUN/retrieval/plans): the retrieval
    agent's equivalent of the plan head, the stored plan of a near-identical past task is
    reused without the planner. Empty = none."""
    similarity: float = 0.95
    """Smallest cosine similarity of the task texts for a stored plan to be reused."""


@dataclass
class RunConfig:
    backend: str = "crafter"
    """Environment backend: crafter (embedded)."""
    tasks_file: str = DEFAULT_TASKS_FILE
    """YAML file with the task suite."""
    tasks: list[str] = field(default_factory=list)
    """Task ids to run; empty means the whole suite."""
    seeds: str = "0-19"
    """Episode seeds, e.g. '0-19' or '0,3,5-7'."""
    planner: str = "recipe"
    """Slow-tier planner: recipe (offline) or llm (OpenAI-compatible endpoint, see llm.*)."""
    frame_size: int = 64
    """Height and width of the rgb observation."""
    video: bool = False
    """Write a GIF per episode under videos/."""
    workers: int = 1
    """Processes playing episodes at once (> 1: a worker pool; the run process alone writes
    the store). Each worker plays one env."""
    ray_address: str = ""
    """Empty: workers are local processes. "local": start Ray here; "auto" or an address:
    join that Ray cluster (pip install -e '.[ray]')."""
    retrieval: RetrievalRunConfig = field(default_factory=RetrievalRunConfig)
    plan_head: PlanHeadRunConfig = field(default_factory=PlanHeadRunConfig)
    plan_reuse: PlanReuseRunConfig = field(default_factory=PlanReuseRunConfig)
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    controller: ControllerConfig = field(default_factory=ControllerConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    fast: FastConfig = field(default_factory=FastConfig)


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Read ``path`` (YAML) into a :class:`RunConfig`, then apply ``key.sub=value`` overrides."""
    return load_dataclass(RunConfig, path, overrides, "configs/run/")
