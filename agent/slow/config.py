"""Settings of the slow tier (controller, LLM planner): torch-free, so `--help` stays fast."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class ControllerConfig:
    drink_low: int = 5
    """Go to water when drink falls to this; drink until full."""
    food_low: int = 5
    """Hunt a cow when food falls to this."""
    energy_low: int = 1
    """Sleep when energy falls to this."""
    open_sleep_daylight: float = 0.0
    """Out of a shelter, fall asleep (``energy_low``) only in at least this much daylight:
    a zombie strikes a sleeping player for 7 health (2 when awake), and zombies thin out
    only by full day (0.9: Crafter then removes them from the open). Awake, energy 0 costs
    a health point about every 16 steps. 0: whenever tired (every run before it)."""
    dusk_drink: int = 7
    """In the evening (daylight falling, before the night) go to water when drink is at or
    below this: a night in the burrow costs about 6 drink, and one that runs out of drink
    or food leaves the burrow in the dark. Equal to drink_low: no evening top-up."""
    dusk_food: int = 6
    """In the evening hunt a cow when food is at or below this (a night costs about 5)."""
    dusk_stone: int = 0
    """In the evening mine stone up to this many held, where stone is at most
    ``STONE_REACH`` (``agent.slow.controller``) path steps away: the stones a pocket
    (``pillbox``) or a burrow's door takes. 0: no evening stone (6 changed nothing on
    the iron tasks)."""
    finish_reach: int = 8
    """A drink, food or sleep errand that is not urgent waits while the creature a
    ``defeat`` subgoal is after is at most this many path steps away: the fight comes
    first. 0: errands never wait."""
    urgent: int = 2
    """Drink, food or energy at or below this: the errand is urgent and never waits."""
    search_cost: int = 400
    """Largest path cost the search considers before giving up."""
    explore_gain: float = 0.0
    """Exploring for a target in ``explore_gain_targets``, path steps forgiven per cell a
    frontier cell brings into view that is likely the target's surroundings (stone and
    tunnels for iron; ``agent.slow.explore``). 0: a fixed discount per likely cell already
    seen near the frontier cell (every run before it)."""
    explore_gain_targets: str = "iron,diamond"
    """Comma-separated targets whose search uses ``explore_gain``."""
    shelter: bool = True
    """At nightfall dig a burrow into stone, close it, sleep and wait for the morning
    (needs a wood pickaxe; the map memory must show stone nearby)."""
    morning: float = 0.6
    """Daylight at which a sheltered player comes out in the morning when no monster is in
    its view (at 0.9 it comes out regardless: Crafter then removes zombies from the open;
    below about 0.83 it keeps one per stretch of grass, more in the dark)."""
    pillbox: bool = True
    """Where no burrow is near (or one is farther than building takes), close the player
    into a two-cell pocket of open ground with placed stones (``agent.slow.pillbox``;
    needs the stones: up to six on bare ground). Off: the burrow only (every run before
    it was added)."""
    burrow_checks: bool = True
    """Check a burrow as it is dug. Once one of its walls is open (the way to its entrance
    was mined through it, or it was seen wrong from afar) it is given up and the player
    shelters anew from where it stands (another burrow or a pocket); a creature in the
    cell ahead is struck, not walked into. Off (every run before it): the burrow is
    finished anyway, so the player can stand in it until morning placing the closing stone
    on the stone already there, or walking into a wall or a zombie it has not mined. On
    since the slow tier alone won 4217 vs 4208 games with it and ``edge_craft`` over seeds
    0-399 (10 vs 1, p = 0.012; 21 of the 4,400 games changed)."""
    edge_craft: bool = True
    """Make nothing on the world's first row or column: Crafter finds no table or furnace
    there (it slices the crafting area from one cell before the player's, which is empty at
    0), so the player steps one cell in first. Off: the make action is repeated there until
    the attempt fails (every run before it; of seeds 0-399 only world 231 led there)."""
    rest_health: int = 0
    """Health at or below which the player shelters by day too (a burrow or, with
    ``pillbox``, a pocket), sleeping or waiting there until its health is back at 8.
    0: shelter only at night (4 lost games on the iron tasks: drink and food run out)."""
    past_creatures: bool = True
    """When a ``collect`` subgoal finds no way to its material and nothing left to explore,
    or a ``place`` subgoal no free spot it can reach, search again on the ground without
    the creatures in view (a cow, a monster or an arrow in a one-cell corridor, a cow on
    the only free cell by the table): if a way exists, step along it (into a creature the
    player turns to face it and waits; a monster then meets the reflex) instead of giving
    up. Changes only decisions that were give-ups. Off: every run before it (on seeds
    100-199, 13 of the slow tier's 58 lost games were such give-ups; placing, 1 more)."""
    dodge: bool = False
    """Step aside out of the line of an arrow flying at the player (``agent.slow.dodge``)."""
    guard_stations: str = "in_view"
    """When the guard gives a fast-tier ``make``/``place`` subgoal up for want of a station
    (a table, a furnace): ``in_view`` = none is in view; ``remembered`` = none is in the
    map memory (the policy walks back to one it remembers, as the slow tier does)."""
    sees: str = "memory"
    """memory: act on the map memory (what the agent has seen; unknown targets are found by
    exploring). world: read the whole world map (an all-seeing oracle, for comparison only)."""


STRUCTURED_FORMS = ("json_schema", "json_object_schema", "json_object", "none")
"""The forms of structured output, the most constraining first."""


@dataclass
class LLMConfig:
    base_url: str = "https://api.openai.com/v1"
    """OpenAI-compatible endpoint (vLLM: http://HOST:8000/v1, Ollama: http://HOST:11434/v1)."""
    model: str = "gpt-4o"
    """Model name as the endpoint knows it."""
    api_key_env: str = "OPENAI_API_KEY"
    """Name of the environment variable holding the key ('' for servers without auth)."""
    temperature: float = 0.0
    """Sampling temperature."""
    max_tokens: int = 512
    """Most completion tokens per call."""
    timeout_s: float = 30.0
    """Seconds before a request counts as timed out (then retried)."""
    max_retries: int = 3
    """Retries after a timeout, connection error, 429 or 5xx (then fallback)."""
    backoff_s: float = 1.0
    """First backoff; doubles each retry."""
    backoff_max_s: float = 16.0
    """Longest single backoff."""
    repair_rounds: int = 1
    """Rounds that show the model why its answer was invalid or broke a rule (then fallback)."""
    structured: str = "auto"
    """How answers are held to the plan schema: json_schema (OpenAI, vLLM), json_object_schema
    (llama.cpp: json_object with the schema), json_object (plain JSON mode), none. auto =
    json_schema first; a form the server refuses is dropped for the next, one at a time;
    naming a form starts there."""
    critic: bool = True
    """Check each answered plan against the game's rules and this episode's failures; a
    plan that breaks one goes back to the model with the reasons (a repair round), then the
    offline planner fills what it still lacks (fallback ``plan_rejected``)."""
    escalate_after: int = 2
    """Failures of one subgoal in an episode after which its corrections come from the
    offline planner without asking the model (fallback ``repeated_failure``)."""
    max_requests_without_progress: int = 8
    """Model requests an episode may spend without a verified subgoal; past it the offline
    planner answers until a subgoal is verified (fallback ``no_progress``)."""
    cache: bool = True
    """Reuse answers to identical prompts from the response cache."""
    cache_path: str = ""
    """Cache file; empty = llm_cache.sqlite in the run folder."""
    recent_failures: int = 5
    """Failures of the episode shown in prompts."""
    plan_memory: str = ""
    """Folder of a plan memory (``memory.plans``; `peam compare` builds one): the plans of
    the most similar past successful tasks go into the planning prompt. Empty = none."""
    plan_examples: int = 3
    """How many retrieved plans the prompt shows."""


class MissingAPIKeyError(ValueError):
    """The configured key variable is not set."""


def api_key(config: LLMConfig) -> str:
    """The key from the variable named in ``config.api_key_env``; a clear error when unset."""
    if not config.api_key_env:
        return "not-needed"  # the client insists on a non-empty key
    key = os.environ.get(config.api_key_env, "")
    if not key:
        raise MissingAPIKeyError(
            f"environment variable {config.api_key_env} is not set; export the API key there,"
            " or set llm.api_key_env='' for a server without auth"
        )
    return key
