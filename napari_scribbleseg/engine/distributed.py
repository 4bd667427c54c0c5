"""Data-parallel set-up under ``torchrun``: the process group, the DDP wrapper and the teardown.

One process per device; :func:`init_distributed` joins the group torchrun describes in the environment
(NCCL on GPUs, gloo on CPUs: the same code path), :func:`shutdown_distributed` leaves it cleanly.
"""

from __future__ import annotations

import gc
import os
from typing import Any


def init_distributed() -> tuple[int, int]:
    """(rank, world size) under torchrun, else (0, 1); joins the process group on first call."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def wrap_ddp(module: Any, device: Any, world: int) -> Any:
    """``module`` in a ``DistributedDataParallel`` wrapper when training on several processes.

    Modules without trainable parameters (and single-process runs) are returned unchanged. Batch-norm
    buffers follow rank 0 (DDP's default).
    """
    if world <= 1 or not any(p.requires_grad for p in module.parameters()):
        return module
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [device.index] if device.type == "cuda" else None
    return DDP(module, device_ids=ids)


def any_rank_stops(stop: str | None, device: Any) -> str | None:
    """Agree on stopping across ranks: a reason if any rank wants to stop (its own, else ``"stopped"``)."""
    import torch
    import torch.distributed as dist

    flag = torch.tensor([1.0 if stop else 0.0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return (stop or "stopped") if flag.item() > 0 else None


def shutdown_distributed(barrier: bool = True) -> bool:
    """Tear down the torchrun process group, if one was started, while the interpreter is whole.

    The ranks meet at a barrier first (rank 0 may still be validating and saving), then the group is
    destroyed and collected. A process group that is only freed during interpreter finalisation can
    abort the rank with "terminate called without an active exception" after a successful run: its
    worker threads then release tensors and need the GIL, which finalisation no longer hands out.
    Call :meth:`~.trainer.Trainer.close` first so that no DDP wrapper keeps the group alive. Returns
    whether there was a group to tear down. After an error pass ``barrier=False``: the other ranks may be
    waiting in a training collective, and a barrier would then wait for them until the group's timeout
    instead of letting torchrun stop them.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return False
    if barrier:
        try:
            dist.barrier()
        except Exception:  # noqa: BLE001 - a peer died; tear down our side regardless
            pass
    dist.destroy_process_group()
    gc.collect()
    return True
