"""``hivepulse hivebox serve``: the reference HiveBox service (uvicorn, one worker, configured by env)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from hivepulse.errors import InputError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("hivebox", help="run the reference HiveBox service",
                                   description="The reference HiveBox service; see docs/hivebox.md.")
    sub = parser.add_subparsers(dest="hivebox_command", metavar="ACTION", required=True)
    serve = sub.add_parser("serve", help="serve HiveBox (configured by SENSEBOX_IDS, HIVEBOX_CACHE, ...)")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port, 0 = any free port (default 8000)")
    serve.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"],
                       help="uvicorn and hivebox log level (default warning)")
    serve.add_argument("--access-log", action="store_true", help="log every request (off by default)")
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hivepulse.hivebox.app import create_app
    from hivepulse.hivebox.config import HiveboxConfig
    from hivepulse.sensemap.server import bind_socket

    if not 0 <= args.port <= 65535:
        raise InputError("invalid --port", value=args.port, expected="0..65535")
    config = HiveboxConfig.from_env()
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(config)
    sock = bind_socket(args.host, args.port)
    url = f"http://{args.host}:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level, access_log=args.access_log,
                                           timeout_graceful_shutdown=2, workers=1))

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            print(f"hivepulse hivebox: serving HiveBox on {url}", flush=True)
        await task

    try:
        asyncio.run(main())
    finally:
        sock.close()
    return 0

