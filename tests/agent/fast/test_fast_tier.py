"""The fast tier in the runner: routing, merged batch-1 path, hand-off to the slow tier,
clean fallback on bad files, the learned gate, and vectorized rollouts."""

from __future__ import annotations

import shutil
import warnings

import gymnasium
import pytest
import torch

import envs
from agent.fast import registry
from agent.fast.adapters import AdapterLoadWarning, merged_policy, with_adapters
from agent.fast.config import FastConfig, PolicyConfig
from agent.fast.executor import FastExecutor, subgoal_rng
from agent.fast.gate import train_gate
from agent.fast.policy import FastPolicy
from agent.loop.config import RunnerConfig
from agent.loop.runner import EpisodeRunner
from agent.loop.vector_runner import VectorRunner, make_vector_env
from agent.slow.controller import DeliberateController
from agent.slow.recipe_planner import RecipePlanner
from envs.crafter_env import ACTIONS
from envs.features import (
    CROP,
    OUTSIDE,
    Features,
    deadly_moves,
    futile_crafts,
    futile_moves,
    stray_furnace,
)
from envs.tasks import load_tasks
from memory.records import Subgoal
from memory.store import ExperienceStore
from tests.conftest import HashEmbedder

TASKS = load_tasks()


def _fast(folder, **kw) -> FastExecutor:
    return FastExecutor(FastConfig(dir=str(folder), device="cpu", **kw), HashEmbedder())


def _draws(fast: FastExecutor, subgoal: Subgoal, frame, info, n: int = 40, idle: int = 0):
    """``n`` actions from ``act`` (attempts 0..n-1 of seed 0) and ``n`` from ``act_batch``
    (seed 1) at the same step, each with the idle streak ``idle``."""
    out = []
    for k in range(n):
        fast.begin(subgoal, (0, k))
        out.append(fast.act(frame, info, idle).action)
    rngs = [subgoal_rng(subgoal.text, 0, (1, k)) for k in range(n)]
    seen = [fast.seen(frame, info, subgoal)] * n
    return out + list(fast.act_batch(seen, [subgoal] * n, rngs, [idle] * n))


def _runner(env, store, run, fast, budget=400, handoff=True, guard=False, **kw) -> EpisodeRunner:
    return EpisodeRunner(
        env,
        RecipePlanner(),
        DeliberateController(),
        store,
        run,
        "crafter",
        RunnerConfig(subgoal_budget=budget, handoff=handoff, guard=guard, **kw),
        fast=fast,
    )


def test_merged_batch1_path_equals_the_peft_adapter():
    torch.manual_seed(0)
    model = with_adapters(FastPolicy(PolicyConfig(hidden=32)), init=False).eval()
    g = torch.Generator().manual_seed(1)
    cfg = PolicyConfig()
    batch = (
        torch.randint(0, cfg.n_materials, (4, 2, cfg.crop, cfg.crop), generator=g).to(torch.uint8),
        torch.randn(4, cfg.text_dim, generator=g),
        torch.randn(4, cfg.vector_dim, generator=g),
    )
    for category in ("craft", "gather", "combat"):
        model.set_adapter(category)
        with torch.no_grad():
            want = model(*batch)
            merged = merged_policy(model, category)
            got = merged(*batch)
            frozen = merged.frozen()(*batch)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        # The executor's batch-1 functions compute exactly what the module does.
        assert torch.equal(frozen, got)


def test_fast_tier_covers_exactly_the_categories_with_adapters(fast_dir):
    fast = _fast(fast_dir)
    assert fast.available == {"craft", "gather"}  # combat had no data
    assert fast.covers(Subgoal("collect", "wood")) == "gather"
    assert fast.covers(Subgoal("make", "wood_pickaxe")) == "craft"
    assert fast.covers(Subgoal("defeat", "zombie")) is None


def test_failed_fast_attempt_is_corrected_by_the_slow_tier_and_linked(fast_dir, tmp_path):
    store = ExperienceStore(tmp_path / "s.sqlite")
    run = store.start_run("handoff", {})
    env = envs.make("crafter", max_episode_steps=500)
    # A 3-step budget: the fast attempt at collecting wood cannot be verified in time.
    result = _runner(env, store, run, _fast(fast_dir), budget=3).run_episode(
        TASKS["collect_wood_4"], 0
    )
    attempts = store.attempts()
    first = attempts[0]
    assert first.tier == "fast" and first.success is False and first.failure_code == "budget"
    corrections = [a for a in attempts if a.corrects == first.id]
    assert len(corrections) == 1 and corrections[0].tier == "slow"
    assert corrections[0].subgoal == first.subgoal
    pairs = [(a, b) for a in attempts for b in attempts if b.corrects == a.id]
    assert all(a.tier == "fast" and b.tier == "slow" for a, b in pairs if a.tier == "fast")
    assert result.attempts == len(attempts)


