"""An OpenAI-protocol server on 127.0.0.1 for tests, scripted per test.

Each request to ``POST /v1/chat/completions`` takes the next scripted reply
(or ``default`` once the script runs out); every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    delay_s: float = 0.0
    prompt_tokens: int = 100
    completion_tokens: int = 20


@dataclass
class FakeOpenAI:
    script: list[Reply | Callable[[dict[str, Any]], Reply]] = field(default_factory=list)
    default: Reply | Callable[[dict[str, Any]], Reply] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    served: list[Reply] = field(default_factory=list)
    port: int = 0
    """0: any free port."""

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # else every call waits ~40 ms

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"body": body, "headers": dict(self.headers)})
                step = fake.script.pop(0) if fake.script else fake.default
                reply = step(body) if callable(step) else step
                if reply is None:
                    reply = Reply(status=500)
                fake.served.append(reply)
                time.sleep(reply.delay_s)
                if reply.status != 200:
                    payload = {"error": {"message": f"scripted {reply.status}", "type": "test"}}
                else:
                    payload = {
                        "id": f"chatcmpl-{len(fake.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": reply.content},
                            }
                        ],
                        "usage": {
                            "prompt_tokens": reply.prompt_tokens,
                            "completion_tokens": reply.completion_tokens,
                            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                        },
                    }
                data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def plan_json(subgoals: list[Any]) -> str:
    return json.dumps({"subgoals": [s.to_dict() for s in subgoals]})
