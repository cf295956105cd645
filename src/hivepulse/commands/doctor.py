"""``hivepulse doctor``: what is wrong with a HiveBox service, proved at the replay server, and how to fix it.

Takes the target options of ``hivepulse profile`` (the same flag group, :mod:`hivepulse.commands.targetflags`),
runs its own openSenseMap replay server and the caches the target needs, probes for about a minute at most and
writes ``doctor.json``, ``doctor.md``, ``doctor.html`` (and the findings record ``results.json``) to
``<output-dir>/<run-id>/``. Exit status: 0 the doctor ran (whatever the verdicts), 1 with ``--fail-on fail`` when a
check failed, 2 bad input, 3/4 a server or the target did not start. Contract: docs/doctor.md.
"""

from __future__ import annotations

import argparse
import math
import sys

from hivepulse.commands.targetflags import add_target_flags, target_options
from hivepulse.errors import InputError
from hivepulse.paths import locate_output

CACHES = ("none", "memory", "valkey", "memcached")
CLIENTS = ("naive", "pooled", "concurrent")
SINGLE_FLIGHT = ("off", "wait", "stale")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check a HiveBox for the well-known mistakes (connection reuse, caching, stampedes, timeouts, ...)",
        description="Start the reference HiveBox or your own service against a replay server, run the checks of "
        "docs/doctor.md and write doctor.json, doctor.md and doctor.html. Exit 0 when the doctor ran; with "
        "--fail-on fail, exit 1 when a check failed.",
    )
    add_target_flags(parser)
    ref = parser.add_argument_group("reference HiveBox mode (only without --target-cmd / --target-url)")
    ref.add_argument("--cache", choices=CACHES, default="memory", help="HIVEBOX_CACHE (default memory)")
    ref.add_argument("--client", choices=CLIENTS, default="pooled", help="HIVEBOX_CLIENT (default pooled)")
    ref.add_argument("--single-flight", choices=SINGLE_FLIGHT, default="wait",
                     help="HIVEBOX_SINGLE_FLIGHT (default wait)")
    ref.add_argument("--ttl", metavar="S", type=float, default=60.0, help="HIVEBOX_CACHE_TTL (default 60)")
    ref.add_argument("--upstream-timeout", metavar="S", type=float, default=5.0,
                     help="HIVEBOX_UPSTREAM_TIMEOUT (default 5)")
    probe = parser.add_argument_group("probing")
    probe.add_argument("--boxes", metavar="N", type=int, default=3, help="senseBoxes served (3 to 20, default 3)")
    probe.add_argument("--latency-ms", metavar="MS", type=float, default=40.0,
                       help="replay latency per box request (default 40)")
    probe.add_argument("--burst", metavar="N", type=int, default=10,
                       help="concurrent requests of the stampede check (2 to 100, default 10)")
    probe.add_argument("--hang-bound", metavar="S", type=float, default=15.0,
                       help="seconds /temperature may take with a hung box or all boxes down (default 15)")
    parser.add_argument("--output-dir", metavar="DIR", default="profiling/doctor",
                        help="where run directories go (default profiling/doctor)")
    parser.add_argument("--run-id", metavar="ID", help="run directory name (default UTC timestamp)")
    parser.add_argument("--fail-on", choices=["fail", "never"], default="never",
                        help="'fail': exit 1 when a check failed (for CI); default 'never'")
    parser.add_argument("--quiet", action="store_true", help="no log lines on stderr")
    parser.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    from hivepulse.commands.profile import RUN_ID_RE
    from hivepulse.sources.files import check_output_dir

    if args.run_id is not None and (not RUN_ID_RE.match(args.run_id) or set(args.run_id) <= {"."}):
        raise InputError("invalid --run-id", value=args.run_id,
                         expected="a directory name: letters, digits, '.', '_', '-' (no '/')")
    if not 3 <= args.boxes <= 20:
        raise InputError("invalid --boxes", value=args.boxes, expected="an integer from 3 to 20")
    if not 2 <= args.burst <= 100:
        raise InputError("invalid --burst", value=args.burst, expected="an integer from 2 to 100")
    for flag, value, low, high in (("--latency-ms", args.latency_ms, 1.0, 5000.0), ("--ttl", args.ttl, 1.0, 86400.0),
                                   ("--upstream-timeout", args.upstream_timeout, 0.1, 600.0),
                                   ("--hang-bound", args.hang_bound, 0.5, 120.0)):
        if not (math.isfinite(value) and low <= value <= high):
            raise InputError(f"invalid {flag}", value=value, expected=f"a number from {low:g} to {high:g}")
    if (args.target_cmd or args.target_url) and any(
            getattr(args, k) != d for k, d in (("cache", "memory"), ("client", "pooled"), ("single_flight", "wait"))):
        raise InputError("--cache, --client and --single-flight set the reference HiveBox's mode",
                         column="--target-cmd", expected="no mode flags with --target-cmd or --target-url")
    check_output_dir(locate_output(args.output_dir))


def run(args: argparse.Namespace) -> int:
    from hivepulse.bench.targets import target_spec
    from hivepulse.doctor.probe import ProbeSettings
    from hivepulse.doctor.run import DoctorConfig
    from hivepulse.doctor.run import run as run_doctor

    _check(args)
    target = target_spec(**target_options(args))

    def log(message: str) -> None:
        print(f"hivepulse doctor: {message}", file=sys.stderr, flush=True)

    settings = ProbeSettings(latency_ms=args.latency_ms, burst=args.burst, bound_s=args.hang_bound,
                             hang_hold_s=max(30.0, 2 * args.hang_bound),
                             request_timeout_s=max(15.0, args.hang_bound))
    config = DoctorConfig(target=target, output_dir=locate_output(args.output_dir), run_id=args.run_id,
                          cache=args.cache, client=args.client, single_flight=args.single_flight, ttl_s=args.ttl,
                          upstream_timeout_s=args.upstream_timeout, boxes=args.boxes, settings=settings,
                          log=None if args.quiet else log)
    report = run_doctor(config)
    assert report.run_dir is not None
    for c in report.checks:
        print(f"{c.verdict:>4}  {c.id:<17} {c.summary}")
    print(f"report: {report.run_dir / 'doctor.html'}")
    print(report.document["conclusion"])
    return 1 if args.fail_on == "fail" and report.failed else 0
