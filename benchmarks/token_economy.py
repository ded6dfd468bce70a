"""The token economy: LLM-only vs PEAM's consolidated plans vs retrieval's plan reuse.

1. The LLM-only agent (LLM planner with its ladder + the fair slow controller) plays the
   training seeds: that is the experience.
2. PEAM consolidates it into a plan head (`peam plans`); retrieval indexes its plans (the
   plan memory, reused for a near-identical task).
3. All three play the same held-out seeds. Printed side by side: success, model requests,
   prompt and completion tokens and wall seconds per episode, and the token cut vs LLM-only;
   ``ratio:`` the last plan-head agent's tokens per episode over LLM-only's.

By default the endpoint is a scripted one on 127.0.0.1 that answers like the recipe
planner from the prompt's observation, counting tokens with a real tokenizer
(``tests/agent/slow/scripted_models.RecipeLike``); ``--url`` points at a real server
(`make llm`) instead.

    .venv/bin/python benchmarks/token_economy.py                       # whole suite, scripted
    .venv/bin/python benchmarks/token_economy.py --url http://127.0.0.1:8088/v1 \\
        --model qwen2.5-coder-1.5b --tasks place_table,make_wood_pickaxe,collect_coal \\
        --train-seeds 0-4 --eval-seeds 5-7 --set llm.structured=json_object_schema
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.cli import main
from agent.loop.summary import read_episodes
from memory.plans import PlanMemory
from memory.text_embedding import SubgoalEmbedder
from tests.agent.slow.fake_openai import FakeOpenAI
from tests.agent.slow.scripted_models import RecipeLike


def play(out: Path, seeds: str, args: argparse.Namespace, extra: list[str]) -> float:
    tasks = [a for t in args.tasks.split(",") if t for a in ("--task", t)]
    llm = ["--set", "planner=llm", "--set", f"llm.base_url={args.url}", "--set",
           "llm.api_key_env=", "--set", f"llm.model={args.model}"]  # fmt: skip
    overrides = [a for s in args.set for a in ("--set", s)]
    cmd = ["run", "--config", "configs/run/default.yaml", "--seeds", seeds, *tasks, *llm]
    cmd += [*overrides, *extra, "--set", f"workers={args.workers}", "--out", str(out)]
    timing = out / "wall_seconds.json"
    if timing.exists():  # finished before: its time as measured then
        return float(json.loads(timing.read_text()))
    if (out / "config.yaml").exists():  # a killed benchmark resumes where it stopped
        cmd = ["run", "--out", str(out), "--resume"]
    start = time.perf_counter()
    if main([*cmd, "--quiet"]) != 0:
        raise SystemExit(f"peam run {out} failed")
    seconds = time.perf_counter() - start
    timing.write_text(json.dumps(seconds))
    return seconds


def row(name: str, out: Path, seconds: float, base: float | None) -> tuple[str, float]:
    eps = read_episodes(out)
    n = len(eps)
    wins = sum(e["success"] for e in eps)
    prompt = sum(e["prompt_tokens"] for e in eps) / n
    completion = sum(e["completion_tokens"] for e in eps) / n
    requests = sum(e["model_requests"] for e in eps) / n
    tokens = prompt + completion
    cut = f"{1 - tokens / base:.1%}" if base else "-"
    line = (
        f"| {name} | {wins}/{n} ({wins / n:.0%}) | {requests:.2f} | {prompt:,.0f} |"
        f" {completion:,.0f} | {tokens:,.0f} | {cut} | {seconds / n:.2f} |"
    )
    return line, tokens


def run(args: argparse.Namespace) -> None:
    root = Path(args.out)
    root.mkdir(parents=True, exist_ok=True)
    server = None
    if not args.url:
        server = FakeOpenAI(default=RecipeLike())
        args.url, args.model = server.base_url, "scripted-recipe"
    try:
        train = root / "llm-train"
        play(train, args.train_seeds, args, [])
        head = root / "plan-head"
        if not head.exists() and main(["plans", "--run", str(train), "--out", str(head)]) != 0:
            raise SystemExit("peam plans failed")
        plans = root / "plan-memory"
        if not plans.exists():
            memory = PlanMemory(SubgoalEmbedder())
            memory.grow(train / "store.sqlite")
            memory.save(plans)
        agents = {"LLM only (ladder + fair slow controller)": []}
        for threshold in args.thresholds.split(","):
            name = f"PEAM: plan head consolidated from it + LLM (threshold {threshold})"
            agents[name] = ["--set", f"plan_head.dir={head}", "--set",
                            f"plan_head.threshold={threshold}"]  # fmt: skip
        agents["retrieval: plan reuse from it + LLM"] = ["--set", f"plan_reuse.dir={plans}"]
        header = (
            "agent", "success", "model requests / ep", "prompt tokens / ep",
            "completion tokens / ep", "tokens / ep", "tokens vs LLM only", "wall s / ep",
        )  # fmt: skip
        print("| " + " | ".join(header) + " |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        base, tokens_of = None, {}
        for i, (name, extra) in enumerate(agents.items()):
            out = root / f"eval-{i}"
            seconds = play(out, args.eval_seeds, args, extra)
            line, tokens = row(name, out, seconds, base)
            base = base if base is not None else tokens
            tokens_of[name] = tokens
            print(line, flush=True)
        peam = [t for n, t in tokens_of.items() if n.startswith("PEAM")][-1]
        print(f"ratio: {peam / base:.3f}" if base else "ratio: -")
        (root / "args.json").write_text(json.dumps(vars(args), indent=2))
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="", help="a real endpoint (default: scripted)")
    parser.add_argument("--model", default="scripted-recipe")
    parser.add_argument("--tasks", default="", help="comma-separated (default: whole suite)")
    parser.add_argument("--train-seeds", default="100-119")
    parser.add_argument("--eval-seeds", default="1000-1019")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--thresholds", default="0.9,0.5", help="plan head thresholds")
    parser.add_argument("--set", action="append", default=[], help="peam run override")
    parser.add_argument("--out", default="runs/token-economy")
    run(parser.parse_args())
