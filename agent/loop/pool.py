"""Episodes played by a pool of workers: Ray actors, or local processes without Ray.

The driver hands out episode specs (task, seed); a worker plays one into an
in-memory record (``agent.loop.recording``) and returns it; the driver alone
writes records to the store, skipping a spec already stored, so a retried
episode is stored once and no step is lost or doubled. A worker that dies
mid-episode (Ray restarts the actor, ``max_restarts``; a local pool is rebuilt)
has its spec resubmitted, up to ``retries`` times. The fast tier's (or
retrieval memory's) files are read once and shipped to every worker
(``ray.put``: one copy in the object store); of a fast tier only the files its
executor reads.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from agent.loop.recording import PlayedEpisode, RecordingStore

Files = dict[str, bytes]


@dataclass(frozen=True)
class EpisodeSpec:
    task_id: str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.task_id}/{self.seed}"


class WorkerLost(RuntimeError):
    """A spec failed on every retry (its worker kept dying)."""


def read_folder(folder: str, keep: Callable[[Path], bool] | None = None) -> Files:
    """Every file under ``folder`` (those ``keep`` accepts) by relative path."""
    root = Path(folder)
    rels = (p.relative_to(root) for p in root.rglob("*") if p.is_file())
    return {str(rel): (root / rel).read_bytes() for rel in rels if keep is None or keep(rel)}


def memory_files(config: Any) -> Files | None:
    """What workers need of the memory folder: of a fast tier only what the executor reads
    (trunk, every adapter version, the adapter gate, train.json), so a `peam loop` folder's
    store and round runs (gigabytes after a few rounds) stay home; a retrieval memory
    whole."""
    if config.fast.dir:
        from agent.fast.gate import META, WEIGHTS

        files = {f"gate/{WEIGHTS}", f"gate/{META}", "train.json"}
        return read_folder(
            config.fast.dir,
            lambda rel: rel.parts[0] in ("trunk", "adapters") or rel.as_posix() in files,
        )
    if config.retrieval.dir:
        return read_folder(config.retrieval.dir)
    return None


def write_folder(files: Files, root: Path) -> str:
    for rel, blob in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(blob)
    return str(root)


class Worker:
    """Plays episodes for one run config (inside a Ray actor or a pool process)."""

    def __init__(self, config: dict[str, Any], files: Files | None, env_factory: str = ""):
        import torch

        from agent.loop.config import RunConfig
        from envs.config import build
        from envs.tasks import load_tasks

        torch.set_num_threads(1)
        self.cfg = build(RunConfig, config)
        self._tmp = tempfile.TemporaryDirectory(prefix="peam-worker-")
        """Shipped memory and the planner's cache; removed when the worker ends."""
        tmp = Path(self._tmp.name)
        if files:  # the shipped memory folder replaces the driver's path
            if self.cfg.fast.dir:
                self.cfg.fast.dir = write_folder(files, tmp / "memory")
            elif self.cfg.retrieval.dir:
                self.cfg.retrieval.dir = write_folder(files, tmp / "memory")
        self.tasks = load_tasks(self.cfg.tasks_file)
        self.env_factory = env_factory
        self._envs: dict[int, Any] = {}
        self._fast: Any = None
        self._planner: Any = None

    def _env(self, budget: int) -> Any:
        if budget not in self._envs:
            if self.env_factory:
                module, _, name = self.env_factory.partition(":")
                make = getattr(__import__(module, fromlist=[name]), name)
                self._envs[budget] = make(self.cfg, budget)
            else:
                from agent.loop.build import make_env

                self._envs[budget] = make_env(self.cfg, budget)
        return self._envs[budget]

    def ready(self) -> bool:
        """Answers once the worker is up (after a restart too)."""
        return True

    def play(self, spec: EpisodeSpec) -> PlayedEpisode:
        from agent.loop.build import make_fast, make_planner, make_runner

        if self._planner is None:
            self._planner = make_planner(self.cfg, Path(self._tmp.name))
            self._fast = make_fast(self.cfg)
        task = self.tasks[spec.task_id]
        store = RecordingStore(spec.key)
        runner = make_runner(self.cfg, self._env(task.budget), self._planner, store, 0, self._fast)
        runner.run_episode(task, spec.seed)
        return store.record


# -- local process pool (no Ray) ------------------------------------------------------

_WORKER: Worker | None = None


def _init_local(config: dict[str, Any], files: Files | None, env_factory: str) -> None:
    global _WORKER
    _WORKER = Worker(config, files, env_factory)


