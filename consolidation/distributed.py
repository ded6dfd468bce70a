"""Data-parallel training across processes started by ``torchrun`` or ``accelerate launch``.

When ``WORLD_SIZE`` > 1, :func:`init_from_env` joins the process group (NCCL
on CUDA, one GPU per local rank; gloo on CPU). Every rank then builds the
same model and walks the same batch order; each takes its slice of every
batch (:func:`shard`) and gradients are averaged across ranks after each
backward (:func:`sync_grads`: what DistributedDataParallel does, without
wrapping the peft model). Rank 0 alone writes: trunk, published versions,
checkpoints, decisions. Without a process group every helper is a no-op.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
import torch
import torch.distributed as dist


def active() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if active() else 0


def size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    return rank() == 0


def init_from_env() -> torch.device | None:
    """Join the group torchrun/accelerate describe in the environment; the rank's device."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    cuda = torch.cuda.is_available()
    if not active():
        dist.init_process_group("nccl" if cuda else "gloo")
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def shard(idx: np.ndarray) -> np.ndarray:
    """This rank's part of a batch (all ranks together cover it once)."""
    return idx[rank() :: size()] if active() else idx


def sync_grads(params: Iterable[torch.nn.Parameter]) -> None:
    """Average gradients over ranks (after backward, before the optimizer step)."""
    if not active():
        return
    world = size()
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= world


def broadcast(params: Iterable[torch.Tensor]) -> None:
    """Give every rank rank 0's values (e.g. a freshly initialised model)."""
    if not active():
        return
    for p in params:
        dist.broadcast(p.data, src=0)


def barrier() -> None:
    if active():
        dist.barrier()