def test_slow_retry_takes_a_failed_fast_attempt_before_the_planner_is_asked(fast_dir, tmp_path):
    import sqlite3

    store = ExperienceStore(tmp_path / "s.sqlite")
    run = store.start_run("slow-retry", {})
    env = envs.make("crafter", max_episode_steps=500)
    _runner(env, store, run, _fast(fast_dir), budget=3, slow_retry=True).run_episode(
        TASKS["collect_wood_4"], 0
    )
    attempts = store.attempts()
    first = attempts[0]
    assert first.tier == "fast" and first.success is False
    retry = next(a for a in attempts if a.corrects == first.id)
    assert retry.tier == "slow" and retry.subgoal == first.subgoal
    store.flush()
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        asked = {
            a for (a,) in db.execute("SELECT attempt_id FROM planner_calls WHERE kind='correct'")
        }
    assert first.id not in asked  # the fast failure went to the slow tier, not the planner
    if retry.success is False:  # the slow tier's own failure is the planner's to correct
        assert retry.id in asked


def test_with_hand_off_the_fast_tier_samples_at_the_hand_off_temperature(fast_dir):
    from agent.loop.build import fast_config, make_fast
    from agent.loop.config import RunConfig
    from envs.config import load_dataclass

    def played(*overrides: str) -> float:
        cfg = load_dataclass(RunConfig, None, [f"fast.dir={fast_dir}", *overrides], "")
        fast = make_fast(cfg)
        assert fast is not None and fast.config.temperature == fast_config(cfg).temperature
        return fast.config.temperature

    assert played() == 0.3  # hand-off: its likeliest actions (a stall goes to the slow tier)
    assert played("runner.handoff=false") == 0.3  # alone: wider once it goes in circles
    assert played("fast.handoff_temperature=null", "fast.temperature=0.7") == 0.7
    assert played("fast.handoff_temperature=0", "fast.temperature=1.5") == 0.0


def test_fast_only_mode_never_hands_off(fast_dir, tmp_path):
    store = ExperienceStore(tmp_path / "s.sqlite")
    run = store.start_run("fast-only", {})
    env = envs.make("crafter", max_episode_steps=60)
    _runner(env, store, run, _fast(fast_dir), budget=20, handoff=False).run_episode(
        TASKS["place_table"], 1
    )
    tiers = {a.tier for a in store.attempts()}
    assert tiers == {"fast"}
    assert store.step_count(store.episodes()[0].id) > 0


@pytest.mark.parametrize(
    "damage",
    ["flip_weights", "delete_weights", "delete_folder", "wrong_trunk"],
)
def test_bad_adapter_warns_and_the_slow_tier_takes_its_subgoals(fast_dir, tmp_path, damage):
    folder = tmp_path / "fast"
    shutil.copytree(fast_dir, folder)
    gather = registry.served_folder(folder, "gather")
    assert gather.name == "v1"
    if damage == "flip_weights":
        blob = bytearray((gather / "adapter_model.safetensors").read_bytes())
        blob[-1] ^= 0xFF
        (gather / "adapter_model.safetensors").write_bytes(bytes(blob))
    elif damage == "delete_weights":
        (gather / "adapter_model.safetensors").unlink()
    elif damage == "delete_folder":
        shutil.rmtree(gather)
    else:
        text = (gather / "peam_adapter.json").read_text()
        (gather / "peam_adapter.json").write_text(
            text.replace('"trunk_sha256": "', '"trunk_sha256": "0')
        )
    with pytest.warns(AdapterLoadWarning, match="gather"):
        fast = _fast(folder)
    assert fast.available == {"craft"}
    store = ExperienceStore(tmp_path / "s.sqlite")
    run = store.start_run("fallback", {})
    env = envs.make("crafter", max_episode_steps=400)
    result = _runner(env, store, run, fast).run_episode(TASKS["collect_wood_4"], 0)
    assert result.success
    assert {a.tier for a in store.attempts()} == {"slow"}


def test_corrupt_trunk_turns_the_fast_tier_off_without_crashing(fast_dir, tmp_path):
    folder = tmp_path / "fast"
    shutil.copytree(fast_dir, folder)
    weights = folder / "trunk" / "trunk.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    weights.write_bytes(bytes(blob))
    with pytest.warns(AdapterLoadWarning, match="corrupt"):
        fast = _fast(folder)
    assert fast.available == set() and fast.covers(Subgoal("collect", "wood")) is None


