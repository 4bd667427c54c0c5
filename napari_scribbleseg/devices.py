"""The one place that decides which device and precision training and inference use."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:  # torch is imported lazily so that napari starts fast
    import torch


def available_devices() -> list[str]:
    """``["cpu", "cuda:0", ...]``: the devices this machine offers (CPU always)."""
    import torch

    return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def resolve_device(spec: str | None = "auto") -> torch.device:
    """Turn ``auto | cpu | cuda | cuda:i`` into a :class:`torch.device`.

    ``auto`` picks the first CUDA device when there is one (or the one ``LOCAL_RANK`` names under
    ``torchrun``), else the CPU.

    Raises
    ------
    ConfigError
        For an unknown spec or a CUDA device that is not present.
    """
    import torch

    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
        return torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {spec!r} requested but no CUDA device is available; use --device cpu")
        index = int(spec.split(":", 1)[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(
                f"device {spec!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
        return torch.device("cuda", index)
    raise ConfigError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N")


@lru_cache(maxsize=1)
def cpu_supports_fast_bf16() -> bool:
    """True when the CPU has native bf16 matrix units (AMX or AVX512-BF16).

    On such CPUs bf16 autocast makes convolutions several times faster; elsewhere it is emulated and
    slower than fp32, so we keep fp32.
    """
    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = line
                    break
    except OSError:
        return False
    return any(f in flags.split() for f in ("amx_bf16", "avx512_bf16"))


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The autocast dtype to use on ``device`` (``None`` = full fp32).

    ``precision`` is ``auto`` (bf16 where the hardware runs it natively), ``fp32`` or ``bf16``.
    """
    import torch

    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision != "auto":
        raise ConfigError(f"unknown precision {precision!r}; use auto, fp32 or bf16")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_supports_fast_bf16() else None


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op thread count once, deliberately (oversubscription costs up to 4x here).

    Uses ``n`` or the number of CPUs this process may run on.
    """
    import torch

    if n is None:
        try:
            n = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            n = os.cpu_count() or 1
    n = max(1, int(n))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def peak_memory_mib() -> dict[str, float]:
    """Peak memory of this process so far, in MiB.

    ``rss``: resident memory (CPU side); ``cuda``, when torch has used CUDA: the most its caching
    allocator held on the current GPU.

    ``rss`` is missing where the platform does not report it (no :mod:`resource` module, e.g. Windows).
    """
    import sys

    out: dict[str, float] = {}
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        resource = None
    if resource is not None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out["rss"] = peak / (1024**2 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux
    torch_mod = sys.modules.get("torch")
    if torch_mod is not None and torch_mod.cuda.is_initialized():
        out["cuda"] = torch_mod.cuda.max_memory_reserved() / 1024**2
    return out


def format_peak_memory() -> str:
    """``"peak memory 1234 MiB RSS, 800 MiB CUDA"`` (empty when nothing is known)."""
    mem = peak_memory_mib()
    parts = [f"{mem['rss']:.0f} MiB RSS"] if "rss" in mem else []
    if "cuda" in mem:
        parts.append(f"{mem['cuda']:.0f} MiB CUDA")
    return "peak memory " + ", ".join(parts) if parts else ""
