"""``hivepulse sensemap serve|record``: the openSenseMap replay server and its recorder."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from urllib.parse import urlparse

from hivepulse.errors import InputError
from hivepulse.redact import has_credentials, redact_url

MAX_BOXES = 100_000
"""Largest --boxes catalogue."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("sensemap", help="openSenseMap replay server (serve, record)",
                                   description="openSenseMap replay server; see docs/sensemap.md.")
    sub = parser.add_subparsers(dest="sensemap_command", metavar="ACTION", required=True)

    serve = sub.add_parser("serve", help="serve generated, planted or recorded senseBoxes over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8081, help="TCP port, 0 = any free port (default 8081)")
    serve.add_argument("--boxes", type=int, default=3, help="boxes in the GET /boxes catalogue (default 3)")
    serve.add_argument("--seed", type=int, default=0, help="seed of box data and latency draws (default 0)")
    serve.add_argument("--latency-ms", type=float, default=100.0, help="median latency, ms (default 100)")
    serve.add_argument("--sigma", type=float, default=0.25,
                       help="log-normal shape; p99 = median * exp(2.326 * sigma) (default 0.25)")
    serve.add_argument("--cold-start-ms", type=float, default=0.0,
                       help="extra delay on the first request to a box (or after --cold-after-s idle)")
    serve.add_argument("--cold-after-s", type=float, default=3600.0, help="idle seconds before a box is cold")
    serve.add_argument("--error-rate", type=float, default=0.0, help="share of 5xx answers (0..1)")
    serve.add_argument("--timeout-rate", type=float, default=0.0, help="share of requests held --timeout-s")
    serve.add_argument("--timeout-s", type=float, default=30.0, help="hold time of a timeout, s (default 30)")
    serve.add_argument("--stale-share", type=float, default=0.0,
                       help="share of generated boxes whose readings are 2-72 h old (0..1)")
    serve.add_argument("--from", dest="replay_dir", type=Path,
                       help="replay a directory written by `sensemap record` (timestamps re-based to now)")
    serve.add_argument("--plant", type=Path, help='JSON file {"boxes": {id: body}} of planted boxes')
    serve.set_defaults(func=run_serve)

    rec = sub.add_parser("record", help="save real GET /boxes/{id} responses for later replay")
    rec.add_argument("--ids", required=True, help="comma-separated senseBox ids")
    rec.add_argument("--out", required=True, type=Path, help="output directory (must not exist or be empty)")
    rec.add_argument("--base-url", default="https://api.opensensemap.org", help="API base URL")
    rec.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, s (default 30)")
    rec.set_defaults(func=run_record)


def run_serve(args: argparse.Namespace) -> int:
    from hivepulse.sensemap.latency import LatencyModel
    from hivepulse.sensemap.server import SensemapConfig, serve

    if not 0 <= args.port <= 65535:
        raise InputError("invalid --port", value=args.port, expected="0..65535")
    if not 0 <= args.boxes <= MAX_BOXES:
        raise InputError("invalid --boxes", value=args.boxes, expected=f"an integer from 0 to {MAX_BOXES}")
    for flag, value in (("--latency-ms", args.latency_ms), ("--sigma", args.sigma),
                        ("--cold-start-ms", args.cold_start_ms), ("--timeout-s", args.timeout_s)):
        if not math.isfinite(value):
            raise InputError(f"invalid {flag}", value=value, expected="a finite number")
    if args.plant is not None:
        check_text_file(args.plant, "plant file")
    fields = {"median_ms": "--latency-ms", "sigma": "--sigma", "cold_start_ms": "--cold-start-ms",
              "cold_after_s": "--cold-after-s", "error_rate": "--error-rate", "timeout_rate": "--timeout-rate",
              "timeout_s": "--timeout-s"}
    try:
        latency = LatencyModel(median_ms=args.latency_ms, sigma=args.sigma, cold_start_ms=args.cold_start_ms,
                               cold_after_s=args.cold_after_s, error_rate=args.error_rate,
                               timeout_rate=args.timeout_rate, timeout_s=args.timeout_s, seed=args.seed)
    except InputError as err:
        raise InputError(f"invalid {fields.get(str(err.column), err.column)}", value=err.value,
                         expected=err.expected) from None
    config = SensemapConfig(boxes=args.boxes, seed=args.seed, stale_share=args.stale_share, latency=latency,
                            replay_dir=args.replay_dir, plant_file=args.plant)
    serve(config, args.host, args.port, announce=lambda line: print(f"hivepulse sensemap: {line}", flush=True))
    return 0


def check_text_file(path: Path, what: str) -> None:
    """InputError unless ``path`` is a readable UTF-8 text file."""
    if not path.exists():
        raise InputError(f"{what} not found", file=str(path))
    if not path.is_file():
        raise InputError(f"{what} is not a file", file=str(path), expected="a JSON file")
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{what} is not UTF-8 text", file=str(path), value=f"byte {err.start}",
                         expected="a JSON file") from None
    except OSError as err:
        raise InputError(f"cannot read the {what} ({err.strerror})", file=str(path)) from None


def run_record(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from hivepulse.sensemap.replay import record
    from hivepulse.sources.files import check_output_dir

    ids = [part.strip() for part in args.ids.split(",") if part.strip()]
    if not (math.isfinite(args.timeout) and 0 < args.timeout <= 3600):
        raise InputError("invalid --timeout", value=args.timeout, expected="seconds from 0 to 3600")
    if urlparse(args.base_url).scheme not in ("http", "https") or not urlparse(args.base_url).netloc:
        raise InputError("invalid --base-url", value=redact_url(args.base_url), expected="an http(s) URL")
    if has_credentials(args.base_url):
        raise InputError("credentials in --base-url", value=redact_url(args.base_url),
                         expected="a URL without user:password@ (secrets come from the environment only)")
    if not str(args.out).strip():
        raise InputError("empty --out", expected="an output directory")
    check_output_dir(args.out)  # before fetching anything
    with tqdm(total=len(ids), desc="recording boxes", unit="box", disable=None) as bar:
        out = record(ids, args.out, args.base_url, args.timeout, progress=lambda _id: bar.update(1))
    print(f"recorded {len(ids)} boxes to {out}")
    return 0

