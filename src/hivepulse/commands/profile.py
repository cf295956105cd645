"""``hivepulse profile``: run the profiling scenarios, then the profiling notebook (papermill) and export its
HTML report without code. The flags are a documented contract (docs/profiling.md).

Output: ``<output-dir>/<run-id>/`` with ``results.json``, ``samples.json``, ``findings.json``, the plots, the
profiler outputs under ``profiles/``, ``profiling.ipynb`` (executed) and ``profiling.html`` (no code).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

from hivepulse.commands.targetflags import add_target_flags, target_options
from hivepulse.errors import InputError
from hivepulse.paths import locate, locate_output


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "profile",
        help="profile HiveBox with and without caching; write results.json and an HTML report",
        description="Run the scenarios of profiling/scenarios.yaml (cache x client x latency) against the "
        "reference HiveBox or your own service, then render notebooks/profiling.ipynb to HTML. "
        "Contract: docs/profiling.md.",
    )
    parser.add_argument("--scenarios", metavar="FILE", help="scenario file (default profiling/scenarios.yaml, "
                        "or profiling/quick.yaml with --quick)")
    parser.add_argument("--requests", metavar="N", type=int, help="recorded requests per scenario (overrides)")
    load = parser.add_mutually_exclusive_group()
    load.add_argument("--concurrency", metavar="C", type=int, help="closed model: C concurrent clients")
    load.add_argument("--rate", metavar="R", type=float, help="open model: R requests per second")
    parser.add_argument("--latency-profile", metavar="NAME", help="only scenarios with this latency profile")
    parser.add_argument("--output-dir", metavar="DIR", default="profiling/results",
                        help="where run directories go (default profiling/results)")
    parser.add_argument("--run-id", metavar="ID", help="run directory name (default UTC timestamp)")
    parser.add_argument("--quick", action="store_true",
                        help="small smoke run: quick.yaml, at most 100 requests per scenario")
    add_target_flags(parser)
    parser.add_argument("--baseline", metavar="RUN_ID",
                        help="compare with an earlier run in --output-dir (Mann-Whitney + minimum effect)")
    parser.add_argument("--pyspy", choices=["baseline", "all", "none"], default="baseline",
                        help="scenarios py-spy records (default: the uncached naive baseline)")
    parser.add_argument("--no-notebook", action="store_true", help="write results only, no HTML report")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


MAX_REQUESTS = 10_000_000
MAX_CONCURRENCY = 10_000
MIN_RATE, MAX_RATE = 0.01, 1_000_000.0
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_args(args: argparse.Namespace) -> None:
    """Reject out-of-range numbers, a run id that is not a plain directory name, an unusable --output-dir
    and a scenario file that is not UTF-8 text, before any server starts (InputError, exit 2)."""
    from hivepulse.sources.files import check_output_dir

    if args.requests is not None and not 1 <= args.requests <= MAX_REQUESTS:
        raise InputError("invalid --requests", value=args.requests, expected=f"an integer from 1 to {MAX_REQUESTS}")
    if args.concurrency is not None and not 1 <= args.concurrency <= MAX_CONCURRENCY:
        raise InputError("invalid --concurrency", value=args.concurrency,
                         expected=f"an integer from 1 to {MAX_CONCURRENCY}")
    if args.rate is not None and not (math.isfinite(args.rate) and MIN_RATE <= args.rate <= MAX_RATE):
        raise InputError("invalid --rate", value=args.rate,
                         expected=f"requests per second from {MIN_RATE:g} to {MAX_RATE:g}")
    if args.run_id is not None and (not RUN_ID_RE.match(args.run_id) or set(args.run_id) <= {"."}):
        raise InputError("invalid --run-id", value=args.run_id,
                         expected="a directory name: letters, digits, '.', '_', '-' (no '/')")
    if not str(args.output_dir).strip():
        raise InputError("empty --output-dir", expected="a directory for run directories")
    check_output_dir(locate_output(args.output_dir))
    if args.scenarios:
        path = locate(args.scenarios)
        if path.is_file():
            try:
                path.read_bytes().decode("utf-8")
            except UnicodeDecodeError as err:
                raise InputError("scenario file is not UTF-8 text", file=str(path), line=None,
                                 value=f"byte {err.start}", expected="a YAML file") from None
            except OSError as err:
                raise InputError(f"cannot read the scenario file ({err.strerror})", file=str(path)) from None


def run(args: argparse.Namespace) -> int:
    from hivepulse.bench.runner import run as run_scenarios
    from hivepulse.bench.session import build_config

    check_args(args)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    config = build_config(
        scenarios_file=args.scenarios, quick=args.quick, requests=args.requests, concurrency=args.concurrency,
        rate=args.rate, latency_profile=args.latency_profile, output_dir=args.output_dir,
        **target_options(args), baseline=args.baseline, run_id=args.run_id, pyspy=args.pyspy,
        progress=not args.no_progress, log=None if args.no_progress else log,
    )
    results = run_scenarios(config)
    run_dir = Path(config.output_dir) / results["run_id"]
    print(f"results: {run_dir / 'results.json'}")
    if not args.no_notebook:
        html = render_report(run_dir, progress=not args.no_progress)
        print(f"report: {html}")
    print(results["conclusion"])
    return 0


def render_report(run_dir: Path, *, progress: bool = False) -> Path:
    """Execute the profiling notebook on ``run_dir`` and export ``profiling.html`` (no code) into it."""
    from hivepulse.report.profiling.params import check_params
    from hivepulse.report.run import execute, export_html, find_notebook

    notebook = find_notebook("profiling.ipynb")
    params = {"results_dir": str(run_dir.resolve())}
    check_params(params)  # the notebook's typed parameters, checked before a kernel starts
    executed = execute(notebook, run_dir / "profiling.ipynb", params, progress=progress)
    return export_html(executed, run_dir / "profiling.html")
