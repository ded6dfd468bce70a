"""The escalation ladder against scripted bad planners, side by side with the recipe planner.

Each scripted model plans the way small models do (``tests/agent/slow/scripted_models.py``):
``goal_only`` answers only the task's goal and a correction only retries the failed
subgoal; ``missing_station`` leaves every station out. Each plays the 9 craft and gather
tasks through ``peam run --set planner=llm`` against a local OpenAI-protocol server, and
the offline recipe planner plays the same seeds. Prints success, model requests per
episode (mean and max) and the share of subgoals the model planned; ``ratio:`` the
goal-only model's successes over the recipe planner's.

    .venv/bin/python benchmarks/ladder.py --seeds 0-4
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.cli import main
from agent.loop.summary import read_episodes
from tests.agent.slow.fake_openai import FakeOpenAI
from tests.agent.slow.scripted_models import MODELS

TASKS = ("place_table", "make_wood_pickaxe", "make_stone_pickaxe", "place_furnace",
         "make_iron_pickaxe", "collect_wood_4", "collect_stone_8", "collect_coal",
         "collect_iron")  # fmt: skip


def play(out: Path, seeds: str, planner: list[str]) -> tuple[list[dict], float]:
    tasks = [arg for t in TASKS for arg in ("--task", t)]
    start = time.perf_counter()
    args = ["run", "--config", "configs/run/default.yaml", "--seeds", seeds, *tasks]
    code = main([*args, "--set", "workers=2", *planner, "--out", str(out), "--quiet"])
    if code != 0:
        raise SystemExit(f"peam run exited {code}")
    return read_episodes(out), time.perf_counter() - start


def row(name: str, episodes: list[dict], seconds: float) -> str:
    n = len(episodes)
    wins = sum(e["success"] for e in episodes)
    requests = [e["model_requests"] for e in episodes]
    mine = sum(e["model_subgoals"] for e in episodes)
    planned = mine + sum(e["offline_subgoals"] for e in episodes)
    share = f"{mine / planned:.0%}" if planned else "-"
    return (
        f"| {name} | {wins}/{n} ({wins / n:.0%}) | {sum(requests) / n:.1f} | {max(requests)}"
        f" | {share} | {seconds:.0f} |"
    )


def run(seeds: str) -> None:
    print("| planner | success | model requests / episode | max | planned by the model |"
          " seconds |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    wins: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        episodes, seconds = play(Path(tmp) / "recipe", seeds, [])
        wins["recipe"] = sum(e["success"] for e in episodes)
        print(row("offline recipe planner", episodes, seconds), flush=True)
        for name, model in MODELS.items():
            server = FakeOpenAI(default=model)
            try:
                llm = ["--set", "planner=llm", "--set", f"llm.base_url={server.base_url}",
                       "--set", "llm.api_key_env=", "--set", "llm.model=scripted"]  # fmt: skip
                episodes, seconds = play(Path(tmp) / name, seeds, llm)
            finally:
                server.close()
            wins[name] = sum(e["success"] for e in episodes)
            print(row(f"scripted `{name}` + ladder", episodes, seconds), flush=True)
            failed = [(e["task"], e["seed"], e["outcome"]) for e in episodes if not e["success"]]
            if failed:
                print(f"<!-- {name} failed: {json.dumps(failed)} -->")
    print(f"ratio: {wins['goal_only'] / max(wins['recipe'], 1):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0-4")
    run(parser.parse_args().seeds)
