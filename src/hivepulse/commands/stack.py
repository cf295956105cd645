"""``hivepulse stack up``: replay server + cache + HiveBox together, for poking at by hand."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import threading

from hivepulse.errors import InputError

DEFAULT_IDS = "5eba5fbad46fb8001b799786,5c21ff8f919bf8001adf2488,5ade1acf223bd80019a1011c"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("stack", help="start replay server, cache and HiveBox together")
    sub = parser.add_subparsers(dest="stack_command", metavar="ACTION", required=True)
    up = sub.add_parser("up", help="start everything, print the URLs, stay up until Ctrl-C")
    up.add_argument("--cache", default="valkey", choices=["none", "memory", "valkey", "memcached"],
                    help="HiveBox cache backend (default valkey)")
    up.add_argument("--client", default="pooled", choices=["naive", "pooled", "concurrent"],
                    help="HiveBox upstream client (default pooled)")
    up.add_argument("--ttl", type=float, default=300.0, help="cache TTL, s (default 300)")
    up.add_argument("--single-flight", default="wait", choices=["off", "wait", "stale"])
    up.add_argument("--ids", default=DEFAULT_IDS, help="senseBox ids (default: the roadmap template's three)")
    up.add_argument("--latency-ms", type=float, default=100.0, help="replay server median latency, ms")
    up.add_argument("--seed", type=int, default=0, help="replay server seed")
    up.add_argument("--hivebox-port", type=int, default=8000, help="HiveBox port (0 = any, default 8000)")
    up.add_argument("--sensemap-port", type=int, default=0, help="replay server port (default any)")
    up.add_argument("--s3", action="store_true", help="also start a local S3 server (moto) for /store")
    up.set_defaults(func=run_up)


def run_up(args: argparse.Namespace, stop_event: threading.Event | None = None) -> int:
    from hivepulse import services
    from hivepulse.redact import redact_url
    from hivepulse.sensemap.boxes import is_valid_box_id

    ids = [part.strip() for part in args.ids.split(",") if part.strip()]
    if not ids:
        raise InputError("no senseBox ids", column="--ids", expected="comma-separated 24-hex-digit ids")
    bad = [i for i in ids if not is_valid_box_id(i)]
    if bad:  # checked here so nothing starts (the servers would refuse them one by one)
        raise InputError("invalid senseBox id", column="--ids", value=bad[0], expected="24 hex digits")
    for flag, port in (("--hivebox-port", args.hivebox_port), ("--sensemap-port", args.sensemap_port)):
        if not 0 <= port <= 65535:
            raise InputError(f"invalid {flag}", value=port, expected="0..65535")
    if not (math.isfinite(args.ttl) and args.ttl >= 0.001):
        raise InputError("invalid --ttl", value=args.ttl, expected="seconds >= 0.001")
    if not (math.isfinite(args.latency_ms) and args.latency_ms >= 0):
        raise InputError("invalid --latency-ms", value=args.latency_ms, expected="milliseconds >= 0")
    stop = stop_event or threading.Event()
    with contextlib.ExitStack() as stack:
        sensemap = stack.enter_context(services.start_sensemap(
            boxes=len(ids), seed=args.seed, latency_ms=args.latency_ms, port=args.sensemap_port))
        env = {"SENSEBOX_IDS": ",".join(ids), "OPENSENSEMAP_API_URL": sensemap.url, "HIVEBOX_CACHE": args.cache,
               "HIVEBOX_CLIENT": args.client, "HIVEBOX_CACHE_TTL": str(args.ttl),
               "HIVEBOX_SINGLE_FLIGHT": args.single_flight}
        lines = [f"openSenseMap replay  {sensemap.url}  (stats: {sensemap.url}/_stats)"]
        if args.cache == "valkey":
            valkey = stack.enter_context(services.start_valkey())
            env["VALKEY_URL"] = valkey.url
            lines.append(f"valkey               {redact_url(valkey.url)}")
        elif args.cache == "memcached":
            memcached = stack.enter_context(services.start_memcached())
            env["MEMCACHED_URL"] = memcached.url
            lines.append(f"memcached            {redact_url(memcached.url)}")
        if args.s3:
            s3 = stack.enter_context(services.start_s3())
            assert s3.s3 is not None
            env.update(s3.s3.env())
            env["S3_BUCKET"] = "hivebox"
            lines.append(f"s3 (moto)            {s3.url}  bucket hivebox")
        hivebox = stack.enter_context(services.start_hivebox(env, port=args.hivebox_port))
        lines.append(f"hivebox              {hivebox.url}  (pid {hivebox.pid}; try {hivebox.url}/temperature)")
        lines.append("admin endpoints      " + ("on: Authorization: Bearer $HIVEBOX_ADMIN_TOKEN" if
                                                os.environ.get("HIVEBOX_ADMIN_TOKEN") else
                                                "off (set HIVEBOX_ADMIN_TOKEN for /store and POST /_cache/clear)"))
        print("\n".join(lines), flush=True)
        print("press Ctrl-C to stop", flush=True)
        if stop_event is None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                process = hivebox.process
                if process is not None and process.poll() is not None:
                    print("hivebox exited; stopping the stack", flush=True)
                    break
        except KeyboardInterrupt:
            pass
    print("stack stopped", flush=True)
    return 0

