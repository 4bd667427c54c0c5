"""What every benchmark records about the machine it ran on."""

from __future__ import annotations

import platform
import re
from pathlib import Path


def cpu_flags() -> str:
    """The CPU flags that decide training speed: ``amx_bf16``/``avx512_bf16`` (native bf16) or ``avx2``."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    flags = sorted({f for f in ("amx_bf16", "avx512_bf16", "avx2") if re.search(rf"\b{f}\b", text)})
    return " ".join(flags) or "none of amx_bf16/avx512_bf16/avx2"
