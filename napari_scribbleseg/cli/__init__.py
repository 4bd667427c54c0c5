"""Command-line interface: ``scribbleseg train | predict | propagate | evaluate | scribbles | sample-data``.

Every option also has a config-file form: ``--config FILE.json`` (or ``.toml``) holds the same option names
(``time_budget``, ``method``...; method options under ``"method_options"``), and options given on the
command line win (:mod:`.options`). One module per command: :mod:`.train` (:mod:`.train_session` for
``train --session``), :mod:`.predict`, :mod:`.propagate`, :mod:`.evaluate`, :mod:`.data` (scribbles and
sample data); the parser is :mod:`.parser`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from ..errors import ScribbleSegError
from .options import load_config_file, merge_options
from .parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``scribbleseg``; returns the exit code (0 ok, 1 error, 2 usage)."""
    t_start = time.monotonic()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        opts = merge_options(args, load_config_file(getattr(args, "config", None)))
        if args.command == "train":
            return _train(opts, t_start)
        if args.command == "predict":
            from .predict import cmd_predict

            return cmd_predict(opts)
        if args.command == "propagate":
            from .propagate import cmd_propagate

            return cmd_propagate(opts)
        if args.command == "evaluate":
            from .evaluate import cmd_evaluate

            return cmd_evaluate(opts)
        if args.command == "scribbles":
            from .data import cmd_scribbles

            return cmd_scribbles(opts)
        if args.command == "sample-data":
            from .data import cmd_sample_data

            return cmd_sample_data(opts)
    except ScribbleSegError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")
    return 2


def _train(opts: dict[str, Any], t_start: float) -> int:
    """``scribbleseg train``, then the teardown of a torchrun process group.

    See :func:`~napari_scribbleseg.engine.distributed.shutdown_distributed`.
    """
    from ..engine.distributed import shutdown_distributed

    if opts.get("session"):  # a session folder saved in napari
        from .train_session import cmd_train_session as cmd_train
    else:
        from .train import cmd_train

    try:
        rc = cmd_train(opts, t_start)
    except BaseException:
        shutdown_distributed(barrier=False)
        raise
    if shutdown_distributed(barrier=rc == 0):
        # A torchrun rank whose group is torn down has nothing left for interpreter
        # finalisation, which is where ranks aborted in CI (see shutdown_distributed).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    return rc
