"""The target flag group shared by ``hivepulse profile`` and ``hivepulse doctor``: which service to measure and
how to start it (docs/profiling.md, "External targets"). One definition, so both commands take exactly the
same options and placeholders."""

from __future__ import annotations

import argparse
from typing import Any

from hivepulse.bench.targets import PLACEHOLDERS


def add_target_flags(parser: argparse.ArgumentParser) -> None:
    """``--target-url``, ``--target-cmd``, ``--target-cwd``, ``--target-env``, ``--target-path``,
    ``--target-ready``, ``--target-ready-status``, ``--target-port``, ``--target-start-timeout``."""
    group = parser.add_argument_group("target (default: the reference HiveBox)")
    group.add_argument("--target-url", metavar="URL", help="black-box target: load only, no restarts")
    group.add_argument("--target-cmd", metavar="TEMPLATE",
                       help="start your service: placeholders " + " ".join("{" + p + "}" for p in PLACEHOLDERS)
                       + " (see docs/profiling.md)")
    group.add_argument("--target-cwd", metavar="DIR", help="working directory of --target-cmd")
    group.add_argument("--target-env", metavar="K=V", action="append", default=[],
                       help="extra environment for --target-cmd (repeatable; placeholders allowed in V)")
    group.add_argument("--target-path", metavar="PATH", help="endpoint to load (default /temperature)")
    group.add_argument("--target-ready", metavar="PATH", help="readiness path of a started target (default /)")
    group.add_argument("--target-ready-status", choices=["any", "2xx"],
                       help="what counts as ready: any HTTP answer (default) or a 2xx")
    group.add_argument("--target-port", metavar="N", type=int,
                       help="fixed port for a service that ignores {port} and PORT")
    group.add_argument("--target-start-timeout", metavar="S", type=float,
                       help="seconds a started target may take to become ready (default 30)")


def target_options(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed target flags as the keyword arguments of :func:`hivepulse.bench.targets.target_spec`."""
    return {"target_url": args.target_url, "target_cmd": args.target_cmd, "target_cwd": args.target_cwd,
            "target_env": args.target_env, "target_path": args.target_path, "target_ready": args.target_ready,
            "target_ready_status": args.target_ready_status, "target_port": args.target_port,
            "target_start_timeout": args.target_start_timeout}
