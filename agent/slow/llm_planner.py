"""The slow tier on a real LLM: any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp).

Each call: the prompt (task, text view, skills, this episode's failures, retrieved plans
or a worked example) goes to the endpoint, or comes from the response cache, held to the
plan schema in the strongest form the server accepts. Timeouts, 429 and 5xx are retried
with bounded exponential backoff. Then the escalation ladder, every rung recorded in
``last_call``:

1. the model's answer, checked by the plan critic (the game's rules, this episode's
   failures);
2. a repair round with the parser's or the critic's exact reasons;
3. the offline recipe planner: it fills what a rejected plan lacks (``plan_rejected``),
   answers an invalid one (``invalid_plan``), takes the corrections of a subgoal that
   failed ``escalate_after`` times (``repeated_failure``), retries an execution failure
   without asking (``execution_failure``), and answers every call once the episode has
   spent ``max_requests_without_progress`` model requests without a verified subgoal
   (``no_progress``).

An answer that was invalid, rejected, or whose subgoal failed this episode is never
served from the cache again in it, and a
re-plan's prompt carries what failed and how often, so it is not the same prompt. A run
never dies because the endpoint did.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from agent.slow import plan_critic
from agent.slow.config import STRUCTURED_FORMS, LLMConfig, api_key
from agent.slow.llm_cache import CachedCompletion, ResponseCache, cache_key
from agent.slow.plan_schema import PlanError, crafter_vocabulary, json_schema, parse_plan
from agent.slow.prompts import (
    Message,
    correct_messages,
    critic_message,
    plan_messages,
    repair_message,
)
from agent.slow.recipe_planner import RecipePlanner
from envs.tasks import Task
from envs.text import TextView
from memory.records import EXECUTION_FAILURES, CallStats, Failure, Subgoal


@dataclass
class _Episode:
    """What the planner remembers of the current episode (reset by ``begin_episode``)."""

    failures: list[str] = field(default_factory=list)
    """Every failure, as prompt lines, in order."""
    failed: dict[tuple[str, str], Failure] = field(default_factory=dict)
    """Subgoal (skill, target) -> its latest failure, until it is verified."""
    fail_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    answer_of: dict[tuple[str, str], str] = field(default_factory=dict)
    """Subgoal -> the model answer that planned it."""
    bad_answers: set[str] = field(default_factory=set)
    """Answers never served from the cache again: invalid, rejected, or failed."""
    requests_since_progress: int = 0


class _EndpointFailed(Exception):
    """Retries exhausted or a non-retryable API error."""


REFUSED = frozenset({400, 422, 500, 501})
"""HTTP statuses with which a server refuses a form of structured output it lacks."""

RETRYABLE = (
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.RateLimitError,
    openai.InternalServerError,
)


class LLMPlanner:
    """Planner backed by an LLM through the ``openai`` client, escalating to recipes."""

    name = "llm"

    def __init__(self, config: LLMConfig, cache_path: str | None = None, plan_memory: Any = None):
        self.config = config
        form = "json_schema" if config.structured == "auto" else config.structured
        if form not in STRUCTURED_FORMS:
            raise ValueError(
                f"llm.structured={config.structured!r}; valid: auto, {', '.join(STRUCTURED_FORMS)}"
            )
        self._form = STRUCTURED_FORMS.index(form)
        self._form_confirmed = False
        key = api_key(config)
        # Our own bounded retries (below) so each one is counted; the client's are off.
        self._client = openai.OpenAI(
            base_url=config.base_url, api_key=key, timeout=config.timeout_s, max_retries=0
        )
        path = config.cache_path or cache_path
        self._cache = ResponseCache(path) if config.cache and path else None
        self._fallback = RecipePlanner()
        self._vocabulary = crafter_vocabulary()
        self._schema = json_schema(self._vocabulary)
        self._task: Task | None = None
        self._ep = _Episode()
        self.examples: list[str] = []
        """Past successful plans to show the model (filled by plan retrieval)."""
        if plan_memory is None and config.plan_memory:
            from memory.plans import PlanMemory
            from memory.text_embedding import SubgoalEmbedder

            plan_memory = PlanMemory.load(Path(config.plan_memory), SubgoalEmbedder())
        self.plan_memory = plan_memory
        self.last_call = CallStats()

    @property
    def structured_form(self) -> str:
        """The form of structured output requests use now."""
        return STRUCTURED_FORMS[self._form]

    # -- the planner interface -----------------------------------------------------

    def begin_episode(self, task: Task) -> None:
        """A new episode: its prompts, its critic and its budget see only its own failures."""
        self._ep = _Episode()
        self._fallback.begin_episode(task)

    def attempt_done(self, subgoal: Subgoal, failure: Failure | None) -> None:
        key = (subgoal.skill, subgoal.target)
        if failure is None:
            self._ep.requests_since_progress = 0
            self._ep.failed.pop(key, None)
            return
        self._ep.failed[key] = failure
        self._ep.fail_counts[key] += 1
        answer = self._ep.answer_of.get(key)
        if answer is not None:
            self._ep.bad_answers.add(answer)

    def plan(self, task: Task, view: TextView) -> list[Subgoal]:
        self.last_call = CallStats()
        if task is not self._task:
            self._task = task
            if self.plan_memory is not None:
                from memory.plans import task_text

                query = task_text(task.id, task.description)
                self.examples = self.plan_memory.examples(query, self.config.plan_examples)
        messages = plan_messages(
            task, view, self._vocabulary, self._recent_failures(), self.examples
        )
        goal = plan_critic.goal_of(task)
        return self._ask(messages, view, goal, lambda: self._fallback.plan(task, view))

    def correct(self, subgoal: Subgoal, failure: Failure) -> list[Subgoal]:
        self.last_call = CallStats()
        key = (subgoal.skill, subgoal.target)
        earlier = self._recent_failures()
        self._ep.failures.append(f"{subgoal.text}: {failure.code}: {failure.reason}")
        offline = lambda: self._fallback.correct(subgoal, failure)  # noqa: E731
        if failure.code in EXECUTION_FAILURES:
            return self._offline(offline, f"execution_failure: {failure.code}")
        if self._ep.fail_counts[key] >= self.config.escalate_after:
            reason = f"repeated_failure: '{subgoal.text}' failed {self._ep.fail_counts[key]} times"
            return self._offline(offline, reason)
        messages = correct_messages(self._task, subgoal, failure, self._vocabulary, earlier)
        return self._ask(messages, failure.view, subgoal, offline)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
        self._client.close()

    def _recent_failures(self) -> list[str]:
        """Every occurrence of the episode's last ``recent_failures`` distinct failures (the
        prompt shows each once, with how often it happened)."""
        keep = list(dict.fromkeys(reversed(self._ep.failures)))[: self.config.recent_failures]
        return [f for f in self._ep.failures if f in keep]

    # -- one call: the ladder ----------------------------------------------------------

    def _offline(self, call: Callable[[], list[Subgoal]], reason: str) -> list[Subgoal]:
        """The recipe planner answers; ``last_call`` says why (and any model cost so far)."""
        plan = call()
        self.last_call.fallback_reason = reason
        self.last_call.offline_subgoals += len(plan)
        return plan

    def _ask(
        self,
        messages: list[Message],
        view: TextView | None,
        goal: Subgoal | None,
        fallback: Callable[[], list[Subgoal]],
    ) -> list[Subgoal]:
        stats = self.last_call
        limit = self.config.max_requests_without_progress
        rejected: tuple[list[Subgoal], list[str]] | None = None
        for round_ in range(self.config.repair_rounds + 1):
            if self._ep.requests_since_progress >= limit:
                reason = f"no_progress: {limit} model requests without a verified subgoal"
                return self._finish(rejected, view, goal, fallback, reason)
            try:
                completion, cached = self._complete(messages)
            except _EndpointFailed as err:
                return self._offline(fallback, f"endpoint: {err}")
            if not cached:  # a cache hit costs nothing
                stats.requests += 1
                self._ep.requests_since_progress += 1
                stats.prompt_tokens += completion.prompt_tokens
                stats.completion_tokens += completion.completion_tokens
            stats.cached = cached if round_ == 0 else stats.cached and cached
            try:
                plan = parse_plan(completion.text, self._vocabulary)
            except PlanError as err:
                problem = str(err)
                self._ep.bad_answers.add(completion.text)
                messages = messages + repair_message(completion.text, problem)
                continue
            if view is not None:  # what follows the goal never runs: not judged, not kept
                plan = plan_critic.trim(plan, view, goal)
            problems = self._critique(plan, view, goal)
            if not problems:
                return self._accept(plan, completion.text)
            rejected = (plan, problems)
            self._ep.bad_answers.add(completion.text)
            messages = messages + critic_message(completion.text, problems)
        if rejected is None:
            reason = f"invalid_plan after {self.config.repair_rounds} repair round(s): {problem}"
        else:
            reason = f"plan_rejected: {'; '.join(rejected[1])}"
        return self._finish(rejected, view, goal, fallback, reason)

    def _critique(
        self, plan: list[Subgoal], view: TextView | None, goal: Subgoal | None
    ) -> list[str]:
        if not self.config.critic or view is None:
            return []
        return plan_critic.check(plan, view, goal, self._ep.failed)

    def _accept(self, plan: list[Subgoal], answer: str) -> list[Subgoal]:
        self.last_call.model_subgoals += len(plan)
        for sg in plan:
            self._ep.answer_of[(sg.skill, sg.target)] = answer
        return plan

    def _finish(
        self,
        rejected: tuple[list[Subgoal], list[str]] | None,
        view: TextView | None,
        goal: Subgoal | None,
        fallback: Callable[[], list[Subgoal]],
        reason: str,
    ) -> list[Subgoal]:
        """The last rung: the recipe planner fills what the model's plan lacks (or, with
        no plan to keep, answers the call)."""
        if rejected is None or view is None:
            return self._offline(fallback, reason)
        plan, by_model = plan_critic.complete(rejected[0], view, goal)
        kept = plan_critic.trim(plan, view, goal)
        plan, by_model = kept, by_model[: len(kept)]
        if plan_critic.check(plan, view, goal, self._ep.failed):
            return self._offline(fallback, reason)  # kept subgoals still break a rule
        self.last_call.fallback_reason = reason
        self.last_call.model_subgoals += sum(by_model)
        self.last_call.offline_subgoals += len(plan) - sum(by_model)
        return plan

    def _complete(self, messages: list[Message]) -> tuple[CachedCompletion, bool]:
        cfg = self.config
        key = cache_key(cfg.model, messages, temperature=cfg.temperature, max_tokens=cfg.max_tokens)
        if self._cache is not None:
            hit = self._cache.get(key)
            if hit is not None and hit.text not in self._ep.bad_answers:
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

    def _response_format(self) -> dict[str, Any]:
        form = STRUCTURED_FORMS[self._form]
        if form == "json_schema":
            schema = {"name": "plan", "schema": self._schema, "strict": True}
            return {"response_format": {"type": "json_schema", "json_schema": schema}}
        if form == "json_object_schema":
            return {"response_format": {"type": "json_object", "schema": self._schema}}
        if form == "json_object":
            return {"response_format": {"type": "json_object"}}
        return {}

    def _request(self, messages: list[Message]) -> Any:
        """One chat completion in the strongest form of structured output the server takes,
        retried with bounded backoff on transient errors."""
        cfg = self.config
        delay = cfg.backoff_s
        attempt = 0
        while True:
            try:
                response = self._client.chat.completions.create(
                    model=cfg.model,
                    messages=messages,
                    temperature=cfg.temperature,
                    max_tokens=cfg.max_tokens,
                    **self._response_format(),
                )  # type: ignore[call-overload]
                self._form_confirmed = True
                return response
            except openai.APIError as err:
                unconfirmed = not self._form_confirmed and self.structured_form != "none"
                status = getattr(err, "status_code", None)
                if unconfirmed and status in REFUSED:
                    self._form += 1  # the server lacks this form: the next one, at once
                    continue
                if not isinstance(err, RETRYABLE):  # 4xx other than 429: retrying will not help
                    raise _EndpointFailed(f"{type(err).__name__}: {err}") from err
                if attempt == cfg.max_retries:
                    raise _EndpointFailed(
                        f"{type(err).__name__} after {attempt + 1} tries"
                    ) from err
            time.sleep(min(delay, cfg.backoff_max_s))
            delay *= 2
            attempt += 1