def test_gate_routes_unseen_phrasings_and_abstains_when_unsure():
    emb = HashEmbedder()
    texts = [
        "collect wood x1",
        "collect stone x3",
        "make wood_pickaxe x1",
        "place table x1",
        "defeat zombie x1",
        "defeat skeleton x1",
    ]
    labels = ["gather", "gather", "craft", "craft", "combat", "combat"]
    gate = train_gate(emb.embed(texts), labels, ("craft", "gather", "combat"))
    every = {"craft", "gather", "combat"}
    assert gate.route(emb.embed(["collect coal x2"])[0], every) == "gather"
    assert gate.route(emb.embed(["defeat cow x1"])[0], every) == "combat"
    # Only adapters that exist are candidates; below the threshold the slow tier acts.
    assert gate.route(emb.embed(["defeat zombie x1"])[0], {"craft"}, threshold=0.5) is None


def test_gate_in_the_executor_routes_a_category_without_adapter(fast_dir):
    fast = _fast(fast_dir, gate=True, gate_threshold=0.0)
    # combat has no adapter: the gate sends it to an existing adapter instead of refusing.
    assert fast.covers(Subgoal("defeat", "zombie")) in {"craft", "gather"}
    strict = _fast(fast_dir, gate=True, gate_threshold=1.01)
    assert strict.covers(Subgoal("defeat", "zombie")) is None


def test_a_policy_going_round_in_circles_samples_wider(fast_dir):
    fast = _fast(fast_dir, temperature=0.0, unstick_after=3, unstick_temperature=1.0)
    assert [fast.temperature(k) for k in (0, 2, 3, 10)] == [0.0, 0.0, 1.0, 1.0]
    assert _fast(fast_dir, temperature=0.7, unstick_after=0).temperature(100) == 0.7  # never
    env = envs.make("crafter")
    obs, info = env.reset(seed=3)
    fast.begin(Subgoal("collect", "wood"), (0, 0))
    assert len({fast.act(obs, info, idle=2).action for _ in range(20)}) == 1  # argmax
    assert len({fast.act(obs, info, idle=3).action for _ in range(50)}) > 1  # sampled


def test_batched_decisions_equal_batch1_decisions(fast_dir):
    fast = _fast(fast_dir, temperature=0.0, unstick_after=2)
    env = envs.make("crafter")
    obs, _info = env.reset(seed=3)
    subgoals = [
        Subgoal("collect", "wood"),
        Subgoal("make", "wood_pickaxe"),
        Subgoal("place", "table"),
        Subgoal("collect", "sapling"),
    ]
    frames, infos = [], []
    for k in range(len(subgoals)):
        obs, _, _, _, info = env.step(k % 5)
        frames.append(obs)
        infos.append(info)
    seen = [fast.seen(*row) for row in zip(frames, infos, subgoals, strict=True)]
    rngs = [subgoal_rng(s.text, 0, (5, k)) for k, s in enumerate(subgoals)]
    idle = [0, 1, 2, 5]  # the last two sample at the unstick temperature
    together = fast.act_batch(seen, subgoals, rngs, idle)
    alone = []
    for k, (subgoal, frame, info) in enumerate(zip(subgoals, frames, infos, strict=True)):
        fast.begin(subgoal, (5, k))
        alone.append(fast.act(frame, info, idle[k]).action)
    assert list(together) == alone


def test_vector_runner_plays_the_same_episodes_and_batches_the_fast_tier(fast_dir, tmp_path):
    jobs = [(TASKS[t], s) for t in ("place_table", "collect_wood_4") for s in (0, 1)]
    # Slow tier only: the vector driver reproduces the single-env runner step for step.
    store = ExperienceStore(tmp_path / "v.sqlite")
    run = store.start_run("v", {})
    seq_env = envs.make("crafter", max_episode_steps=400)
    seq = [_runner(seq_env, store, run, None).run_episode(t, s) for t, s in jobs]
    venv = make_vector_env("crafter", 3, max_episode_steps=400)
    vec = VectorRunner(venv, lambda: _runner(None, store, run, None)).run(jobs)
    key = lambda r: (r.task_id, r.seed)  # noqa: E731
    assert [(key(r), r.success, r.steps) for r in sorted(vec, key=key)] == [
        (key(r), r.success, r.steps) for r in sorted(seq, key=key)
    ]
    # With the fast tier: one forward per vector step serves every fast slot.
    fstore = ExperienceStore(tmp_path / "f.sqlite")
    frun = fstore.start_run("f", {})
    fast = _fast(fast_dir)
    driver = VectorRunner(venv, lambda: _runner(None, fstore, frun, fast, budget=30), fast)
    results = driver.run(jobs)
    assert sorted(key(r) for r in results) == sorted((t.id, s) for t, s in jobs)
    attempts = fstore.attempts()
    fast_steps = sum(
        (a.step_end or a.step_start) - a.step_start for a in attempts if a.tier == "fast"
    )
    assert {a.subgoal.category for a in attempts if a.tier == "fast"} == {"craft", "gather"}
    assert 0 < driver.forwards < fast_steps
    for ep in fstore.episodes():  # every step of every episode stored exactly once
        ts = [s.t for s in fstore.steps(ep.id, frames=False)]
        assert ts == list(range(ep.steps))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        venv.close()