def _play_local(spec: EpisodeSpec) -> PlayedEpisode:
    assert _WORKER is not None
    return _WORKER.play(spec)


def play_local(
    specs: list[EpisodeSpec],
    config: dict[str, Any],
    files: Files | None,
    workers: int,
    retries: int,
    env_factory: str = "",
) -> Iterator[PlayedEpisode]:
    """Yield played episodes as they finish; a dead process rebuilds the pool and its specs
    are resubmitted."""
    tries = dict.fromkeys(specs, 0)
    todo = list(specs)
    ctx = get_context("spawn")
    while todo:
        pool = ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_local, initargs=(config, files, env_factory)
        )
        futures = {pool.submit(_play_local, s): s for s in todo}
        todo = []
        try:
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    spec = futures.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        todo.append(spec)
        except BrokenProcessPool:  # raised by wait() itself on some Pythons
            todo += list(futures.values())
        except BaseException:  # Ctrl-C, or the consumer stopped early: no worker outlives us
            stop_pool(pool)
            raise
        pool.shutdown(wait=True)
        for spec in todo:
            tries[spec] += 1
            if tries[spec] > retries:
                raise WorkerLost(f"episode {spec.key} failed {tries[spec]} times: its worker died")


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what is queued and end the worker processes now (not after their episodes)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)


# -- Ray actors ----------------------------------------------------------------------


def play_ray(
    specs: list[EpisodeSpec],
    config: dict[str, Any],
    files: Files | None,
    workers: int,
    retries: int,
    address: str = "",
    env_factory: str = "",
    max_restarts: int = 2,
) -> Iterator[PlayedEpisode]:
    """Yield played episodes from ``workers`` Ray actors (restarted by Ray when they die)."""
    import ray
    from ray.exceptions import RayActorError, WorkerCrashedError

    if not ray.is_initialized():
        ray.init(address=address or None, include_dashboard=False, log_to_driver=False)
    files_ref = ray.put(files)  # one copy of the weights in the object store, for every actor
    remote = ray.remote(num_cpus=1, max_restarts=max_restarts, max_task_retries=0)(Worker)
    actors = [remote.remote(config, files_ref, env_factory) for _ in range(workers)]
    queue = list(specs)
    tries = dict.fromkeys(specs, 0)
    running: dict[Any, tuple[Any, EpisodeSpec]] = {}

    def submit(actor: Any) -> None:
        if queue:
            spec = queue.pop(0)
            running[actor.play.remote(spec)] = (actor, spec)

    for actor in actors:
        submit(actor)
    while running:
        ready, _ = ray.wait(list(running), num_returns=1)
        actor, spec = running.pop(ready[0])
        try:
            yield ray.get(ready[0])
        except (RayActorError, WorkerCrashedError) as err:
            tries[spec] += 1
            if tries[spec] > retries:
                raise WorkerLost(f"episode {spec.key} failed {tries[spec]} times: {err}") from err
            queue.insert(0, spec)  # resubmitted, once the actor is back
            _await_restart(ray, actor, RayActorError)
        submit(actor)


def _await_restart(ray: Any, actor: Any, error: type, timeout: float = 120.0) -> None:
    """Block until Ray has restarted ``actor`` (calls fail while it is restarting)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            ray.get(actor.ready.remote())
            return
        except error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def dispatch(
    specs: list[EpisodeSpec],
    config: Any,
    workers: int,
    retries: int = 2,
    ray_address: str | None = None,
    env_factory: str = "",
) -> Iterator[PlayedEpisode]:
    """Ray when ``ray_address`` is given ("local" starts one here), else a local pool."""
    files = memory_files(config)
    raw = asdict(config)
    if ray_address is not None:
        address = "" if ray_address == "local" else ray_address
        return play_ray(specs, raw, files, workers, retries, address, env_factory)
    return play_local(specs, raw, files, workers, retries, env_factory)


def store_once(
    store: Any,
    run_id: int,
    stored: set[str],
    record: PlayedEpisode,
    on_stored: Callable[[PlayedEpisode], None] | None = None,
) -> int | None:
    """The one writer: a record whose spec is stored already is dropped (None); else the
    stored episode's id."""
    from agent.loop.recording import replay

    if record.key in stored:
        return None
    episode_id = replay(store, run_id, record)
    stored.add(record.key)
    if on_stored is not None:
        on_stored(record)
    return episode_id
