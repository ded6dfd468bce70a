"""A scripted OpenAI-compatible endpoint on 127.0.0.1 for runs that need a planner model
without one: it answers every plan and correction as the recipe planner would from the
prompt's observation, and reports real token counts (all-MiniLM-L6-v2's WordPiece
tokenizer; ``tests/agent/slow/scripted_models.RecipeLike``). Serves until stopped.

    .venv/bin/python benchmarks/scripted_endpoint.py [--port 8089]
    # then: --set planner=llm --set llm.base_url=http://127.0.0.1:8089/v1 \\
    #       --set llm.api_key_env= --set llm.model=recipe-like
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.agent.slow.fake_openai import FakeOpenAI, Reply
from tests.agent.slow.scripted_models import RecipeLike


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8089)
    args = parser.parse_args()
    model, lock = RecipeLike(), threading.Lock()

    def answer(body: dict[str, Any]) -> Reply:
        with lock:  # one tokenizer, many request threads
            return model(body)

    fake = FakeOpenAI(default=answer, port=args.port)
    print(f"serving {fake.base_url} (any model name); Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.close()


if __name__ == "__main__":
    main()