class _Thirsty(gymnasium.Wrapper):
    """Starts every episode thirsty, so the guard's reflex (drink) acts during fast attempts."""

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.env.unwrapped._env._player.inventory["drink"] = 2
        return obs, info


def test_steps_record_who_chose_the_action(fast_dir, tmp_path):
    store = ExperienceStore(tmp_path / "s.sqlite")
    run = store.start_run("actors", {})
    env = _Thirsty(envs.make("crafter", max_episode_steps=300))
    _runner(env, store, run, _fast(fast_dir), budget=80, guard=True).run_episode(
        TASKS["collect_wood_4"], 3
    )
    (episode,) = store.episodes()
    tier_of = {a.id: a.tier for a in store.attempts(episode.id)}
    actors = {}
    for step in store.steps(episode.id, frames=False):
        actors.setdefault(tier_of[step.attempt_id], set()).add(step.actor)
    assert "guard" in actors["fast"] and actors["fast"] <= {"fast", "guard"}
    # a hand-off's steps are the slow tier's, or its reflexes' (the guard's), never the policy's
    assert "slow" in actors and actors["slow"] <= {"slow", "guard"}


def test_the_slow_tiers_survival_reflexes_are_the_guards_and_unlabelled(tmp_path):
    store = ExperienceStore(tmp_path / "s.sqlite")
    run = store.start_run("reflexes", {})
    env = _Thirsty(envs.make("crafter", max_episode_steps=300))
    _runner(env, store, run, None, budget=200).run_episode(TASKS["collect_wood_4"], 3)
    (episode,) = store.episodes()
    steps = list(store.steps(episode.id, frames=False))
    drinks = [s for s in steps if s.actor == "guard"]
    assert drinks and all(s.label is None for s in drinks)  # it drank first: not the subgoal
    assert all(s.label for s in steps if s.actor == "slow")
    assert {s.actor for s in steps} == {"slow", "guard"}


def test_the_fast_tier_never_steps_into_lava_it_remembers(fast_dir):
    fast = _fast(fast_dir, temperature=5.0)  # near-uniform sampling: moves are drawn often
    env = envs.make("crafter")
    env.reset(seed=3)
    moves = {ACTIONS.index(f"move_{d}") for d in ("left", "right", "up", "down")}
    subgoal = Subgoal("collect", "wood")

    frame, *_, info = env.step(0)
    assert moves & set(_draws(fast, subgoal, frame, info))  # without lava the policy moves
    world, (x, y) = env.unwrapped._env._world, env.unwrapped._env._player.pos
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        world[x + dx, y + dy] = "lava"
    frame, *_, info = env.step(0)  # the map memory sees the lava around the player
    assert set(deadly_moves(fast.seen(frame, info, subgoal))) == moves
    assert not moves & set(_draws(fast, subgoal, frame, info))


def test_a_policy_going_round_in_circles_stops_pressing_into_the_wall_it_faces(fast_dir):
    # Near-uniform sampling, so every action is drawn often; stone all round the player,
    # who faces down: a move down changes nothing (a move elsewhere still turns it).
    kw = {"temperature": 5.0, "unstick_temperature": 5.0, "unstick_after": 3}
    env = envs.make("crafter")
    env.reset(seed=3)
    world, (x, y) = env.unwrapped._env._world, env.unwrapped._env._player.pos
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        world[x + dx, y + dy] = "stone"
    frame, *_, info = env.step(0)
    assert tuple(info["facing"]) == (0, 1)
    down, subgoal = ACTIONS.index("move_down"), Subgoal("collect", "wood")

    def draws(fast: FastExecutor, idle: int) -> list[int]:
        return _draws(fast, subgoal, frame, info, 60, idle)

    fast = _fast(fast_dir, **kw)
    assert futile_moves(fast.seen(frame, info, subgoal)) == [down]
    assert down in draws(fast, idle=0)  # not going round in circles: left as it is
    assert down not in draws(fast, idle=3)
    assert down in draws(_fast(fast_dir, unstick_blocked=False, **kw), idle=3)  # the old rule


