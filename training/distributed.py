"""Process group set-up under torchrun, and the few collectives the trainer needs.

Without torchrun (no WORLD_SIZE, or 1) everything here is a no-op on one process, so the
trainer has one code path.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def gather(self, obj: Any) -> list[Any]:
        """`obj` of every rank, in rank order (picklable objects: small states only)."""
        if not self.active:
            return [obj]
        found: list[Any] = [None] * self.world_size
        dist.all_gather_object(found, obj)
        return found

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.active:
            dist.all_reduce(tensor)
        return tensor

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


def init_world(device_type: str) -> World:
    """Join torchrun's process group: NCCL on GPUs, gloo on CPUs."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    world = World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))
    if device_type == "cuda":
        torch.cuda.set_device(world.local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return world


def close_world(world: World) -> None:
    if world.active and dist.is_initialized():
        # gloo's worker threads free a finished collective's tensors, which needs the GIL;
        # the group's destructor joins those threads while holding the GIL, so tearing it
        # down while one still cleans up deadlocks. A moment without the GIL lets them finish.
        time.sleep(0.1)
        dist.destroy_process_group()
