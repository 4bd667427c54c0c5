"""A virtual X display for headless runs (tests, benchmarks, screenshots).

napari's canvas needs an OpenGL context even when Qt runs with ``QT_QPA_PLATFORM=offscreen``, and Qt's
offscreen platform only provides one through an X server. :func:`ensure_display` starts ``Xvfb`` (Debian
package ``xvfb``) when there is no display, before the first ``QApplication`` is made.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

_started: subprocess.Popen | None = None


def has_display() -> bool:
    """Whether a display is available (always true off Linux)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def ensure_display(size: str = "1600x1000x24") -> bool:
    """Start an Xvfb server and set ``DISPLAY`` if there is no display; True if one is available.

    The server is stopped when the Python process exits (by the kernel's parent-death signal, so that it
    outlives Qt's own clean-up: stopping it from ``atexit`` would make Xlib abort the exiting process).
    """
    global _started
    if has_display():
        return True
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        return False
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        number = fh.readline().strip()
    if not number:
        proc.terminate()
        return False
    os.environ["DISPLAY"] = f":{number}"
    _started = proc
    return True


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to send SIGTERM to this (child) process when its parent exits."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    except OSError:
        pass