def test_the_fast_tier_places_a_furnace_only_beside_a_remembered_table(fast_dir):
    kw = {"temperature": 5.0}  # near-uniform: place_furnace is drawn often when allowed
    env = envs.make("crafter")
    env.reset(seed=3)
    world, (x, y) = env.unwrapped._env._world, env.unwrapped._env._player.pos
    place, subgoal = ACTIONS.index("place_furnace"), Subgoal("place", "furnace")

    def seen_after(cell: tuple[int, int] | None) -> tuple:
        if cell is not None:
            world[cell] = "table"
        frame, *_, info = env.step(0)
        return frame, info

    def draws(fast: FastExecutor, frame, info) -> list[int]:
        return _draws(fast, subgoal, frame, info, 60)

    fast = _fast(fast_dir, **kw)
    frame, info = seen_after(None)
    assert stray_furnace(fast.seen(frame, info, subgoal)) == []  # no table anywhere
    frame, info = seen_after((x + 3, y))  # in view, three cells away
    assert stray_furnace(fast.seen(frame, info, subgoal)) == [place]
    assert place not in draws(fast, frame, info)
    assert place in draws(_fast(fast_dir, furnace_by_table=False, **kw), frame, info)
    frame, info = seen_after((x - 1, y + 1))  # and one beside the player
    assert stray_furnace(fast.seen(frame, info, subgoal)) == []
    assert place in draws(fast, frame, info)


def test_the_fast_tier_never_makes_or_places_what_crafter_would_ignore(fast_dir):
    """``fast.futile_crafts``: a make needs its materials and its station in the 3x3
    cells around the player, a place its materials and a cell it can go on."""
    kw = {"temperature": 5.0}  # near-uniform: every action is drawn often when allowed
    env = envs.make("crafter")
    env.reset(seed=3)
    world, player = env.unwrapped._env._world, env.unwrapped._env._player
    x, y = player.pos
    make, table = ACTIONS.index("make_wood_pickaxe"), ACTIONS.index("place_table")
    subgoal = Subgoal("make", "wood_pickaxe")

    def seen(cell: tuple[int, int] | None = None, wood: int = 2) -> tuple:
        if cell is not None:
            world[cell] = "table"
        player.inventory["wood"] = wood
        frame, *_, info = env.step(0)
        return frame, info

    fast = _fast(fast_dir, futile_crafts=True, **kw)
    frame, info = seen((x + 2, y))  # the table two cells away: out of crafting reach
    futile = futile_crafts(fast.seen(frame, info, subgoal))
    assert make in futile and table not in futile  # two wood, facing open ground
    assert make not in _draws(fast, subgoal, frame, info, 60)
    assert make in _draws(_fast(fast_dir, futile_crafts=False, **kw), subgoal, frame, info, 60)
    frame, info = seen((x + 1, y + 1))  # and one diagonally beside the player
    beside = fast.seen(frame, info, subgoal)
    assert make not in futile_crafts(beside)
    assert make in _draws(fast, subgoal, frame, info, 60)
    edge = beside.grid.copy()  # the same, on the world's first column: Crafter sees no table
    edge[0, CROP // 2 - 1, :] = OUTSIDE
    assert make in futile_crafts(Features(edge, beside.vector))
    frame, info = seen(wood=0)  # no wood: neither the pickaxe nor a table
    assert {make, table} <= set(futile_crafts(fast.seen(frame, info, subgoal)))


@pytest.mark.parametrize("stalls_replan", [False, True])
def test_a_stalled_attempt_is_retried_without_re_planning_the_task(
    fast_dir, tmp_path, stalls_replan
):
    # Alone, with a stall after 3 steps without progress, the tiny policy stalls often;
    # only with ``stalls_replan`` do its stalls add up to re-planning the whole task.
    store = ExperienceStore(tmp_path / "s.sqlite")
    run = store.start_run("stalls", {})
    env = envs.make("crafter", max_episode_steps=150)
    runner = _runner(
        env,
        store,
        run,
        _fast(fast_dir),
        budget=50,
        handoff=False,
        alone_stall_steps=3,
        max_corrections=1,
        stalls_replan=stalls_replan,
    )
    runner.run_episode(TASKS["collect_iron"], 0)
    stalled = [a for a in store.attempts() if a.failure_code == "stalled"]
    plans = [c for c in store.planner_calls() if c["kind"] == "plan"]
    assert len(stalled) >= 4
    assert (len(plans) > 1) is stalls_replan
