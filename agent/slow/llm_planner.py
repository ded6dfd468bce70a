"""The slow tier on a real LLM: any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp).

Each call: the prompt (task, text view, skills, recent failures, retrieved
plans) goes to the endpoint, or comes from the response cache. Timeouts, 429
and 5xx are retried with bounded exponential backoff; an answer that is not a
valid plan gets a bounded number of repair rounds; after that the offline
recipe planner answers that call and ``last_call.fallback_reason`` says why.
A run never dies because the endpoint did.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai

from agent.slow.config import LLMConfig, api_key
from agent.slow.llm_cache import CachedCompletion, ResponseCache, cache_key
from agent.slow.plan_schema import PlanError, crafter_vocabulary, parse_plan
from agent.slow.prompts import Message, correct_messages, plan_messages, repair_message
from agent.slow.recipe_planner import RecipePlanner
from envs.tasks import Task
from envs.text import TextView
from memory.records import CallStats, Failure, Subgoal


class _EndpointFailed(Exception):
    """Retries exhausted or a non-retryable API error."""


RETRYABLE = (
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.RateLimitError,
    openai.InternalServerError,
)


class LLMPlanner:
    """Planner backed by an LLM through the ``openai`` client, with fallback to recipes."""

    name = "llm"

    def __init__(self, config: LLMConfig, cache_path: str | None = None, plan_memory: Any = None):
        self.config = config
        key = api_key(config)
        # Our own bounded retries (below) so each one is counted; the client's are off.
        self._client = openai.OpenAI(
            base_url=config.base_url, api_key=key, timeout=config.timeout_s, max_retries=0
        )
        path = config.cache_path or cache_path
        self._cache = ResponseCache(path) if config.cache and path else None
        self._fallback = RecipePlanner()
        self._vocabulary = crafter_vocabulary()
        self._task: Task | None = None
        self._failures: deque[str] = deque(maxlen=config.recent_failures)
        self.examples: list[str] = []
        """Past successful plans to show the model (filled by plan retrieval)."""
        if plan_memory is None and config.plan_memory:
            from memory.plans import PlanMemory
            from memory.text_embedding import SubgoalEmbedder

            plan_memory = PlanMemory.load(Path(config.plan_memory), SubgoalEmbedder())
        self.plan_memory = plan_memory
        self.last_call = CallStats()

    # -- the planner interface -----------------------------------------------------

    def begin_episode(self, task: Task) -> None:
        """A new episode: its prompts show only its own failures."""
        self._failures.clear()
        self._fallback.begin_episode(task)

    def plan(self, task: Task, view: TextView) -> list[Subgoal]:
        if task is not self._task:
            self._task = task
            self._failures.clear()
            if self.plan_memory is not None:
                from memory.plans import task_text

                query = task_text(task.id, task.description)
                self.examples = self.plan_memory.examples(query, self.config.plan_examples)
        messages = plan_messages(task, view, self._vocabulary, list(self._failures), self.examples)
        return self._ask(messages, lambda: self._fallback.plan(task, view))

    def correct(self, subgoal: Subgoal, failure: Failure) -> list[Subgoal]:
        self._failures.append(f"{subgoal.text}: {failure.code}: {failure.reason}")
        messages = correct_messages(
            self._task, subgoal, failure, self._vocabulary, list(self._failures)[:-1]
        )
        return self._ask(messages, lambda: self._fallback.correct(subgoal, failure))

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
        self._client.close()

    # -- one call: cache, retries, repair, fallback ------------------------------------

    def _ask(self, messages: list[Message], fallback: Callable[[], list[Subgoal]]) -> list[Subgoal]:
        stats = self.last_call = CallStats()
        for round_ in range(self.config.repair_rounds + 1):
            try:
                completion, cached = self._complete(messages)
            except _EndpointFailed as err:
                stats.fallback_reason = f"endpoint: {err}"
                return fallback()
            if not cached:  # a cache hit costs nothing
                stats.prompt_tokens += completion.prompt_tokens
                stats.completion_tokens += completion.completion_tokens
            stats.cached = cached if round_ == 0 else stats.cached and cached
            try:
                return parse_plan(completion.text, self._vocabulary)
            except PlanError as err:
                problem = str(err)
                messages = messages + repair_message(completion.text, problem)
        stats.fallback_reason = (
            f"invalid plan after {self.config.repair_rounds} repair round(s): {problem}"
        )
        return fallback()

    def _complete(self, messages: list[Message]) -> tuple[CachedCompletion, bool]:
        cfg = self.config
        key = cache_key(cfg.model, messages, temperature=cfg.temperature, max_tokens=cfg.max_tokens)
        if self._cache is not None:
            hit = self._cache.get(key)
            if hit is not None:
                return hit, True
        response = self._request(messages)
        text = (response.choices[0].message.content or "") if response.choices else ""
        usage = response.usage
        completion = CachedCompletion(
            text,
            usage.prompt_tokens if usage else 0,
            usage.completion_tokens if usage else 0,
        )
        if self._cache is not None:
            self._cache.put(key, cfg.model, completion)
        return completion, False

    def _request(self, messages: list[Message]) -> Any:
        """One chat completion, retried with bounded backoff on transient errors."""
        cfg = self.config
        extra = {"response_format": {"type": "json_object"}} if cfg.json_mode else {}
        delay = cfg.backoff_s
        attempt = 0
        while True:
            try:
                return self._client.chat.completions.create(
                    model=cfg.model,
                    messages=messages,
                    temperature=cfg.temperature,
                    max_tokens=cfg.max_tokens,
                    **extra,
                )  # type: ignore[call-overload]
            except RETRYABLE as err:
                if attempt == cfg.max_retries:
                    raise _EndpointFailed(
                        f"{type(err).__name__} after {attempt + 1} tries"
                    ) from err
            except openai.APIError as err:  # 4xx other than 429: retrying will not help
                raise _EndpointFailed(f"{type(err).__name__}: {err}") from err
            time.sleep(min(delay, cfg.backoff_max_s))
            delay *= 2
            attempt += 1
